// Protocol v1 round trips on real brokers (embedded aedes, Debian mosquitto), with a device that is
// nothing but an MQTT client following bridge/protocol/README.md, the bridge, PostgreSQL and the
// hawkBit stand-in in conformance mode (every DDI and Management API call checked against the specs).
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { downstreamValidators, describeErrors } from "../../bridge/protocol/schemas.js";
import { startEmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";
import { freePort } from "../helpers/env.js";
import { CREDENTIALS, startConformantStandin, type ConformantStandin } from "../helpers/hawkbit-conformance.js";
import { startInProcessBridge, startTestDatabase, startTestMosquitto, until, type InProcessBridge, type TestDatabase } from "./helpers.js";
import { RawDevice, startRollout } from "./raw-device.js";

function expectValid(kind: keyof typeof downstreamValidators, body: unknown): void {
  const validate = downstreamValidators[kind];
  expect(validate(body), `${kind}: ${describeErrors(validate)} in ${JSON.stringify(body)}`).to.equal(true);
}

function protocolSuite(brokerName: string, startBroker: () => Promise<{ url: string; stop(): Promise<void> }>, protocolVersion: 4 | 5): void {
  describe(`bridge protocol v1 round trips on ${brokerName}`, function () {
    this.timeout(60_000);
    let database: TestDatabase;
    let standin: ConformantStandin;
    let broker: { url: string; stop(): Promise<void> };
    let bridge: InProcessBridge;
    let mgmt: HawkbitManagementClient;
    const devices: RawDevice[] = [];
    const device = async (id: string) => {
      const d = await RawDevice.connect(broker.url, id, protocolVersion);
      devices.push(d);
      await d.send("availability", { state: "online" });
      await d.send("hello", { messageId: d.messageId(), updateClient: "rauc", hardware: "board-x", compatible: "board-x-rev2", versions: { rootfs: "1.0.0" },
        slots: [{ name: "rootfs.0", bootname: "A", state: "booted", version: "1.0.0" }, { name: "rootfs.1", bootname: "B", state: "inactive" }],
        secondaryIds: { serial: `SN-${id}` }, attributes: { site: "lab" } });
      await until(`${id} registered`, async () => (await database.count("SELECT count(*) AS n FROM devices WHERE controller_id = $1", [id])) === 1);
      return d;
    };

    before(async () => {
      database = await startTestDatabase();
      standin = await startConformantStandin({ schedulerIntervalMs: 50 });
      broker = await startBroker();
      bridge = await startInProcessBridge(database, standin, { mqttUrl: broker.url, protocolVersion, clientId: `rt-bridge-${brokerName}` });
      mgmt = bridge.management;
      await until("leadership", async () => bridge.bridge.isLeader);
    });

    after(async () => {
      for (const d of devices) await d.client.endAsync().catch(() => undefined);
      await bridge?.stop();
      await broker?.stop();
      await standin?.dispose();
      await database?.stop();
    });

    afterEach(() => standin.assertConformant());

    it("registers a device on hello, in Postgres and as a hawkBit target with its attributes", async () => {
      await device("rt-1");
      const attributes = await until("target attributes", async () => {
        const a = await mgmt.getTargetAttributes("rt-1").catch(() => undefined);
        return a?.updateClient ? a : undefined;
      });
      expect(attributes).to.include({ updateClient: "rauc", hardware: "board-x", compatible: "board-x-rev2", "version.rootfs": "1.0.0", site: "lab" });
      expect(await database.count("SELECT count(*) AS n FROM device_identifiers WHERE kind = 'serial' AND value = 'SN-rt-1'")).to.equal(1);
      expect(await database.count("SELECT count(*) AS n FROM device_presence WHERE controller_id = 'rt-1' AND online AND running_version = '1.0.0'")).to.equal(1);
    });

    it("stores telemetry once per message id", async () => {
      const d = devices[0]!;
      const body = { messageId: "t-1", ts: new Date().toISOString(), metrics: { temp: 41.5, ok: true, fw: "a\tb\\c" } };
      await d.send("telemetry", body);
      await d.send("telemetry", body);
      await d.send("telemetry", { ...body, messageId: "t-2" });
      await until("two rows", async () => (await database.count("SELECT count(*) AS n FROM telemetry WHERE controller_id = 'rt-1'")) === 2);
      const row = (await database.pool.query("SELECT payload FROM telemetry WHERE controller_id = 'rt-1' AND message_id = 't-1'")).rows[0];
      expect(row.payload).to.deep.equal(body.metrics);
    });

    it("answers request/{name} on response/{name} with the correlation id", async () => {
      const d = devices[0]!;
      for (const name of ["ping", "device", "deployment"]) {
        const from = d.received.length;
        await d.send(`request/${name}`, { correlationId: `corr-${name}` });
        const response = await d.next<{ correlationId: string; ok: boolean; result: Record<string, unknown> | null }>(`response/${name}`, from);
        expectValid("response", response);
        expect(response).to.include({ correlationId: `corr-${name}`, ok: true });
        if (name === "ping") expect(response.result).to.have.property("serverTime");
        if (name === "device") expect(response.result).to.deep.include({ controllerId: "rt-1", secondaryIds: { serial: "SN-rt-1" } });
        if (name === "deployment") expect(response.result).to.equal(null);
      }
    });

    it("relays a deployment (retained, QoS1) and the device's feedback to hawkBit", async () => {
      const d = await device("rt-2");
      const actionId = await startRollout(mgmt, `rollout-${brokerName}-deploy`, "rt-2");
      const notice = await d.next<{ actionId: number; consentRequired: boolean }>("deployment");
      expectValid("deployment", notice);
      expect(notice).to.include({ actionId, consentRequired: false });
      // Retained: a client subscribing later still gets it.
      const late = await RawDevice.connect(broker.url, "rt-2", protocolVersion);
      devices.push(late);
      expect((await late.next<{ actionId: number }>("deployment")).actionId).to.equal(actionId);
      for (const status of ["downloading", "downloaded", "installing", "rebooting", "success"]) {
        await d.send("feedback", { messageId: d.messageId(), actionId, status, ...(status === "downloading" ? { progress: 50 } : {}) });
      }
      await until("action finished in hawkBit", async () => (await mgmt.getTargetAction("rt-2", actionId)).status === "finished");
      expect((await mgmt.getTargetAction("rt-2", actionId)).status).to.equal("finished");
      // Done: the retained notice is cleared for good.
      await until("notice cleared", async () => d.received.some((m) => m.topic === d.topic("deployment") && m.payload === ""));
      await d.send("health", { messageId: d.messageId(), actionId, bootedSlot: "rootfs.1", runningVersion: "1.0.0", healthy: true, checks: { network: true } });
      await until("health stored", async () => (await database.count("SELECT count(*) AS n FROM audit_events WHERE action = 'device.health' AND subject LIKE 'device:%'")) >= 1);
    });

    it("relays a cancel from hawkBit to the device and its answer back", async () => {
      const d = await device("rt-3");
      const actionId = await startRollout(mgmt, `rollout-${brokerName}-cancel`, "rt-3");
      await d.next("deployment");
      await mgmt.cancelAction("rt-3", actionId);
      const cancel = await d.next<{ actionId: number }>("cancel");
      expectValid("cancel", cancel);
      expect(cancel.actionId).to.equal(actionId);
      await d.send("feedback", { messageId: d.messageId(), actionId, status: "canceled", details: ["stopped before download"] });
      await until("action canceled in hawkBit", async () => {
        const action = await mgmt.getTargetAction("rt-3", actionId);
        return action.active === false && action.status === "canceled";
      });
      await until("cancel cleared", async () => d.received.some((m) => m.topic === d.topic("cancel") && m.payload === ""));
    });

    it("asks for consent (confirmationBase) and relays accept, then the deployment follows", async () => {
      await mgmt.setTenantConfig("user.confirmation.flow.enabled", true);
      try {
        const d = await device("rt-4");
        const actionId = await startRollout(mgmt, `rollout-${brokerName}-consent`, "rt-4", true);
        const asking = await d.next<{ actionId: number; consentRequired: boolean }>("deployment", 0, (n) => n.consentRequired);
        expectValid("deployment", asking);
        expect(asking.actionId).to.equal(actionId);
        expect((await mgmt.getTargetAction("rt-4", actionId)).status).to.equal("wait_for_confirmation");
        const from = d.received.length;
        await d.send("consent", { messageId: d.messageId(), actionId, decision: "accept" });
        const go = await d.next<{ actionId: number; consentRequired: boolean }>("deployment", from, (n) => !n.consentRequired);
        expect(go.actionId).to.equal(actionId);
        await until("action running in hawkBit", async () => (await mgmt.getTargetAction("rt-4", actionId)).status !== "wait_for_confirmation");

        const e = await device("rt-5");
        const deferred = await startRollout(mgmt, `rollout-${brokerName}-defer`, "rt-5", true);
        await e.next("deployment", 0, (n: { consentRequired: boolean }) => n.consentRequired);
        await e.send("consent", { messageId: e.messageId(), actionId: deferred, decision: "defer", deferUntil: new Date(Date.now() + 3600_000).toISOString() });
        await until("deferral recorded", async () => (await database.count("SELECT count(*) AS n FROM device_actions WHERE hawkbit_action_id = $1 AND detail LIKE 'defer%'", [deferred])) === 1);
        expect((await mgmt.getTargetAction("rt-5", deferred)).status).to.equal("wait_for_confirmation");
      } finally {
        await mgmt.setTenantConfig("user.confirmation.flow.enabled", false);
      }
    });

    it("dead-letters feedback for another device's action and never crashes", async () => {
      const d = devices[0]!;
      const before = await database.count("SELECT count(*) AS n FROM dead_letters");
      const other = (await database.pool.query("SELECT hawkbit_action_id FROM device_actions LIMIT 1")).rows[0].hawkbit_action_id;
      await d.send("feedback", { messageId: d.messageId(), actionId: other, status: "failure" });
      await d.send("consent", { messageId: d.messageId(), actionId: other, decision: "accept" });
      await until("dead letters", async () => (await database.count("SELECT count(*) AS n FROM dead_letters")) >= before + 2);
      expect(bridge.bridge.connected).to.equal(true);
    });
  });
}

protocolSuite("aedes", async () => {
  const broker = await startEmbeddedBroker({ host: "127.0.0.1", port: await freePort() });
  return { url: broker.url, stop: () => broker.stop() };
}, 4);

protocolSuite("mosquitto", async () => {
  const broker = await startTestMosquitto();
  return { url: broker.url, stop: () => broker.remove() };
}, 5);

void CREDENTIALS;
