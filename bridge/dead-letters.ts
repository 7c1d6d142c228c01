// Input the bridge cannot use is kept verbatim with its reason; the bridge itself never throws on it.
import type pg from "pg";
import type { AerieMetrics } from "../core/metrics.js";
import type { Logger } from "../core/log.js";

export type DeadLetterReason = "bad-topic" | "not-json" | "schema" | "unknown-device" | "unknown-action" | "conflict" | "relay-failed";

/** Postgres text cannot hold U+0000, and a parser's message may quote the offending bytes. */
function text(value: string, max: number): string {
  return value.replace(/\u0000/g, "\\u0000").slice(0, max);
}

export class DeadLetters {
  constructor(private readonly pool: pg.Pool, private readonly metrics: AerieMetrics, private readonly log: Logger) {}

  async record(source: string, reason: DeadLetterReason, detail: string, payload: Buffer, clientId?: string): Promise<void> {
    this.metrics.deadLetters.inc({ reason });
    this.log.warn({ source, reason, detail }, "dead letter");
    for (let attempt = 1; ; attempt++) {
      try {
        await this.pool.query("INSERT INTO dead_letters (source, reason, client_id, payload) VALUES ($1, $2, $3, $4)", [
          text(source, 1024),
          text(`${reason}: ${detail}`, 2000),
          clientId === undefined ? null : text(clientId, 256),
          payload,
        ]);
        return;
      } catch (error) {
        // Postgres restarting: wait a little (the message stays unacknowledged), then give up on it.
        if (attempt >= 5 || String((error as { code?: unknown }).code ?? "").startsWith("22")) {
          this.log.error({ err: (error as Error).message }, "could not store a dead letter");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
    }
  }
}
