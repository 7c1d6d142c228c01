// Input the bridge cannot use is kept verbatim with its reason; the bridge itself never throws on it.
import type pg from "pg";
import type { AerieMetrics } from "../core/metrics.js";
import type { Logger } from "../core/log.js";

export type DeadLetterReason = "bad-topic" | "not-json" | "schema" | "unknown-device" | "unknown-action" | "conflict";

export class DeadLetters {
  constructor(private readonly pool: pg.Pool, private readonly metrics: AerieMetrics, private readonly log: Logger) {}

  async record(source: string, reason: DeadLetterReason, detail: string, payload: Buffer, clientId?: string): Promise<void> {
    this.metrics.deadLetters.inc({ reason });
    this.log.warn({ source, reason, detail }, "dead letter");
    try {
      await this.pool.query("INSERT INTO dead_letters (source, reason, client_id, payload) VALUES ($1, $2, $3, $4)", [
        source,
        `${reason}: ${detail}`.slice(0, 2000),
        clientId ?? null,
        payload,
      ]);
    } catch (error) {
      this.log.error({ err: (error as Error).message }, "could not store a dead letter");
    }
  }
}
