// The health gate through the real MQTT path: devices report post-boot health to the bridge, and the
// campaign starts its next group only after the canary group stayed healthy for the soak time — or
// holds, naming the device, when a canary reports unhealthy (also one that rolled back and reported failure).
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

const SOAK_SECONDS = 3;

describe("health-gated groups over MQTT", function () {
  this.timeout(180_000);
  let test: TestStack;
  let db: pg.Client;
  const devices = new Map<string, SimulatedDevice>();

  async function release(version: string): Promise<string> {
    const image = randomBytes(2048);
    const artifact = await test.api.uploadArtifact(`gate-${version}.swu`, image, image.length);
    await test.api.signArtifact(artifact.id);
    return (await test.api.createRelease({ name: "gate-os", version, artifacts: [artifact.id] })).id;
  }

  function gatedCampaign(name: string, releaseId: string, prefix: string) {
    return test.api.request<{ id: string }>("POST", "/api/v1/campaigns", {
      name,
      releaseId,
      targetFilter: `controllerId==${prefix}-*`,
      groups: [
        { name: "canary", selection: "ring==canary", percentage: 100 },
        { name: "main", percentage: 100 },
      ],
      healthGate: { soakSeconds: SOAK_SECONDS },
      start: true,
    });
  }

  before(async () => {
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
    db = new pg.Client({ connectionString: test.stack.databaseUrl });
    await db.connect();
    const keyring = await test.keyring();
    const fleet: [string, string, boolean, boolean?][] = [
      ["gate-1", "canary", true], ["gate-2", "canary", true], ["gate-3", "main", true], ["gate-4", "main", true],
      ["hold-1", "canary", false], ["hold-2", "main", true],
      ["roll-1", "canary", true], ["roll-2", "canary", false, true], ["roll-3", "main", true],
    ];
    for (const [controllerId, ring, healthy, rollback] of fleet) {
      const device = new SimulatedDevice({ controllerId, mqttUrl: test.stack.endpoints.mqtt, keyring, healthy, rollback, attributes: { ring }, token: await test.deviceToken(controllerId) });
      await device.start();
      devices.set(controllerId, device);
    }
    await waitFor("registration", async () => ((await test.api.devices()).total === fleet.length ? true : undefined), 30_000);
  });

  after(async () => {
    for (const device of devices.values()) await device.stop();
    await db?.end();
    await test?.stop();
  });

  it("starts the main group only after the canaries stayed healthy for the soak time", async () => {
    const campaign = await gatedCampaign("gated", await release("2.0.0"), "gate");
    await waitFor("campaign finished", async () => ((await test.api.campaign(campaign.id)).status === "finished" ? true : undefined), 120_000);

    const health = await db.query<{ controller: string; at: Date }>(
      `SELECT d.controller_id AS controller, a.at FROM audit_events a JOIN devices d ON a.subject = 'device:' || d.id WHERE a.action = 'device.health'`,
    );
    const canaryHealthy = Math.max(...health.rows.filter((r) => ["gate-1", "gate-2"].includes(r.controller)).map((r) => r.at.getTime()));
    const mainNotified = await db.query<{ created_at: Date }>(
      `SELECT a.created_at FROM device_actions a JOIN devices d ON a.device_id = d.id WHERE d.controller_id IN ('gate-3', 'gate-4') AND a.campaign_id = $1`,
      [campaign.id],
    );
    expect(mainNotified.rows).to.have.length(2);
    for (const row of mainNotified.rows) expect(row.created_at.getTime() - canaryHealthy).to.be.at.least(SOAK_SECONDS * 1000);
    for (const id of ["gate-1", "gate-2", "gate-3", "gate-4"]) expect(devices.get(id)!.outcomes.map((o) => o.status), id).to.deep.equal(["success"]);
  });

  it("holds the campaign and names the canary that reported unhealthy", async () => {
    const campaign = await gatedCampaign("held", await release("2.1.0"), "hold");
    const held = await waitFor("the campaign to hold", async () => {
      const view = await test.api.request<{ status: string; statusReason: string | null }>("GET", `/api/v1/campaigns/${campaign.id}`);
      return view.statusReason?.includes("hold-1") ? view : undefined;
    }, 60_000);
    expect(held.status).to.equal("paused");
    // Well past the soak time, the main group has still not been told anything.
    await new Promise((resolve) => setTimeout(resolve, (SOAK_SECONDS + 2) * 1000));
    expect(devices.get("hold-2")!.notices).to.deep.equal([]);
    expect(devices.get("hold-1")!.outcomes.map((o) => o.status)).to.deep.equal(["success"]);
  });
  it("holds on a canary that rolled back, even when the rest of its group reached the success threshold", async () => {
    // successThreshold 50: the healthy canary alone reaches it; errorThreshold 100: hawkBit never pauses on errors.
    // The rolled-back canary's failure must not be left to the error threshold: it reported unhealthy.
    const campaign = await test.api.request<{ id: string }>("POST", "/api/v1/campaigns", {
      name: "rolled-back", releaseId: await release("2.2.0"), targetFilter: "controllerId==roll-*",
      groups: [{ name: "canary", selection: "ring==canary", percentage: 100 }, { name: "main", percentage: 100 }],
      healthGate: { soakSeconds: SOAK_SECONDS }, successThreshold: 50, errorThreshold: 100, start: true,
    });
    const held = await waitFor("the campaign to hold", async () => {
      const view = await test.api.request<{ status: string; pausedBy: string | null; statusReason: string | null }>("GET", `/api/v1/campaigns/${campaign.id}`);
      return view.statusReason?.includes("roll-2") ? view : undefined;
    }, 60_000);
    expect(held).to.include({ status: "paused", pausedBy: "health-gate" });
    expect(held.statusReason).to.include("reported unhealthy");
    await new Promise((resolve) => setTimeout(resolve, (SOAK_SECONDS + 2) * 1000));
    expect(devices.get("roll-3")!.notices).to.deep.equal([]);
    expect(devices.get("roll-1")!.outcomes.map((o) => o.status)).to.deep.equal(["success"]);
    expect(devices.get("roll-2")!.outcomes.map((o) => o.status)).to.deep.equal(["failure"]);
  });
});
