// Retention deletes telemetry and dead letters older than the retention period, in batches, and
// nothing newer. Telemetry has no surrogate key, so the sweep deletes by row address.
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

    expect(deleted).to.deep.equal({ telemetry: 12_001, dead_letters: 1 });
    const left = await database.pool.query("SELECT controller_id FROM telemetry ORDER BY controller_id");
    expect(left.rows.map((r) => r.controller_id)).to.deep.equal(["new-1", "new-2", "new-3", "new-4", "new-5", "new-6", "new-7"]);
    expect(await database.count("SELECT count(*) AS n FROM dead_letters")).to.equal(1);
    expect(await new RetentionExtension(ctx).sweep(now)).to.deep.equal({ telemetry: 0, dead_letters: 0 });
  });
});
