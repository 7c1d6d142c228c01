// device_actions' live-event and webhook triggers: a batch insert (the bridge registers a rollout start's actions 500
// per statement) announces each row once, in insertion order, with its device; an inserted final status still
// enqueues its webhook; an update still announces the row it changed.
import { expect } from "chai";
import pg from "pg";
import { startTestDatabase, type TestDatabase } from "../bridge/helpers.js";
import { eventsOfNotification } from "../../core/db/live-events.js";

describe("database: device_actions triggers", function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let listener: pg.Client;
  const heard: { type: string; actionId: number; controllerId: string; status: string; detail: string | null; at: string }[] = [];
  /** Bytes of each notification heard */
  const notifications: number[] = [];

  before(async () => {
    database = await startTestDatabase();
    listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    listener.on("notification", (n) => {
      notifications.push(Buffer.byteLength(n.payload!));
      heard.push(...(eventsOfNotification(n.payload) as unknown as typeof heard));
    });
    await listener.query("LISTEN aerie_events");
    await database.pool.query(`INSERT INTO devices (id, controller_id, created_at, updated_at)
      SELECT gen_random_uuid(), 'trg-' || g, now(), now() FROM generate_series(1, 300) g`);
  });

  after(async () => {
    await listener?.end();
    await database?.stop();
  });

  const insert = (ids: number[], status: (i: number) => string) => database.pool.query(
    `INSERT INTO device_actions (id, hawkbit_action_id, device_id, status, created_at, updated_at)
     SELECT gen_random_uuid(), a.id, d.id, a.status, now(), now()
     FROM unnest($1::int[], $2::text[], $3::text[]) WITH ORDINALITY AS a(id, controller_id, status, n) JOIN devices d ON d.controller_id = a.controller_id
     ORDER BY a.n`,
    [ids, ids.map((_, i) => `trg-${i + 1}`), ids.map((_, i) => status(i))],
  );

  it("announces every row of a batch insert once, in order, naming its device", async () => {
    heard.length = 0;
    const ids = Array.from({ length: 300 }, (_, i) => 5000 - i);
    await insert(ids, () => "notified");
    await waitFor(() => heard.length >= 300);
    expect(heard.map((e) => e.actionId)).to.deep.equal(ids);
    expect(heard[0]).to.include({ type: "action", controllerId: "trg-1", status: "notified" });
    expect(heard[299]).to.include({ controllerId: "trg-300" });
    expect(Object.keys(heard[0]!)).to.deep.equal(["type", "actionId", "campaignId", "controllerId", "status", "detail", "at"]);
    expect(notifications.length, "a few notifications for the whole statement, not one per row").to.be.within(2, 20);

    heard.length = 0;
    await database.pool.query("UPDATE device_actions SET status = 'downloading' WHERE hawkbit_action_id = 5000");
    await database.pool.query("UPDATE device_actions SET updated_at = now() WHERE hawkbit_action_id = 4999");
    await waitFor(() => heard.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard).to.have.length(1);
    expect(heard[0]).to.include({ actionId: 5000, controllerId: "trg-1", status: "downloading" });
  });

  it("keeps every notification of a batch under PostgreSQL's 8,000-byte limit, with the longest controller ids and details", async () => {
    const long = Array.from({ length: 40 }, (_, i) => `${"ü".repeat(250)}-${String(i).padStart(3, "0")}`);
    await database.pool.query(`INSERT INTO devices (id, controller_id, created_at, updated_at) SELECT gen_random_uuid(), c, now(), now() FROM unnest($1::text[]) c`, [long]);
    heard.length = 0;
    notifications.length = 0;
    const detail = "€".repeat(600);
    await database.pool.query(
      `INSERT INTO device_actions (id, hawkbit_action_id, device_id, status, detail, created_at, updated_at)
       SELECT gen_random_uuid(), 7000 + a.n, d.id, 'notified', $2, now(), now()
       FROM unnest($1::text[]) WITH ORDINALITY AS a(controller_id, n) JOIN devices d ON d.controller_id = a.controller_id ORDER BY a.n`,
      [long, detail],
    );
    await waitFor(() => heard.length >= 40);
    expect(heard.map((e) => e.controllerId)).to.deep.equal(long);
    expect(heard.every((e) => e.detail === "€".repeat(500))).to.equal(true);
    expect(Math.max(...notifications)).to.be.below(8000);
    expect(notifications.length).to.be.above(10);
  });

  it("enqueues webhooks for inserted final statuses only, as for updated ones", async () => {
    await database.pool.query(`INSERT INTO webhook_subscriptions (id, url, events, secret, created_by) VALUES (gen_random_uuid(), 'https://example.com/hook', '{device.*}', 's', 'test')`);
    await database.pool.query("DELETE FROM device_actions");
    await insert([1, 2, 3, 4], (i) => ["success", "notified", "failure", "rejected"][i]!);
    await database.pool.query("UPDATE device_actions SET status = 'success' WHERE hawkbit_action_id = 2");
    const { rows } = await database.pool.query("SELECT event, payload FROM webhook_deliveries ORDER BY id");
    expect(rows.map((r) => [r.event, r.payload.data.actionId, r.payload.data.controllerId])).to.deep.equal([
      ["device.update.succeeded", 1, "trg-1"], ["device.update.failed", 3, "trg-3"], ["device.update.failed", 4, "trg-4"], ["device.update.succeeded", 2, "trg-2"],
    ]);
    expect(rows[0].payload.subject).to.equal("device:trg-1");
  });
});

async function waitFor(ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
