// Campaigns that end (issue 10, item 5), end to end on the embedded stack with MQTT devices behind the bridge and
// the hawkBit stand-in in conformance mode:
//  - stop: hawkBit's rollout stop cancels every open action, each notified device receives `cancel` and answers it,
//    the rollout ends STOPPED;
//  - POST /campaigns/{id}/devices/{controllerId}/cancel cancels one device's update while the others go on;
//  - a device that rejects consent ends its action (counted as rejected) and the campaign finishes.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { isOpen } from "../../hawkbit/actions.js";
import { loadConfig, type AerieConfig } from "../../core/config.js";
import { startAerie, type AerieStack } from "../../core/stack.js";
import { AerieClient, waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice, type SimulatedDeviceOptions } from "../../scripts/simulator/device.js";
import { freePort, tempDir } from "../helpers/env.js";
import { CREDENTIALS, startConformantStandin, type ConformantStandin } from "../helpers/hawkbit-conformance.js";

describe("campaigns that end: stop, cancel one device, consent rejected", function () {
  this.timeout(240_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let hawkbitServer: ConformantStandin;
  let config: AerieConfig;
  let stack: AerieStack;
  let api: AerieClient;
  let hawkbit: HawkbitManagementClient;
  let releaseId: string;
  const devices = new Map<string, SimulatedDevice>();

  async function device(controllerId: string, options: Partial<SimulatedDeviceOptions> = {}): Promise<SimulatedDevice> {
    const keyring = new Map((await api.keyring()).keys.map((k) => [k.version, k.pem] as const));
    const token = await api.issueDeviceToken(controllerId);
    const d = new SimulatedDevice({ controllerId, mqttUrl: stack.endpoints.mqtt, keyring, token, ...options });
    await d.start();
    devices.set(controllerId, d);
    return d;
  }

  const campaignStatus = (id: string, status: string, timeoutMs = 60_000) =>
    waitFor(`campaign ${status}`, async () => {
      const view = await api.campaign(id);
      return view.status === status ? view : undefined;
    }, timeoutMs);

  before(async () => {
    dir = await tempDir();
    hawkbitServer = await startConformantStandin({ schedulerIntervalMs: 200 });
    config = loadConfig({
      HAWKBIT_URL: hawkbitServer.url,
      HAWKBIT_USERNAME: CREDENTIALS.username,
      HAWKBIT_PASSWORD: CREDENTIALS.password,
      HAWKBIT_GATEWAY_TOKEN: CREDENTIALS.gatewayToken,
      HAWKBIT_TENANT: CREDENTIALS.tenant,
      AERIE_DATA_DIR: dir.path,
      AERIE_POSTGRES_PORT: String(await freePort()),
      AERIE_API_PORT: String(await freePort()),
      AERIE_MQTT_PORT: String(await freePort()),
      AERIE_S3_PORT: String(await freePort()),
      AERIE_VAULT_PORT: String(await freePort()),
      AERIE_BRIDGE_SYNC_MS: "300",
    });
    stack = await startAerie(config);
    api = new AerieClient(stack.endpoints.api, stack.adminToken);
    hawkbit = new HawkbitManagementClient({ baseUrl: stack.hawkbit.url, username: stack.hawkbit.username, password: stack.hawkbit.password });
    const image = randomBytes(4096);
    const artifact = await api.uploadArtifact("rootfs-5.0.0.swu", image, image.length);
    await api.signArtifact(artifact.id);
    releaseId = (await api.createRelease({ name: "end-os", version: "5.0.0", artifacts: [artifact.id] })).id;
  });

  after(async () => {
    for (const d of devices.values()) await d.stop().catch(() => undefined);
    await stack?.stop();
    await hawkbitServer?.dispose();
    await dir?.remove();
  });

  it("stop cancels every open update: each device receives cancel, the rollout ends stopped", async () => {
    const held = [await device("end-stop-1", { holdDeployments: true }), await device("end-stop-2", { holdDeployments: true })];
    await waitFor("registration", async () => ((await api.devices()).total >= 2 ? true : undefined), 20_000);
    const c = await api.createCampaign({ name: "end-stop", releaseId, targetFilter: "controllerId==end-stop-*", groups: 1, start: true });
    for (const d of held) await waitFor(`${d.controllerId} notified`, async () => d.notices[0], 30_000);

    const stopped = await api.request<{ status: string }>("POST", `/api/v1/campaigns/${c.id}/stop`);
    expect(stopped.status).to.equal("stopped");
    for (const d of held) {
      const cancel = await waitFor(`${d.controllerId} told to cancel`, async () => d.cancels[0], 30_000);
      expect(cancel.actionId).to.equal(d.notices[0]!.actionId);
    }
    const view = await waitFor("both counted canceled", async () => {
      const v = await api.campaign(c.id);
      return v.progress.byStatus.canceled === 2 ? v : undefined;
    }, 30_000);
    expect(view.progress.byStatus).to.deep.equal({ canceled: 2 });
    // hawkBit ends the rollout STOPPED once only cancelling actions are left (JpaRolloutExecutor.handleStopRollout);
    // the devices' answers then close them as canceled.
    const rollout = await waitFor("rollout stopped", async () => {
      const r = await hawkbit.getRollout(c.hawkbitRolloutId!);
      return r.status === "stopped" ? r : undefined;
    }, 30_000);
    expect(rollout.status).to.equal("stopped");
    for (const d of held) {
      const actions = await waitFor(`${d.controllerId}'s action canceled in hawkBit`, async () => {
        const list = (await hawkbit.listTargetActions(d.controllerId, { sort: "id:ASC" })).content;
        return list.every((a) => !isOpen(a)) ? list : undefined;
      }, 30_000);
      expect(actions.map((a) => [a.status, isOpen(a)])).to.deep.equal([["canceled", false]]);
    }
  });

  it("cancels one device's update, counts a consent rejection as rejected, and the campaign finishes", async () => {
    // Never answers the consent question (its user is away): its action waits for confirmation until cancelled.
    const toCancel = await device("end-one-cancel", { holdDeployments: true });
    const rejecting = await device("end-one-reject", { consent: "reject" });
    const accepting = await device("end-one-accept", { consent: "accept" });
    await waitFor("registration", async () => ((await api.devices()).total >= 5 ? true : undefined), 20_000);
    const c = await api.request<{ id: string }>("POST", "/api/v1/campaigns", { name: "end-one", releaseId, targetFilter: "controllerId==end-one-*", groups: 1, consentRequired: true, start: true });
    await waitFor("the held device asked for consent", async () => toCancel.notices[0], 30_000);

    // Refused for a device that is not in the campaign, and for a campaign id that does not exist.
    const missing = await api.request("POST", `/api/v1/campaigns/${c.id}/devices/end-stop-1/cancel`).then(() => undefined, (e: { status: number }) => e);
    expect(missing?.status).to.equal(404);

    const answer = await api.request<{ controllerId: string; actionId: number; status: string }>("POST", `/api/v1/campaigns/${c.id}/devices/end-one-cancel/cancel`);
    expect(answer).to.deep.include({ controllerId: "end-one-cancel", status: "canceling" });
    const cancel = await waitFor("the device told to cancel", async () => toCancel.cancels[0], 30_000);
    expect(cancel.actionId).to.equal(answer.actionId);

    const finished = await campaignStatus(c.id, "finished", 90_000);
    expect(finished.progress.byStatus).to.deep.equal({ canceled: 1, rejected: 1, success: 1 });
    const byDevice = Object.fromEntries(finished.devices.map((d) => [d.controllerId, d.status]));
    expect(byDevice).to.deep.equal({ "end-one-cancel": "canceled", "end-one-reject": "rejected", "end-one-accept": "success" });
    // The rejecting device was never asked again nor told to cancel; its action is closed in hawkBit.
    expect(rejecting.cancels).to.deep.equal([]);
    const [rejected] = (await hawkbit.listTargetActions("end-one-reject", { sort: "id:ASC" })).content;
    expect(isOpen(rejected!)).to.equal(false);
    expect(accepting.outcomes.map((o) => o.status)).to.deep.equal(["success"]);
  });

  it("sent hawkBit only conformant requests", () => hawkbitServer.assertConformant());
});
