// The telemetry extension writes batches on two connections at once; a later batch may commit first,
// but messages are settled (hence PUBACKed) only after their own commit and in the order received.
import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { DeadLetters } from "../../bridge/dead-letters.js";
import { EventBus } from "../../bridge/event-bus.js";
import type { BridgeContext } from "../../bridge/extension.js";
import { TelemetryExtension, type TelemetryEvent } from "../../bridge/extensions/telemetry.js";
import { Topics } from "../../bridge/protocol/topics.js";
import { logger } from "../../core/log.js";
import { AerieMetrics } from "../../core/metrics.js";
import { startTestDatabase, until, type TestDatabase } from "./helpers.js";

describe("bridge: pipelined telemetry batches", function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let extension: TelemetryExtension;
  let bus: EventBus;

  before(async () => {
    database = await startTestDatabase();
    const metrics = new AerieMetrics();
    const log = logger("test");
    bus = new EventBus();
    const ctx = { databaseUrl: database.url, pool: database.pool, bus, metrics, log, topics: new Topics("aerie/v1"), deadLetters: new DeadLetters(database.pool, metrics, log) } as unknown as BridgeContext;
    extension = new TelemetryExtension(ctx, { lanes: 2 });
    await extension.start();
  });

  after(async () => {
    await extension?.stop();
    await database?.stop();
  });

  const send = (controllerId: string, messageId: string, metrics: Record<string, number | string | boolean>, ts = new Date().toISOString()) => {
    const payload = { messageId, ts, metrics };
    const event: TelemetryEvent = { controllerId, payload, receivedAt: new Date(), bytes: 0, json: JSON.stringify(payload) };
    return bus.dispatch("telemetry", event);
  };

  it("settles a batch that committed first only after the earlier batch committed, in order", async () => {
    // An open transaction holds the key of the first message (controller id, message id and ts, the
    // partition key being part of it): its batch waits for that lock.
    const ts = new Date().toISOString();
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    await blocker.query("BEGIN");
    await blocker.query("INSERT INTO telemetry (controller_id, message_id, recorded_at, received_at, payload) VALUES ('order-1', 'm-0', $1, now(), '{}')", [ts]);
    const settled: string[] = [];
    const first = send("order-1", "m-0", { n: 0 }, ts).then(() => settled.push("m-0"));
    await sleep(100);
    const second = send("order-1", "m-1", { n: 1 }).then(() => settled.push("m-1"));
    // The second batch went to the other connection and committed …
    await until("the second batch committed", async () => (await database.count("SELECT count(*) AS n FROM telemetry WHERE message_id = 'm-1'")) === 1, 10_000, 20);
    await sleep(200);
    // … but its message is not settled before the first one.
    expect(settled).to.deep.equal([]);
    await blocker.query("ROLLBACK");
    await blocker.end();
    await Promise.all([first, second]);
    expect(settled).to.deep.equal(["m-0", "m-1"]);
    expect(await database.count("SELECT count(*) AS n FROM telemetry WHERE controller_id = 'order-1'")).to.equal(2);
  });

  it("stores the payload text as sent, once per message id, and dead-letters a row Postgres refuses", async () => {
    const ts = "2026-01-02T03:04:05.678Z";
    const metrics = { temperature: 41.5, label: "tab\there \"quoted\" back\\slash ünï", ok: true, big: 12345678901234567890 };
    await Promise.all([send("raw-1", "a", metrics, ts), send("raw-1", "a", metrics, ts), send("raw-1", "b", { x: 1 }, "0001-01-01T00:00:00+25:00")]);
    const rows = await database.pool.query("SELECT message_id, recorded_at, payload FROM telemetry WHERE controller_id = 'raw-1' ORDER BY message_id");
    expect(rows.rows.map((r) => r.message_id)).to.deep.equal(["a"]);
    expect(rows.rows[0].recorded_at.toISOString()).to.equal(ts);
    expect(rows.rows[0].payload).to.deep.equal(metrics);
    expect(await database.count("SELECT count(*) AS n FROM dead_letters WHERE client_id = 'raw-1'")).to.equal(1);
  });
});
