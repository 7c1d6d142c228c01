// Retention expires telemetry older than the retention period (whole day partitions dropped, the
// default partition and dead letters deleted in batches) and nothing newer, and keeps day partitions
// ready ahead of time.
import { expect } from "chai";
import type { BridgeContext } from "../../bridge/extension.js";
import { RetentionExtension } from "../../bridge/extensions/retention.js";
import { logger } from "../../core/log.js";
import { startTestDatabase, type TestDatabase } from "./helpers.js";

describe("bridge: retention sweep", function () {
  this.timeout(60_000);
  let database: TestDatabase;

  before(async () => {
    database = await startTestDatabase();
  });

  after(async () => {
    await database?.stop();
  });

  it("deletes rows older than the retention period across several batches and keeps the rest", async () => {
    const now = new Date("2026-11-22T12:00:00Z");
    const day = 86_400_000;
    // 12,001 rows 31 days old (more than two delete batches), 7 rows 29 days old, with a 30-day period.
    await database.pool.query(
      `INSERT INTO telemetry (controller_id, message_id, recorded_at, received_at, payload)
       SELECT 'old-' || (i % 10), 'm-' || i, $1, $1, '{}'::jsonb FROM generate_series(1, 12001) AS i`,
      [new Date(now.getTime() - 31 * day)],
    );
    await database.pool.query(
      `INSERT INTO telemetry (controller_id, message_id, recorded_at, received_at, payload)
       SELECT 'new-' || i, 'm-' || i, $1, $1, '{}'::jsonb FROM generate_series(1, 7) AS i`,
      [new Date(now.getTime() - 29 * day)],
    );
    await database.pool.query(`INSERT INTO dead_letters (at, source, reason, payload) VALUES ($1, 't', 'not-json', '\\x00'), ($2, 't', 'not-json', '\\x01')`, [
      new Date(now.getTime() - 40 * day),
      new Date(now.getTime() - day),
    ]);
    const ctx = { pool: database.pool, retentionDays: 30, log: logger("test") } as unknown as BridgeContext;

    const deleted = await new RetentionExtension(ctx).sweep(now);

    expect(deleted).to.deep.equal({ telemetry: 12_001, telemetryPartitions: 0, dead_letters: 1 });
    const left = await database.pool.query("SELECT controller_id FROM telemetry ORDER BY controller_id");
    expect(left.rows.map((r) => r.controller_id)).to.deep.equal(["new-1", "new-2", "new-3", "new-4", "new-5", "new-6", "new-7"]);
    expect(await database.count("SELECT count(*) AS n FROM dead_letters")).to.equal(1);
    expect(await new RetentionExtension(ctx).sweep(now)).to.deep.equal({ telemetry: 0, telemetryPartitions: 0, dead_letters: 0 });
  });

  it("drops whole day partitions past the period, creates the days ahead, and moves default rows into a new day", async () => {
    const now = new Date("2026-10-15T06:00:00Z");
    const partitions = async () =>
      (await database.pool.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'telemetry'::regclass ORDER BY 1`)).rows.map((r) => r.name);
    // Rows of 2026-09-10 arrive before that day has a partition: they go to the default partition.
    await database.pool.query(
      `INSERT INTO telemetry (controller_id, message_id, recorded_at, payload) SELECT 'd', 'early-' || i, '2026-09-10T12:00:00Z', '{}' FROM generate_series(1, 5) AS i`,
    );
    await database.pool.query(`SELECT aerie_telemetry_partition('2026-09-10'::date)`);
    expect(await database.count(`SELECT count(*) AS n FROM telemetry_p20260910`)).to.equal(5);
    expect(await database.count(`SELECT count(*) AS n FROM telemetry_default WHERE recorded_at >= '2026-09-10' AND recorded_at < '2026-09-11'`)).to.equal(0);
    await database.pool.query(`SELECT aerie_telemetry_partition('2026-09-14'::date)`);
    await database.pool.query(`INSERT INTO telemetry (controller_id, message_id, recorded_at, payload) VALUES ('d', 'late', '2026-09-14T23:59:59Z', '{}')`);
    // A redelivery (same id, same device time) is stored once, across the partitioned table.
    const again = await database.pool.query(`INSERT INTO telemetry (controller_id, message_id, recorded_at, payload) VALUES ('d', 'late', '2026-09-14T23:59:59Z', '{}') ON CONFLICT (controller_id, message_id, recorded_at) DO NOTHING`);
    expect(again.rowCount).to.equal(0);
    const ctx = { pool: database.pool, retentionDays: 31, log: logger("test") } as unknown as BridgeContext;

    // Cutoff 2026-09-14T06:00: the 10th is wholly past, the 14th is not yet.
    const swept = await new RetentionExtension(ctx).sweep(now);

    expect(swept.telemetryPartitions).to.equal(1);
    const names = await partitions();
    expect(names).not.to.include("telemetry_p20260910");
    expect(names).to.include("telemetry_p20260914");
    for (const day of ["20261015", "20261018", "20261022"]) expect(names).to.include(`telemetry_p${day}`);
    expect(await database.count(`SELECT count(*) AS n FROM telemetry WHERE controller_id = 'd'`)).to.equal(1);

    // With retention off nothing expires, but the days ahead are still created.
    const keep = { pool: database.pool, retentionDays: 0, log: logger("test") } as unknown as BridgeContext;
    expect(await new RetentionExtension(keep).sweep(new Date("2027-03-01T00:00:00Z"))).to.deep.equal({ telemetry: 0, telemetryPartitions: 0, dead_letters: 0 });
    expect(await partitions()).to.include.members(["telemetry_p20260914", "telemetry_p20270301", "telemetry_p20270308"]);
  });
});
