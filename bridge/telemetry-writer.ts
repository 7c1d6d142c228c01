// Telemetry rows into PostgreSQL: one statement per batch, which is its own transaction (one round
// trip instead of BEGIN, COPY, INSERT, COMMIT). The batch travels as a single JSON array parameter
// whose elements embed each device's payload text verbatim, as the dispatcher validated it: the
// bridge never re-serialises or escapes a payload, and Postgres (in C) does the JSON → jsonb work.
// ON CONFLICT DO NOTHING on (controller_id, message_id, recorded_at) stores a message delivered twice
// (at-least-once) once: a redelivery carries the same id and the same "ts" (recorded_at is part of
// the key because the table is partitioned by it). Measured against the former COPY into a staging table + INSERT … SELECT:
// about the same Postgres time per row, a third of the bridge's CPU per row (BENCHMARKS.md).
// Each writer owns one connection; any connection error drops it and the next batch reconnects.
import pg from "pg";

export interface TelemetryRow {
  controllerId: string;
  receivedAt: Date;
  /** The telemetry payload's JSON text ({messageId, ts, metrics}), already validated against its schema. */
  json: string;
}

const INSERT = `
INSERT INTO telemetry (controller_id, message_id, recorded_at, received_at, payload)
SELECT r.c, r.t->>'messageId', (r.t->>'ts')::timestamptz, to_timestamp(r.a / 1000.0), r.t->'metrics'
FROM json_to_recordset($1::json) AS r(c text, a float8, t jsonb)
ON CONFLICT (controller_id, message_id, recorded_at) DO NOTHING`;

/**
 * The batch as one JSON array: c controller id, a receipt time in epoch milliseconds (cheaper than
 * toISOString), t the payload. `json` is valid JSON (it went through JSON.parse), so it is embedded
 * as is.
 */
export function batchJson(rows: readonly TelemetryRow[]): string {
  let text = "[";
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    text += `${i === 0 ? "" : ","}{"c":${JSON.stringify(row.controllerId)},"a":${row.receivedAt.getTime()},"t":${row.json}}`;
  }
  return `${text}]`;
}

/** A failure caused by the rows themselves (SQLSTATE class 22 data exception), not by the connection. */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("22");
}

/** Deadlock or serialization failure (class 40): the statement was rolled back, the session is fine. */
function isRollback(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("40");
}

export class TelemetryWriter {
  private client: pg.Client | undefined;

  constructor(private readonly databaseUrl: string) {}

  /** Stores the rows atomically; returns how many were new. Throws with nothing committed. */
  async write(rows: readonly TelemetryRow[]): Promise<number> {
    const client = await this.connection();
    try {
      // Named: parsed and planned once per connection.
      const result = await client.query({ name: "aerie-telemetry-insert", text: INSERT, values: [batchJson(rows)] });
      return result.rowCount ?? 0;
    } catch (error) {
      if (!isDataError(error) && !isRollback(error)) await this.drop();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.drop();
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: "aerie-telemetry" });
    client.on("error", () => {
      if (this.client === client) this.client = undefined;
    });
    await client.connect();
    this.client = client;
    return client;
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
