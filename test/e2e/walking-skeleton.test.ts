// The walking skeleton end to end, on the real embedded stack: devices on MQTT, Aerie's API,
// Vault stand-in, S3 (s3rver) and PostgreSQL, and the hawkBit stand-in run as an external hawkBit in
// conformance mode, so every call Aerie makes is checked against hawkBit's official OpenAPI specs.
// Then a restart on the same data.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { loadConfig, type AerieConfig } from "../../core/config.js";
import { startAerie, type AerieStack } from "../../core/stack.js";
import { AerieApiError, AerieClient, waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { freePort, tempDir } from "../helpers/env.js";
import { CREDENTIALS, startConformantStandin, type ConformantStandin } from "../helpers/hawkbit-conformance.js";

const DEVICE_COUNT = 4;

async function expectApiError(promise: Promise<unknown>, status: number, messagePart?: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(AerieApiError);
    const apiError = error as AerieApiError;
    expect(apiError.status, JSON.stringify(apiError.body)).to.equal(status);
    if (messagePart) expect(JSON.stringify(apiError.body)).to.contain(messagePart);
    return;
  }
  expect.fail(`expected HTTP ${status}`);
}

describe("walking skeleton: one update end to end over MQTT", function () {
  this.timeout(180_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let hawkbitServer: ConformantStandin;
  let config: AerieConfig;
  let stack: AerieStack | undefined;
  let api: AerieClient;
  const devices: SimulatedDevice[] = [];
  let campaignId: string;
  let releaseId: string;

  async function start(): Promise<void> {
    stack = await startAerie(config);
    api = new AerieClient(stack.endpoints.api, stack.adminToken);
  }

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
    await start();
  });

  after(async () => {
    for (const device of devices) await device.stop().catch(() => undefined);
    await stack?.stop();
    await hawkbitServer?.dispose();
    await dir.remove();
  });

  it("reports every dependency ready", async () => {
    const response = await fetch(`${stack!.endpoints.api}/readyz`);
    const body = await response.json();
    expect(response.status, JSON.stringify(body)).to.equal(200);
    expect(Object.keys(body.dependencies).sort()).to.deep.equal(["hawkbit", "mqtt", "postgres", "s3", "vault"]);
  });

  it("registers devices that say hello, in Postgres and in hawkBit", async () => {
    const keyring = new Map((await api.keyring()).keys.map((k) => [k.version, k.pem] as const));
    for (let i = 1; i <= DEVICE_COUNT; i++) {
      const token = await api.issueDeviceToken(`e2e-${i}`);
      const device = new SimulatedDevice({ controllerId: `e2e-${i}`, mqttUrl: stack!.endpoints.mqtt, keyring, telemetryIntervalMs: 100, secondaryIds: { vin: `VIN${i}` }, token });
      await device.start();
      devices.push(device);
    }
    await waitFor("registration", async () => ((await api.devices()).total === DEVICE_COUNT ? true : undefined), 20_000);
    const hawkbit = new HawkbitManagementClient({ baseUrl: stack!.hawkbit.url, username: stack!.hawkbit.username, password: stack!.hawkbit.password });
    const target = await waitFor("target attributes in hawkBit", async () => {
      const attributes = await hawkbit.getTargetAttributes("e2e-1").catch(() => undefined);
      return attributes?.updateClient ? attributes : undefined;
    });
    expect(target).to.include({ updateClient: "swupdate", "version.rootfs": "1.0.0" });
  });

  it("rolls a signed release out in two groups until the campaign is finished", async () => {
    const image = randomBytes(512 * 1024 + 3);
    const artifact = await api.uploadArtifact("rootfs-2.0.0.swu", image, image.length);
    expect(artifact.size).to.equal(image.length);
    expect(artifact.sha256).to.equal((await import("node:crypto")).createHash("sha256").update(image).digest("hex"));
    const signature = await api.signArtifact(artifact.id);
    expect(signature.keyVersion).to.equal(1);

    const release = await api.createRelease({ name: "e2e-os", version: "2.0.0", artifacts: [artifact.id] });
    releaseId = release.id;
    expect(release.hawkbitDistributionSetId).to.be.a("number");
    const campaign = await api.createCampaign({ name: "e2e-campaign", releaseId: release.id, targetFilter: "controllerId==e2e-*", groups: 2, start: true });
    campaignId = campaign.id;

    const finished = await waitFor("campaign finished", async () => {
      const view = await api.campaign(campaign.id);
      return view.status === "finished" ? view : undefined;
    }, 90_000);
    expect(finished.devices.map((d) => d.controllerId).sort()).to.deep.equal(devices.map((d) => d.controllerId).sort());
    expect(finished.devices.every((d) => d.status === "success")).to.equal(true);
    expect(finished.progress.byStatus).to.deep.equal({ success: DEVICE_COUNT });
    // Every device checked size, sha256 and the Vault signature before it reported success.
    for (const device of devices) {
      expect(device.outcomes).to.deep.equal([{ actionId: device.outcomes[0]!.actionId, status: "success", version: "2.0.0" }]);
    }

    const hawkbit = new HawkbitManagementClient({ baseUrl: stack!.hawkbit.url, username: stack!.hawkbit.username, password: stack!.hawkbit.password });
    const rollout = await hawkbit.getRollout(finished.hawkbitRolloutId!);
    expect(rollout.status).to.equal("finished");
    const groups = (await hawkbit.listRolloutGroups(rollout.id)).content;
    expect(groups).to.have.length(2);
    expect(groups.every((g) => g.status === "finished")).to.equal(true);
    for (const device of devices) {
      const actions = (await hawkbit.listTargetActions(device.controllerId)).content;
      expect(actions.map((a) => a.status)).to.deep.equal(["finished"]);
    }
  });

  it("stores telemetry once per message in Postgres and counts it in /metrics", async () => {
    // The same message delivered again (at-least-once: same messageId, same ts) must not become a second row.
    const duplicateId = `e2e-1-duplicate-${Date.now()}`;
    const message = JSON.stringify({ messageId: duplicateId, ts: new Date().toISOString(), metrics: { temperature: 41 } });
    await devices[0]!.publishRaw("aerie/v1/devices/e2e-1/telemetry", message);
    await devices[0]!.publishRaw("aerie/v1/devices/e2e-1/telemetry", message);

    const client = new pg.Client({ connectionString: stack!.databaseUrl });
    await client.connect();
    try {
      const rows = await waitFor("telemetry rows", async () => {
        const result = await client.query("SELECT count(*)::int AS n, count(DISTINCT (controller_id, message_id))::int AS unique FROM telemetry");
        return result.rows[0].n > 0 && (await client.query("SELECT 1 FROM telemetry WHERE message_id = $1", [duplicateId])).rowCount ? result.rows[0] : undefined;
      });
      expect(rows.n).to.equal(rows.unique);
      const copies = await client.query("SELECT count(*)::int AS n FROM telemetry WHERE message_id = $1", [duplicateId]);
      expect(copies.rows[0].n).to.equal(1);
    } finally {
      await client.end();
    }
    const metrics = await api.metrics();
    expect(Number(/^aerie_telemetry_rows_total (\d+)/m.exec(metrics)?.[1])).to.be.greaterThan(0);
    expect(Number(/^aerie_bridge_deployments_sent_total (\d+)/m.exec(metrics)?.[1])).to.be.at.least(DEVICE_COUNT);
    expect(metrics).to.match(/^aerie_bridge_feedback_relayed_total\{status="success"\} 4$/m);
  });

  it("keeps malformed device messages as dead letters and goes on", async () => {
    await devices[1]!.publishRaw("aerie/v1/devices/e2e-2/telemetry", "{not json");
    await devices[1]!.publishRaw("aerie/v1/devices/e2e-2/feedback", JSON.stringify({ messageId: "x", actionId: "seven", status: "success" }));
    const client = new pg.Client({ connectionString: stack!.databaseUrl });
    await client.connect();
    try {
      const reasons = await waitFor("dead letters", async () => {
        const rows = (await client.query("SELECT reason FROM dead_letters ORDER BY id")).rows.map((r) => r.reason as string);
        return rows.length >= 2 ? rows : undefined;
      });
      // Dead letters are written as they come, not in a guaranteed order.
      expect(reasons.some((r) => r.startsWith("not-json"))).to.equal(true);
      expect(reasons).to.include("schema: /actionId must be integer");
    } finally {
      await client.end();
    }
    expect((await fetch(`${stack!.endpoints.api}/readyz`)).status).to.equal(200);
  });

  it("answers bad requests with 4xx and a reason, storing nothing", async () => {
    await expectApiError(api.uploadArtifact("bad name with spaces", Buffer.from("x")), 400, "filename");
    const bytes = Buffer.from("some image");
    const wrong = await fetch(`${stack!.endpoints.api}/api/v1/artifacts?filename=a.swu&sha256=${"0".repeat(64)}`, { method: "POST", body: bytes, headers: { "content-type": "application/octet-stream", ...api.authorization } });
    expect(wrong.status).to.equal(400);
    expect((await wrong.json()).error.message).to.contain("sha256 mismatch");
    await expectApiError(api.createRelease({ name: "x", version: "1", artifacts: ["00000000-0000-4000-8000-000000000000"] }), 404, "artifact");
    await expectApiError(api.createRelease({ name: "e2e-os", version: "2.0.0", artifacts: ["00000000-0000-4000-8000-000000000000"] }), 409, "exists already");
    await expectApiError(api.request("POST", "/api/v1/releases", { name: "x" }), 400, "must have required property 'version'");
    await expectApiError(api.createCampaign({ name: "c", releaseId: "00000000-0000-4000-8000-000000000000", targetFilter: "id==1" }), 404, "release");
    await expectApiError(api.request("POST", `/api/v1/campaigns/${campaignId}/start`), 409, "finished");
    await expectApiError(api.request("GET", "/api/v1/campaigns/not-a-uuid"), 400, "UUID");
    const client = new pg.Client({ connectionString: stack!.databaseUrl });
    await client.connect();
    const artifacts = (await client.query("SELECT count(*)::int AS n FROM artifacts")).rows[0].n;
    await client.end();
    expect(artifacts).to.equal(1);
  });

  it("keeps devices, releases, campaigns and pending deployments across a restart", async () => {
    // A device that has not installed its deployment yet when Aerie (and its embedded broker) restart.
    const keyring = new Map((await api.keyring()).keys.map((k) => [k.version, k.pem] as const));
    const waiting = new SimulatedDevice({ controllerId: "e2e-waiting", mqttUrl: stack!.endpoints.mqtt, keyring, holdDeployments: true, token: await api.issueDeviceToken("e2e-waiting") });
    await waiting.start();
    devices.push(waiting);
    await waitFor("the waiting device to register", async () => ((await api.devices()).total === DEVICE_COUNT + 1 ? true : undefined), 20_000);
    const image = randomBytes(1024);
    const artifact = await api.uploadArtifact("rootfs-3.0.0.swu", image, image.length);
    await api.signArtifact(artifact.id);
    const release = await api.createRelease({ name: "e2e-os", version: "3.0.0", artifacts: [artifact.id] });
    const pending = await api.createCampaign({ name: "e2e-pending", releaseId: release.id, targetFilter: "controllerId==e2e-waiting", groups: 1, start: true });
    const first = await waitFor("the deployment notice", async () => waiting.notices[0]);

    for (const device of devices) if (device !== waiting) await device.stop();
    await stack!.stop();
    stack = undefined;
    const noticesBefore = waiting.notices.length;
    await start();

    // Nothing was kept by the broker: the notice comes again from hawkBit and Postgres, with a new URL.
    const again = await waitFor("the deployment notice after the restart", async () => waiting.notices[noticesBefore], 30_000);
    expect(again.actionId).to.equal(first.actionId);
    expect(again.release).to.deep.equal({ name: "e2e-os", version: "3.0.0" });
    expect(again.artifacts[0]!.offers[0]!.url).to.match(/X-Amz-Signature=/);

    expect((await api.devices()).total).to.equal(DEVICE_COUNT + 1);
    expect((await api.request<{ id: string }[]>("GET", "/api/v1/releases")).map((r) => r.id).sort()).to.deep.equal([releaseId, release.id].sort());
    const campaign = await api.campaign(campaignId);
    expect(campaign.status).to.equal("finished");
    expect(campaign.progress.byStatus).to.deep.equal({ success: DEVICE_COUNT });
    expect((await api.campaign(pending.id)).status).to.equal("running");
  });

  it("sent hawkBit only requests the official OpenAPI specs allow, and got only conformant answers", () => {
    hawkbitServer.assertConformant();
  });
});

