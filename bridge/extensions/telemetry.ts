// Telemetry → Postgres in batches. One INSERT … SELECT FROM unnest() per batch (about 8x Prisma's
// createMany, see shared notes), ON CONFLICT DO NOTHING on (controller_id, message_id) so that a
// message delivered twice is stored once.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Telemetry } from "../protocol/schemas.js";

interface PendingRow {
  controllerId: string;
  messageId: string;
  recordedAt: string;
  payload: string;
  receivedAt: Date;
}

const INSERT_BATCH = `
INSERT INTO telemetry (controller_id, message_id, recorded_at, payload)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[])
ON CONFLICT (controller_id, message_id) DO NOTHING`;

export class TelemetryExtension implements Extension {
  readonly name = "telemetry";
  private pending: PendingRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly onTelemetry = (event: DeviceEvent<Telemetry>) => this.enqueue(event);

  constructor(private readonly ctx: BridgeContext, private readonly batchSize = 500, private readonly maxDelayMs = 100) {}

  async start(): Promise<void> {
    this.ctx.bus.on("telemetry", this.onTelemetry);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("telemetry", this.onTelemetry);
    await this.flush();
  }

  private enqueue({ controllerId, payload, receivedAt }: DeviceEvent<Telemetry>): void {
    this.pending.push({ controllerId, messageId: payload.messageId, recordedAt: payload.ts, payload: JSON.stringify(payload.metrics), receivedAt });
    if (this.pending.length >= this.batchSize) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.maxDelayMs);
  }

  /** Writes what is pending; batches are written one after another, never concurrently. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  private async write(batch: PendingRow[]): Promise<void> {
    const { pool, metrics, log } = this.ctx;
    try {
      const result = await pool.query(INSERT_BATCH, [
        batch.map((r) => r.controllerId),
        batch.map((r) => r.messageId),
        batch.map((r) => r.recordedAt),
        batch.map((r) => r.payload),
      ]);
      metrics.telemetryRows.inc(result.rowCount ?? 0);
      const now = Date.now();
      for (const row of batch) metrics.telemetryIngestSeconds.observe((now - row.receivedAt.getTime()) / 1000);
    } catch (error) {
      // Keep the batch: it is retried with the next flush rather than lost.
      log.error({ err: (error as Error).message, rows: batch.length }, "telemetry batch failed; will retry");
      this.pending = batch.concat(this.pending);
      this.timer ??= setTimeout(() => void this.flush(), 1000);
    }
  }
}
