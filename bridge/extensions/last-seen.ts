// devices.last_seen_at moved by any message a device sends (telemetry included), with throttled writes: each
// message only notes the time in memory, and one UPDATE per flush period writes the latest time of every device
// heard from since. A telemetry stream of 10 messages a second per device thus costs one row update per device
// per period instead of ten a second, and the message's acknowledgement never waits for it.
import type { BridgeEvents, DeviceEvent } from "../event-bus.js";
import type pg from "pg";
import type { BridgeContext, Extension } from "../extension.js";

// Not hello nor availability: their own batched writers (registry-writes.ts) already move last_seen_at in the
// same statement that stores them. Noting them here too re-wrote every device of a reconnect storm or a rollout's
// hello burst a second time, one flush period later, in the middle of whatever came next.
const KINDS = ["telemetry", "feedback", "consent", "health", "request"] as const satisfies readonly (keyof BridgeEvents)[];

// Rows locked in controller-id order first, as every registry writer does (see registry-writes.ts).
const FLUSH = `
WITH v AS (SELECT controller_id, to_timestamp(at_ms / 1000.0) AS at FROM unnest($1::text[], $2::float8[]) AS v(controller_id, at_ms)),
locked AS MATERIALIZED (
  SELECT d.id FROM devices d JOIN v ON d.controller_id = v.controller_id
  WHERE d.last_seen_at IS NULL OR d.last_seen_at < v.at ORDER BY d.controller_id FOR UPDATE OF d
)
UPDATE devices d SET last_seen_at = v.at
FROM v WHERE d.controller_id = v.controller_id AND d.id IN (SELECT id FROM locked) AND (d.last_seen_at IS NULL OR d.last_seen_at < v.at)`;

/** Writes the latest time each device was heard from (only forward). */
export async function flushLastSeen(pool: pg.Pool, seen: ReadonlyMap<string, Date>): Promise<void> {
  // Epoch milliseconds rather than Dates: node-postgres formats each Date as a zoned timestamp string, which cost
  // several times more per value than a number when a flush covers a whole fleet.
  await pool.query(FLUSH, [[...seen.keys()], [...seen.values()].map((at) => at.getTime())]);
}

export class LastSeenExtension implements Extension {
  readonly name = "last-seen";
  private seen = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  // Synchronous: returns nothing, so the bus does not wait for it.
  private readonly note = (event: DeviceEvent<unknown>): void => {
    const previous = this.seen.get(event.controllerId);
    if (!previous || previous < event.receivedAt) this.seen.set(event.controllerId, event.receivedAt);
  };

  constructor(private readonly ctx: BridgeContext, private readonly flushMs = 5000) {}

  async start(): Promise<void> {
    for (const kind of KINDS) this.ctx.bus.on(kind, this.note as never);
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    for (const kind of KINDS) this.ctx.bus.off(kind, this.note as never);
    clearInterval(this.timer);
    await this.flush();
  }

  /** Writes what was noted since the last flush; a failed write puts its entries back for the next one. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.seen.size === 0) return;
      const batch = this.seen;
      this.seen = new Map();
      try {
        await flushLastSeen(this.ctx.pool, batch);
      } catch (error) {
        for (const [id, at] of batch) if (!this.seen.has(id)) this.seen.set(id, at);
        this.ctx.metrics.bridgeErrors.inc({ stage: "last-seen" });
        this.ctx.log.warn({ err: (error as Error).message }, "last-seen flush failed");
      }
    });
    return this.flushing;
  }
}
