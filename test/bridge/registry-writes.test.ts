// The registry's batched writes run side by side on the same rows: a hello batch (devices then presence, in one
// transaction), hawkBit contacts being marked, last-seen flushes and availability. A 10,000-device re-hello once
// deadlocked them and dead-lettered a thousand hellos (bench:register). Each writer must take its row locks in
// one order (controller id), so none of them can wait on another in a cycle.
import { expect } from "chai";
import { type HelloRow, markHawkbitContact, writeAvailability, writeHellos } from "../../bridge/registry-writes.js";
import { flushLastSeen, LastSeenExtension } from "../../bridge/extensions/last-seen.js";
import { EventBus } from "../../bridge/event-bus.js";
import type { BridgeContext } from "../../bridge/extension.js";
import { startTestDatabase, type TestDatabase } from "./helpers.js";

const DEVICES = 1500;

describe("bridge: registry writes side by side", function () {
  this.timeout(180_000);
  let database: TestDatabase;

  before(async () => {
    database = await startTestDatabase();
  });

  after(async () => {
    await database?.stop();
  });

  const ids = Array.from({ length: DEVICES }, (_, i) => `rw-${String(i).padStart(5, "0")}`);
  const hello = (controllerId: string, at: Date): HelloRow => ({
    controllerId, hardware: "board", updateClient: "swupdate", attributes: { a: controllerId }, secondaryIds: {}, runningVersion: "1.0.0", receivedAt: at,
  });
  /** A different order for each writer, as batches form in arrival order. */
  const shuffled = (seed: number) => [...ids].sort((a, b) => ((a.charCodeAt(6) * seed + a.charCodeAt(7)) % 7) - ((b.charCodeAt(6) * seed + b.charCodeAt(7)) % 7) || (seed % 2 ? a.localeCompare(b) : b.localeCompare(a)));

  it("never deadlocks: hellos, contacts, last-seen and availability on the same devices at once", async () => {
    await writeHellos(database.pool, ids.map((id) => hello(id, new Date())));
    for (let round = 0; round < 6; round++) {
      const at = new Date();
      const results = await Promise.allSettled([
        writeHellos(database.pool, shuffled(round + 1).map((id) => hello(id, at))),
        markHawkbitContact(database.pool, shuffled(round + 2).reverse().map((controllerId) => ({ controllerId, attributesSha256: "x" }))),
        flushLastSeen(database.pool, new Map(shuffled(round + 3).map((id) => [id, new Date(at.getTime() + 1)]))),
        writeAvailability(database.pool, shuffled(round + 4).reverse().map((controllerId) => ({ controllerId, online: true, receivedAt: at }))),
        writeHellos(database.pool, shuffled(round + 5).reverse().map((id) => hello(id, at))),
      ]);
      const failures = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
      expect(failures, `round ${round}`).to.deep.equal([]);
    }
    expect(await database.count("SELECT count(*) AS n FROM device_presence WHERE hawkbit_contact_at IS NOT NULL")).to.equal(DEVICES);
  });

  it("last-seen: stores each device's time to the millisecond, only forward, and leaves hello and availability to their own writers", async () => {
    const [a, b] = ["ls-a", "ls-b"];
    await writeHellos(database.pool, [hello(a, new Date("2026-01-01T00:00:00.000Z")), hello(b, new Date("2026-01-01T00:00:00.000Z"))]);
    const lastSeen = async (id: string) => (await database.pool.query("SELECT last_seen_at FROM devices WHERE controller_id = $1", [id])).rows[0].last_seen_at as Date;

    await flushLastSeen(database.pool, new Map([[a, new Date("2026-03-04T05:06:07.891Z")], [b, new Date("2025-12-31T23:59:59.999Z")]]));
    expect((await lastSeen(a)).toISOString()).to.equal("2026-03-04T05:06:07.891Z");
    expect((await lastSeen(b)).toISOString(), "an older time does not move it back").to.equal("2026-01-01T00:00:00.000Z");

    const bus = new EventBus();
    const warnings: unknown[] = [];
    const ctx = { bus, pool: database.pool, metrics: { bridgeErrors: { inc: () => undefined } }, log: { warn: (...args: unknown[]) => warnings.push(args) } } as unknown as BridgeContext;
    const extension = new LastSeenExtension(ctx, 3_600_000);
    await extension.start();
    try {
      const later = new Date("2026-06-01T00:00:00.123Z");
      const event = { controllerId: b, receivedAt: later, bytes: 1, payload: {} as never };
      await bus.dispatch("hello", event);
      await bus.dispatch("availability", event);
      await extension.flush();
      expect((await lastSeen(b)).toISOString(), "hello and availability are not written twice").to.equal("2026-01-01T00:00:00.000Z");
      await bus.dispatch("telemetry", event);
      await extension.flush();
      expect((await lastSeen(b)).toISOString()).to.equal("2026-06-01T00:00:00.123Z");
    } finally {
      await extension.stop();
    }
    expect(warnings).to.deep.equal([]);
  });
});
