// Telemetry → Postgres in batches (TelemetryWriter: one INSERT … ON CONFLICT DO NOTHING per batch).
// A message's promise settles only when its row is committed (or dead-lettered), so its QoS1 PUBACK
// goes out after the commit: a crash at any moment leaves the message with the broker, which re-sends
// it to our persistent session. Memory stays bounded because the AckGate stops reading once
// maxInFlight messages wait here.
//
// Throughput: batches are written on `lanes` connections at once (the bridge keeps receiving while
// Postgres commits, and two backends can use two cores), and batch size adapts to load: a batch is cut
// as soon as a connection is free, so rows pile up into big batches only while Postgres is busy.
// Batches may commit out of order, but their messages are settled (hence acknowledged) in the order
// they were received, as MQTT asks of PUBACKs.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Telemetry } from "../protocol/schemas.js";
import { isDataError, TelemetryWriter, type TelemetryRow } from "../telemetry-writer.js";

/** Rows bound for one statement; their messages share one promise, settled when the batch is. */
interface Batch {
  rows: TelemetryRow[];
  done: Promise<void>;
  settle: () => void;
}

function newBatch(): Batch {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  return { rows: [], done, settle };
}

/** The dispatcher adds the payload's validated JSON text, so that it is stored without re-serialising. */
export type TelemetryEvent = DeviceEvent<Telemetry> & { json?: string };

export interface TelemetryOptions {
  /** Rows per statement at most. */
  maxBatch?: number;
  /** Connections writing batches at once. */
  lanes?: number;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

export class TelemetryExtension implements Extension {
  readonly name = "telemetry";
  /** Waiting for a free connection, oldest first; only the last one still takes rows. */
  private readonly pending: Batch[] = [];
  private readonly idle: TelemetryWriter[];
  private readonly writers: TelemetryWriter[];
  private readonly writing = new Set<Promise<void>>();
  /** Settles when every batch cut so far has been settled, in order; false once one was given up. */
  private settled: Promise<boolean> = Promise.resolve(true);
  private cutScheduled = false;
  private stopped = false;
  private readonly maxBatch: number;
  private readonly onTelemetry = (event: TelemetryEvent) => this.enqueue(event);

  constructor(private readonly ctx: BridgeContext, options: TelemetryOptions = {}) {
    this.maxBatch = options.maxBatch ?? 5000;
    this.writers = Array.from({ length: options.lanes ?? 2 }, () => new TelemetryWriter(ctx.databaseUrl));
    this.idle = [...this.writers];
  }

  async start(): Promise<void> {
    this.ctx.bus.on("telemetry", this.onTelemetry);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("telemetry", this.onTelemetry);
    // One last attempt per batch: what cannot be stored now stays unacknowledged with the broker.
    this.stopped = true;
    await this.flush();
    await Promise.all(this.writers.map((writer) => writer.close()));
  }

  private enqueue({ controllerId, payload, receivedAt, json }: TelemetryEvent): Promise<void> {
    let batch = this.pending[this.pending.length - 1];
    if (!batch || batch.rows.length >= this.maxBatch) {
      batch = newBatch();
      this.pending.push(batch);
    }
    batch.rows.push({ controllerId, receivedAt, json: json ?? JSON.stringify(payload) });
    if (batch.rows.length >= this.maxBatch) this.cut();
    else if (this.idle.length > 0 && !this.cutScheduled) {
      // Wait for the rest of this socket read (one macrotask) before cutting a batch.
      this.cutScheduled = true;
      setImmediate(() => {
        this.cutScheduled = false;
        this.cut();
      });
    }
    return batch.done;
  }

  /** Hands pending batches to free connections. */
  private cut(): void {
    while (this.idle.length > 0 && this.pending.length > 0) {
      const writer = this.idle.pop()!;
      const batch = this.pending.shift()!;
      const stored = this.writeUntilStored(writer, batch.rows);
      const previous = this.settled;
      // Settle in order: after this batch is stored AND every earlier batch has been settled.
      this.settled = Promise.all([previous, stored]).then(([before, ok]) => {
        if (!before || !ok) return false;
        batch.settle();
        return true;
      });
      const done: Promise<void> = stored.then(() => {
        this.writing.delete(done);
        this.idle.push(writer);
        this.cut();
      });
      this.writing.add(done);
    }
  }

  /** Writes everything pending and waits until it is settled (or, once stopped, given up). */
  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.writing.size > 0) {
      this.cut();
      await Promise.all(this.writing);
    }
    await this.settled;
  }

  /** Retries until committed: the messages stay unacknowledged meanwhile, so nothing is lost. */
  private async writeUntilStored(writer: TelemetryWriter, batch: TelemetryRow[]): Promise<boolean> {
    for (let delay = RETRY_MIN_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        await this.store(writer, batch);
        this.ctx.metrics.telemetryIngestSeconds.observe((Date.now() - batch[0]!.receivedAt.getTime()) / 1000);
        return true;
      } catch (error) {
        this.ctx.metrics.telemetryWriteErrors.inc();
        this.ctx.log.warn({ err: (error as Error).message, rows: batch.length, retryInMs: delay }, "telemetry batch not stored; retrying");
        if (this.stopped) return false;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Stores the rows; a row Postgres refuses (e.g. a timestamp out of its range) becomes a dead letter. */
  private async store(writer: TelemetryWriter, batch: TelemetryRow[]): Promise<void> {
    try {
      this.ctx.metrics.telemetryRows.inc(await writer.write(batch));
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (batch.length === 1) {
        const row = batch[0]!;
        await this.ctx.deadLetters.record(this.ctx.topics.device(row.controllerId, "telemetry"), "schema", (error as Error).message, Buffer.from(row.json), row.controllerId);
        return;
      }
      // Find the refused rows by halves; the rest is stored normally.
      const half = Math.ceil(batch.length / 2);
      await this.store(writer, batch.slice(0, half));
      await this.store(writer, batch.slice(half));
    }
  }
}
