// Device feedback and consent while hawkBit is unreachable: the device's reports are acknowledged once stored,
// wait in Postgres, and reach hawkBit in their order when it answers again; a report hawkBit refuses for good becomes
// a dead letter with hawkBit's reason. DDI goes through a proxy that can answer 503 to everything.
import { expect } from "chai";
import type { ConformantStandin } from "../helpers/hawkbit-conformance.js";
import type { HawkbitProxy } from "../helpers/hawkbit-proxy.js";
import { type BridgeBehindProxy, type InProcessBridge, type TestDatabase, startBridgeBehindProxy, until } from "./helpers.js";
import { RawDevice, startRollout } from "./raw-device.js";

describe("bridge: feedback relay through a hawkBit outage", function () {
  this.timeout(60_000);
  let setup: BridgeBehindProxy;
  let database: TestDatabase;
  let standin: ConformantStandin;
  let proxy: HawkbitProxy;
  let bridge: InProcessBridge;
  let device: RawDevice;

  const pendingGauge = async () => Number((await bridge.metrics.registry.getSingleMetric("aerie_bridge_feedback_pending")!.get()).values[0]?.value ?? -1);

  before(async () => {
    setup = await startBridgeBehindProxy("fr-bridge");
    ({ database, standin, proxy, bridge } = setup);
    await until("leadership", async () => bridge.bridge.isLeader);
    device = await RawDevice.connect(setup.brokerUrl, "fr-1");
    await device.send("availability", { state: "online" });
    await device.send("hello", { messageId: device.messageId(), updateClient: "swupdate", hardware: "board-y", versions: { rootfs: "1.0.0" } });
    await until("fr-1 registered", async () => (await database.count("SELECT count(*) AS n FROM devices WHERE controller_id = 'fr-1'")) === 1);
  });

  after(async () => {
    await device?.client.endAsync().catch(() => undefined);
    await setup?.stop();
  });

  it("acknowledges reports while hawkBit is down, keeps them, and relays them in order once it is back", async () => {
    const actionId = await startRollout(bridge.management, "fr-outage", "fr-1");
    await device.next("deployment");
    proxy.outage = true;
    const statuses = ["downloading", "downloaded", "installing", "rebooting", "success"];
    const ids: string[] = [];
    for (const status of statuses) {
      const messageId = device.messageId();
      ids.push(messageId);
      await device.send("feedback", { messageId, actionId, status, ...(status === "downloading" ? { progress: 40 } : {}) });
    }
    // A redelivery of the last report is stored once.
    await device.send("feedback", { messageId: ids[4], actionId, status: "success" });
    await until("reports stored", async () => (await database.count("SELECT count(*) AS n FROM action_feedback")) === 5);
    // Each one acknowledged to the broker with hawkBit unreachable: none is held by the bridge.
    await until("acknowledged", async () => bridge.bridge.inFlight === 0);
    const stored = await database.pool.query("SELECT message_id, status, relayed_at FROM action_feedback ORDER BY id");
    expect(stored.rows.map((r) => [r.message_id, r.status, r.relayed_at])).to.deep.equal(ids.map((id, i) => [id, statuses[i], null]));
    // Aerie's own view moves on; hawkBit's waits.
    expect(await database.count("SELECT count(*) AS n FROM device_actions WHERE hawkbit_action_id = $1 AND status = 'success'", [actionId])).to.equal(1);
    expect((await bridge.management.getTargetAction("fr-1", actionId)).active).to.equal(true);
    await until("pending gauge", async () => (await pendingGauge()) === 5);

    // Long enough for several failed tries (0.5 s, then 1 s).
    await new Promise((resolve) => setTimeout(resolve, 1800));
    const tries = await database.count("SELECT max(relay_attempts) AS n FROM action_feedback");
    expect(tries).to.be.at.least(2);
    const before = proxy.mutations.length;
    proxy.outage = false;

    await until("action finished in hawkBit", async () => (await bridge.management.getTargetAction("fr-1", actionId)).status === "finished", 20_000);
    const relayed = proxy.mutations.slice(before).filter((m) => m.url.includes(`/deploymentBase/${actionId}/feedback`)).map((m) => JSON.parse(m.body).status.execution);
    expect(relayed).to.deep.equal(["download", "downloaded", "proceeding", "proceeding", "closed"]);
    // relayed_at is written once hawkBit answered, which can be just after the test sees the action finished.
    await until("every report marked relayed", async () => (await database.count("SELECT count(*) AS n FROM action_feedback WHERE relayed_at IS NULL")) === 0);
    expect(await database.count("SELECT count(*) AS n FROM dead_letters")).to.equal(0);
    await until("pending gauge back to 0", async () => (await pendingGauge()) === 0);
  });

  it("keeps a consent given while hawkBit is down, and announces the go-ahead only once hawkBit has it", async () => {
    await bridge.management.setTenantConfig("user.confirmation.flow.enabled", true);
    try {
      const actionId = await startRollout(bridge.management, "fr-consent", "fr-1", true);
      await device.next<{ actionId: number; consentRequired: boolean }>("deployment", 0, (n) => n.actionId === actionId && n.consentRequired);
      proxy.outage = true;
      const from = device.received.length;
      await device.send("consent", { messageId: device.messageId(), actionId, decision: "accept" });
      await until("consent stored", async () => (await database.count("SELECT count(*) AS n FROM action_feedback WHERE kind = 'consent' AND relayed_at IS NULL")) === 1);
      await until("acknowledged", async () => bridge.bridge.inFlight === 0);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(device.received.slice(from).filter((m) => m.topic === device.topic("deployment"))).to.deep.equal([]);
      expect(await database.count("SELECT count(*) AS n FROM device_actions WHERE hawkbit_action_id = $1 AND status = 'awaiting-consent'", [actionId])).to.equal(1);
      expect((await bridge.management.getTargetAction("fr-1", actionId)).status).to.equal("wait_for_confirmation");

      proxy.outage = false;
      const go = await device.next<{ actionId: number; consentRequired: boolean }>("deployment", from, (n) => n.actionId === actionId && !n.consentRequired);
      expect(go.actionId).to.equal(actionId);
      expect((await bridge.management.getTargetAction("fr-1", actionId)).status).to.not.equal("wait_for_confirmation");
      await device.send("feedback", { messageId: device.messageId(), actionId, status: "success" });
      await until("consented action finished in hawkBit", async () => (await bridge.management.getTargetAction("fr-1", actionId)).status === "finished");
    } finally {
      proxy.outage = false;
      await bridge.management.setTenantConfig("user.confirmation.flow.enabled", false);
    }
  });

  it("turns a report hawkBit refuses for good into a dead letter with hawkBit's reason, and goes on", async () => {
    const finished = (await database.pool.query("SELECT hawkbit_action_id FROM device_actions WHERE status = 'success' LIMIT 1")).rows[0].hawkbit_action_id as number;
    // The device reports again on an action hawkBit has closed: hawkBit answers 410.
    await device.send("feedback", { messageId: device.messageId(), actionId: finished, status: "failure", details: ["late"] });
    const letter = await until("dead letter", async () => (await database.pool.query("SELECT reason, source FROM dead_letters")).rows[0]);
    expect(letter.reason).to.match(/^relay-failed: .*410/);
    expect(letter.source).to.equal("aerie/v1/devices/fr-1/feedback");
    const row = (await database.pool.query("SELECT relayed_at, relay_error FROM action_feedback WHERE details = '[\"late\"]'::jsonb")).rows[0];
    expect(row.relayed_at).to.equal(null);
    expect(row.relay_error).to.contain("410");

    // The relay did not stop there.
    const next = await startRollout(bridge.management, "fr-after", "fr-1");
    await device.next<{ actionId: number }>("deployment", 0, (n) => n.actionId === next);
    await device.send("feedback", { messageId: device.messageId(), actionId: next, status: "success" });
    await until("second action finished in hawkBit", async () => (await bridge.management.getTargetAction("fr-1", next)).status === "finished");
  });

  it("sent hawkBit only conformant requests", () => {
    standin.assertConformant();
  });
});
