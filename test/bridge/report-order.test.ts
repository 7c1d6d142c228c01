// Two bridge instances on one mosquitto share a device's messages (MQTT v5 shared subscriptions), so one device's
// reports can be stored out of order: here one instance is frozen (SIGSTOP) while the device reports, so mosquitto
// hands it its share, which it stores only after the other instance stored the later reports. hawkBit must still
// see the device's order (protocol v1 `seq`), and Aerie's view of the action must end at the last report.
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { CREDENTIALS, type ConformantStandin, startConformantStandin } from "../helpers/hawkbit-conformance.js";
import { type BridgeChild, type TestDatabase, spawnBridge, startTestDatabase, startTestMosquitto, until } from "./helpers.js";
import { RawDevice, startRollout } from "./raw-device.js";

describe("bridge scale-out: a device's reports keep its order across two instances (mosquitto)", function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let broker: Awaited<ReturnType<typeof startTestMosquitto>>;
  let standin: ConformantStandin;
  let mgmt: HawkbitManagementClient;
  const children: BridgeChild[] = [];
  let device: RawDevice | undefined;

  before(async () => {
    database = await startTestDatabase();
    broker = await startTestMosquitto();
    standin = await startConformantStandin({ schedulerIntervalMs: 50 });
    mgmt = new HawkbitManagementClient({ baseUrl: standin.url, username: CREDENTIALS.username, password: CREDENTIALS.password });
    for (const name of ["a", "b"]) {
      children.push(await spawnBridge({
        DATABASE_URL: database.url, MQTT_URL: broker.url, AERIE_BRIDGE_CLIENT_ID: `order-${name}`, AERIE_BRIDGE_SHARE_GROUP: "aerie",
        HAWKBIT_URL: standin.url, HAWKBIT_USERNAME: CREDENTIALS.username, HAWKBIT_PASSWORD: CREDENTIALS.password, HAWKBIT_GATEWAY_TOKEN: CREDENTIALS.gatewayToken,
        BRIDGE_EXTENSIONS: "registration,feedback,feedback-relay,consent,notices,action-sync",
        // Wider than the default 2 s: the frozen instance stores its share only once it runs again (slow on a busy machine).
        REORDER_WINDOW_MS: "8000",
      }));
    }
  });

  after(async () => {
    for (const child of children) {
      if (child.process.exitCode === null) child.process.kill("SIGCONT");
      await child.stop().catch(() => undefined);
    }
    await device?.client.endAsync().catch(() => undefined);
    await standin?.dispose();
    await broker?.remove();
    await database?.stop();
  });

  it("relays to hawkBit in seq order what the instances stored out of order, and the action ends at the last report", async () => {
    device = await RawDevice.connect(broker.url, "ord-1", 5);
    await device.send("availability", { state: "online" });
    await device.send("hello", { messageId: device.messageId(), updateClient: "swupdate", hardware: "board-o", versions: { rootfs: "1.0.0" } });
    await until("ord-1 registered", async () => (await database.count("SELECT count(*) AS n FROM devices WHERE controller_id = 'ord-1'")) === 1);
    const actionId = await startRollout(mgmt, "ord", "ord-1");
    await device.next("deployment");

    // Frozen, the instance still gets its share of the device's messages from mosquitto (in its socket).
    const frozen = children[0]!;
    frozen.process.kill("SIGSTOP");
    const statuses = ["downloading", "downloaded", "installing", "rebooting", "success"] as const;
    // The counter continues across actions and restarts; it need not start at 1.
    const firstSeq = 41;
    for (const [i, status] of statuses.entries()) {
      await device.send("feedback", { messageId: device.messageId(), actionId, status, seq: firstSeq + i, ...(status === "downloading" ? { progress: 50 } : {}) });
    }
    await until("the other instance's share stored", async () => (await database.count("SELECT count(*) AS n FROM action_feedback")) > 0);
    await sleep(200);
    frozen.process.kill("SIGCONT");
    await until("all five reports stored", async () => (await database.count("SELECT count(*) AS n FROM action_feedback")) === statuses.length);
    const arrival = (await database.pool.query("SELECT seq FROM action_feedback ORDER BY id")).rows.map((r) => Number(r.seq));
    // The point of the test: the rows really were stored out of the device's order.
    expect(arrival, "storage order").to.not.deep.equal([...arrival].sort((a, b) => a - b));

    const action = await until("action closed in hawkBit", async () => {
      const a = await mgmt.getTargetAction("ord-1", actionId);
      return a.active === false ? a : undefined;
    }, 30_000);
    expect(action.status).to.equal("finished");
    const auth = `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString("base64")}`;
    // hawkBit lists an action's history newest first (MgmtTargetResource.getActionStatusList).
    const response = await fetch(`${standin.url}/rest/v1/targets/ord-1/actions/${actionId}/status?limit=50`, { headers: { authorization: auth } });
    const history = (await response.json()) as { content: { id: number; type: string }[] };
    expect(response.status, JSON.stringify(history)).to.equal(200);
    const reported = history.content.sort((a, b) => a.id - b.id).map((s) => s.type).filter((t) => ["download", "downloaded", "running", "finished"].includes(t));
    // hawkBit's own entries (the assignment's "running") come first; then the device's, in its order.
    expect(reported.slice(-5)).to.deep.equal(["download", "downloaded", "running", "running", "finished"]);
    expect(await database.count("SELECT count(*) AS n FROM action_feedback WHERE relay_error IS NOT NULL")).to.equal(0);
    expect(await database.count("SELECT count(*) AS n FROM device_actions WHERE hawkbit_action_id = $1 AND status = 'success' AND applied_seq = $2", [actionId, firstSeq + 4])).to.equal(1);
  });
});
