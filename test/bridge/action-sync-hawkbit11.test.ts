// The action sync against a hawkBit that refuses what hawkBit 1.1.0 refuses: every Management API call of the
// bridge passes a proxy answering 400 to an action listing with a field, value or sort hawkBit 1.1 does not
// accept (test/helpers/hawkbit-11-queries.ts). The bridge must still see a rollout's actions, after an
// election (full pass over open actions) and as they change (pass over recent changes).
import { expect } from "chai";
import { HawkbitError } from "../../hawkbit/errors.js";
import { controllerIdOf, isOpen } from "../../hawkbit/actions.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { HawkbitManagementClient as Client } from "../../hawkbit/management-client.js";
import { startEmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";
import { freePort } from "../helpers/env.js";
import { CREDENTIALS, eventually, startConformantStandin, type ConformantStandin } from "../helpers/hawkbit-conformance.js";
import { refusedByHawkbit11 } from "../helpers/hawkbit-11-queries.js";
import { startHawkbitProxy, type HawkbitProxy } from "../helpers/hawkbit-proxy.js";
import { startInProcessBridge, startTestDatabase, until, type InProcessBridge, type TestDatabase } from "./helpers.js";
import { RawDevice } from "./raw-device.js";

describe("bridge: action sync through a proxy that refuses what hawkBit 1.1 refuses", function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let standin: ConformantStandin;
  let proxy: HawkbitProxy;
  let broker: { url: string; stop(): Promise<void> };
  let bridge: InProcessBridge | undefined;
  let mgmt: HawkbitManagementClient;
  const devices: RawDevice[] = [];
  const ids = ["h11-a", "h11-b", "h11-c"];
  /** Every action listing that reached the proxy. */
  const listed: string[] = [];

  const startBridge = async () => {
    // Management and DDI calls both go through the proxy.
    const b = await startInProcessBridge(database, { ...standin, url: proxy.url } as ConformantStandin, { mqttUrl: broker.url, clientId: `h11-bridge-${Date.now()}` }, { ddiUrl: proxy.url });
    await until("leadership", async () => b.bridge.isLeader);
    return b;
  };

  before(async () => {
    database = await startTestDatabase();
    standin = await startConformantStandin({ schedulerIntervalMs: 50 });
    proxy = await startHawkbitProxy(standin.url, {
      refuse: (method, url) => {
        if (method === "GET" && url.startsWith("/rest/v1/actions?")) listed.push(url);
        return refusedByHawkbit11(method, url);
      },
    });
    broker = await startEmbeddedBroker({ host: "127.0.0.1", port: await freePort() });
    mgmt = new Client({ baseUrl: standin.url, username: CREDENTIALS.username, password: CREDENTIALS.password });
  });

  after(async () => {
    for (const d of devices) await d.client.endAsync().catch(() => undefined);
    await bridge?.stop();
    await broker?.stop();
    await proxy?.close();
    await standin?.dispose();
    await database?.stop();
  });

  it("the proxy answers 400 to the pre-1.x queries (status==pending, detailStatus) and takes the 1.x ones", async () => {
    const viaProxy = new Client({ baseUrl: proxy.url, username: CREDENTIALS.username, password: CREDENTIALS.password, retries: 0 });
    for (const q of ["status==pending", "detailStatus==running", "rollout.id==1;status==pending", "lastActionStatusCode==200"]) {
      const error = await viaProxy.listActions({ q }).then(() => undefined, (e: unknown) => e);
      expect(error, q).to.be.instanceOf(HawkbitError);
      expect((error as HawkbitError).status, q).to.equal(400);
    }
    for (const q of ["active==true", "status==running", "status=in=(canceling,wait_for_confirmation)", "rollout.id==1;active==true", "lastModifiedAt=ge=0"]) {
      await viaProxy.listActions({ q, sort: "id:ASC" });
    }
    proxy.refused.length = 0;
  });

  it("sees a rollout's open actions after an election, and their changes as they happen", async () => {
    // Devices register through a first leader, which then goes away.
    bridge = await startBridge();
    for (const id of ids) {
      const d = await RawDevice.connect(broker.url, id);
      devices.push(d);
      await d.send("hello", { messageId: d.messageId(), updateClient: "swupdate", hardware: "board-x", versions: { rootfs: "1.0.0" } });
      await until(`${id} registered`, async () => (await database.count("SELECT count(*) AS n FROM devices WHERE controller_id = $1", [id])) === 1);
    }
    await bridge.stop();
    bridge = undefined;

    // A rollout starts while no bridge leads: only the new leader's full pass can find its actions.
    const sm = await mgmt.ensureSoftwareModule({ name: "os-h11", version: "1.0.0", type: "os", vendor: "aerie" });
    const ds = await mgmt.ensureDistributionSet({ name: "ds-h11", version: "1.0.0", type: "os", modules: [sm.id] });
    const rollout = await mgmt.createRollout({ name: "h11", targetFilterQuery: `controllerId=in=(${ids.join(",")})`, distributionSetId: ds.id, amountGroups: 1, type: "forced" });
    await eventually(() => mgmt.getRollout(rollout.id), (r) => r.status === "ready");
    await mgmt.startRollout(rollout.id);
    const actions = await eventually(() => mgmt.listActions({ q: `rollout.id==${rollout.id}`, sort: "id:ASC" }), (page) => page.content.filter(isOpen).length === ids.length, 10_000);
    const actionOf = new Map(actions.content.map((a) => [controllerIdOf(a)!, a.id]));

    bridge = await startBridge();
    for (const d of devices) {
      const notice = await d.next<{ actionId: number }>("deployment");
      expect(notice.actionId).to.equal(actionOf.get(d.id));
    }
    expect(await database.count("SELECT count(*) AS n FROM device_actions WHERE hawkbit_action_id = ANY($1::int[])", [[...actionOf.values()]])).to.equal(3);

    // Changes: one action cancelled by the operator (its device must hear `cancel`), one closed by its device.
    const [a, b] = devices;
    const fromA = a!.received.length;
    await mgmt.cancelAction(a!.id, actionOf.get(a!.id)!);
    const cancel = await a!.next<{ actionId: number }>("cancel", fromA);
    expect(cancel.actionId).to.equal(actionOf.get(a!.id));

    const fromB = b!.received.length;
    const ddi = new DdiChannel({ baseUrl: standin.url, tenant: CREDENTIALS.tenant, gatewayToken: CREDENTIALS.gatewayToken });
    await ddi.sendFeedback(b!.id, actionOf.get(b!.id)!, { execution: "closed", finished: "success", details: ["done"] });
    await until("b's retained notice cleared", async () => b!.received.slice(fromB).some((m) => m.topic === b!.topic("deployment") && m.payload === ""));
    await until("b's action closed in Aerie", async () => (await database.count("SELECT count(*) AS n FROM device_actions WHERE hawkbit_action_id = $1 AND status = 'closed'", [actionOf.get(b!.id)])) === 1);

    expect(listed.some((u) => u.includes("active%3D%3Dtrue")), "a full pass over open actions went through the proxy").to.equal(true);
    expect(listed.some((u) => u.includes("lastModifiedAt%3Dge%3D")), "passes over recent changes went through the proxy").to.equal(true);
    expect(proxy.refused, "requests hawkBit 1.1 would refuse").to.deep.equal([]);
  });
});
