// Input the bridge cannot use is kept with its reason; the bridge itself never throws on it. Each dead
// letter is stored once (a broker redelivering an unacknowledged message, or a device repeating itself,
// adds no row: the fingerprint is unique) and truncated (a device cannot fill the database).
import { createHash } from "node:crypto";
import type pg from "pg";
import type { AerieMetrics } from "../core/metrics.js";
import type { Logger } from "../core/log.js";
import { DEAD_LETTER_PAYLOAD_BYTES } from "./protocol/limits.js";

export type DeadLetterReason = "bad-topic" | "too-large" | "not-json" | "schema" | "unknown-device" | "unknown-action" | "conflict" | "relay-failed";

/** Postgres text cannot hold U+0000, and a parser's message may quote the offending bytes. */
function text(value: string, max: number): string {
  return value.replace(/\u0000/g, "\\u0000").slice(0, max);
}

export class DeadLetters {
  constructor(private readonly pool: pg.Pool, private readonly metrics: AerieMetrics, private readonly log: Logger) {}

  async record(source: string, reason: DeadLetterReason, detail: string, payload: Buffer, clientId?: string): Promise<void> {
    this.metrics.deadLetters.inc({ reason });
    const fingerprint = createHash("sha256").update(source).update("\u0000").update(payload).digest("hex");
    // Logged without the payload; the detail is bounded (a parser's message can quote input).
    this.log.warn({ source: text(source, 256), reason, detail: text(detail, 300), bytes: payload.length }, "dead letter");
    for (let attempt = 1; ; attempt++) {
      try {
        await this.pool.query(
          `INSERT INTO dead_letters (source, reason, client_id, payload, fingerprint, payload_bytes) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (fingerprint) DO NOTHING`,
          [
            text(source, 1024),
            text(`${reason}: ${detail}`, 2000),
            clientId === undefined ? null : text(clientId, 256),
            payload.subarray(0, DEAD_LETTER_PAYLOAD_BYTES),
            fingerprint,
            payload.length,
          ],
        );
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
