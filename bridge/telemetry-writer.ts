// Telemetry rows into PostgreSQL, one transaction per batch: COPY into a session-local staging table
// (COPY is about twice as fast as unnest() and ten times Prisma's createMany, see shared notes), then
// INSERT … SELECT … ON CONFLICT DO NOTHING on (controller_id, message_id), so a message delivered
// twice (at-least-once) is stored once. The writer owns one connection because the staging table
// lives in that session; any connection error drops it and the next batch reconnects.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import copyStreams from "pg-copy-streams";

export interface TelemetryRow {
  controllerId: string;
  messageId: string;
  recordedAt: string;
  receivedAt: Date;
  /** JSON text of the metrics. */
  payload: string;
}

const CREATE_STAGE = `
CREATE TEMP TABLE IF NOT EXISTS telemetry_stage (
  controller_id TEXT NOT NULL, message_id TEXT NOT NULL, recorded_at TIMESTAMPTZ(3) NOT NULL,
  received_at TIMESTAMPTZ(3) NOT NULL, payload JSONB NOT NULL
) ON COMMIT DELETE ROWS`;
const COPY_STAGE = "COPY telemetry_stage (controller_id, message_id, recorded_at, received_at, payload) FROM STDIN";
const MERGE_STAGE = `
INSERT INTO telemetry (controller_id, message_id, recorded_at, received_at, payload)
SELECT controller_id, message_id, recorded_at, received_at, payload FROM telemetry_stage
ON CONFLICT (controller_id, message_id) DO NOTHING`;

/** COPY text format: backslash, tab, newline and carriage return must be escaped. */
function copyField(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r"));
}

/** A failure caused by the rows themselves (SQLSTATE class 22 data exception), not by the connection. */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("22");
}

export class TelemetryWriter {
  private client: pg.Client | undefined;

  constructor(private readonly databaseUrl: string) {}

  /** Stores the rows in one transaction; returns how many were new. Throws with nothing committed. */
  async write(rows: TelemetryRow[]): Promise<number> {
    const client = await this.connection();
    try {
      await client.query("BEGIN");
      const lines = rows.map((r) => `${copyField(r.controllerId)}\t${copyField(r.messageId)}\t${r.recordedAt}\t${r.receivedAt.toISOString()}\t${copyField(r.payload)}\n`);
      await pipeline(Readable.from([lines.join("")]), client.query(copyStreams.from(COPY_STAGE)));
      const result = await client.query(MERGE_STAGE);
      await client.query("COMMIT");
      return result.rowCount ?? 0;
    } catch (error) {
      if (isDataError(error)) await client.query("ROLLBACK").catch(() => this.drop());
      else await this.drop();
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
    try {
      await client.query(CREATE_STAGE);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    return client;
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
