// Telemetry → Postgres in batches (TelemetryWriter: COPY + de-dup). A message's promise settles only
// when its row is committed (or dead-lettered), so its QoS1 PUBACK goes out after the commit: a crash
// at any moment leaves the message with the broker, which re-sends it to our persistent session.
// Memory stays bounded because the AckGate stops reading once maxInFlight messages wait here.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Telemetry } from "../protocol/schemas.js";
import { isDataError, TelemetryWriter, type TelemetryRow } from "../telemetry-writer.js";

interface PendingRow extends TelemetryRow {
  bytes: number;
  settle: () => void;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

export class TelemetryExtension implements Extension {
  readonly name = "telemetry";
  private pending: PendingRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly writer: TelemetryWriter;
  private readonly onTelemetry = (event: DeviceEvent<Telemetry>) => this.enqueue(event);

  constructor(private readonly ctx: BridgeContext, private readonly batchSize = 1000, private readonly maxDelayMs = 20) {
    this.writer = new TelemetryWriter(ctx.databaseUrl);
  }

  async start(): Promise<void> {
    this.ctx.bus.on("telemetry", this.onTelemetry);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("telemetry", this.onTelemetry);
    // One last attempt per batch: what cannot be stored now stays unacknowledged with the broker.
    this.stopped = true;
    await this.flush();
    await this.writer.close();
  }

  private enqueue({ controllerId, payload, receivedAt, bytes }: DeviceEvent<Telemetry>): Promise<void> {
    return new Promise((settle) => {
      this.pending.push({ controllerId, messageId: payload.messageId, recordedAt: payload.ts, payload: JSON.stringify(payload.metrics), receivedAt, bytes, settle });
      if (this.pending.length >= this.batchSize) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.maxDelayMs);
    });
  }

  /** Writes what is pending; batches are written one after another, never concurrently. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) this.flushing = this.flushing.then(() => this.writeUntilStored(batch));
    return this.flushing;
  }

  /** Retries until committed: the messages stay unacknowledged meanwhile, so nothing is lost. */
  private async writeUntilStored(batch: PendingRow[]): Promise<void> {
    for (let delay = RETRY_MIN_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        await this.store(batch);
        return;
      } catch (error) {
        this.ctx.metrics.telemetryWriteErrors.inc();
        this.ctx.log.warn({ err: (error as Error).message, rows: batch.length, retryInMs: delay }, "telemetry batch not stored; retrying");
        if (this.stopped) return;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async store(batch: PendingRow[]): Promise<void> {
    const { metrics } = this.ctx;
    try {
      metrics.telemetryRows.inc(await this.writer.write(batch));
    } catch (error) {
      if (!isDataError(error) || batch.length === 1) {
        if (!isDataError(error)) throw error;
        // One row Postgres refuses (e.g. a timestamp out of its range): keep it aside, go on.
        const [row] = batch;
        await this.ctx.deadLetters.record(`${this.ctx.topics.device(row!.controllerId, "telemetry")}`, "schema", (error as Error).message,
          Buffer.from(JSON.stringify({ messageId: row!.messageId, ts: row!.recordedAt, metrics: JSON.parse(row!.payload) })), row!.controllerId);
      } else {
        // Find the refused rows by halves; the rest is stored normally.
        const half = Math.ceil(batch.length / 2);
        await this.store(batch.slice(0, half));
        await this.store(batch.slice(half));
        return;
      }
    }
    const now = Date.now();
    for (const row of batch) {
      metrics.telemetryIngestSeconds.observe((now - row.receivedAt.getTime()) / 1000);
      row.settle();
    }
  }
}
