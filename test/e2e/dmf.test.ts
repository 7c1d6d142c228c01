// Aerie on hawkBit's DMF instead of DDI (HAWKBIT_DMF_URL): MQTT devices register as DMF things, a campaign's
// actions are pushed to Aerie over a real RabbitMQ, the devices' reports go back as UPDATE_ACTION_STATUS, and
// the bridge sends hawkBit not one per-device HTTP request (a proxy in front of hawkBit sees every request).
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import pg from "pg";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { type HawkbitStandin, startHawkbitStandin } from "../../infrastructure/hawkbit-standin/index.js";
import { type RabbitMq, startRabbitMq } from "../../infrastructure/rabbitmq/launcher.js";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { tempDir } from "../helpers/env.js";
import { type HawkbitProxy, startHawkbitProxy } from "../helpers/hawkbit-proxy.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

const HAWKBIT = { username: "aerie", password: "dmf-secret", gatewayToken: "unused-with-dmf", tenant: "DEFAULT" };

describe("Aerie over hawkBit DMF (RabbitMQ)", function () {
  this.timeout(180_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let rabbit: RabbitMq;
  let standin: HawkbitStandin;
  let proxy: HawkbitProxy;
  let test: TestStack;
  const devices: SimulatedDevice[] = [];
  /** While true, the proxy answers hawkBit's action listing 503: only what DMF pushes can reach the devices. */
  let listingDown = false;

  before(async () => {
    dir = await tempDir("aerie-e2e-dmf-");
    rabbit = await startRabbitMq({ dir: `${dir.path}/rabbitmq`, vhost: "hawkbit" });
    standin = await startHawkbitStandin({ dataDir: `${dir.path}/hawkbit`, ...HAWKBIT, schedulerIntervalMs: 200, dmfUrl: rabbit.url });
    proxy = await startHawkbitProxy(standin.url, {
      refuse: (method, url) => (listingDown && method === "GET" && url.startsWith("/rest/v1/actions") ? { status: 503, reason: "action listing down (test)" } : undefined),
    });
    test = await startTestStack({
      HAWKBIT_URL: proxy.url, HAWKBIT_USERNAME: HAWKBIT.username, HAWKBIT_PASSWORD: HAWKBIT.password, HAWKBIT_GATEWAY_TOKEN: HAWKBIT.gatewayToken,
      HAWKBIT_TENANT: HAWKBIT.tenant, HAWKBIT_DMF_URL: rabbit.url, AERIE_BRIDGE_SYNC_MS: "300",
    });
  });

  after(async () => {
    for (const device of devices) await device.stop().catch(() => undefined);
    await test?.stop();
    await proxy?.close();
    await standin?.close();
    await rabbit?.stop();
    await dir?.remove();
  });

  it("runs a campaign to finished with every device reached over DMF and no DDI request", async () => {
    const { api, stack } = test;
    const ids = ["dmf-1", "dmf-2", "dmf-3"];
    for (const controllerId of ids) {
      const device = new SimulatedDevice({ controllerId, mqttUrl: stack.endpoints.mqtt, keyring: await test.keyring(), token: await test.deviceToken(controllerId) });
      devices.push(device);
      await device.start();
    }
    const mgmt = new HawkbitManagementClient({ baseUrl: standin.url, username: HAWKBIT.username, password: HAWKBIT.password });
    for (const controllerId of ids) {
      const target = await waitFor(`${controllerId} registered over DMF`, async () => (await mgmt.getTarget(controllerId).catch(() => undefined)), 30_000);
      expect(target.address).to.equal("amqp://hawkbit/aerie.dmf");
    }

    const image = randomBytes(4096);
    const artifact = await api.uploadArtifact("dmf.swu", image, image.length);
    await api.signArtifact(artifact.id);
    const release = await api.createRelease({ name: "dmf-os", version: "2.0.0", artifacts: [artifact.id] });
    const campaign = await api.createCampaign({ name: "dmf", releaseId: release.id, targetFilter: "controllerId==dmf-*", groups: 2, start: true });
    const finished = await waitFor("the campaign to finish", async () => {
      const c = await api.campaign(campaign.id);
      return c.status === "finished" ? c : undefined;
    }, 60_000).catch(async (error) => {
      console.log("campaign did not finish; campaign", JSON.stringify(await api.campaign(campaign.id)).slice(0, 1500));
      console.log("campaign did not finish; notices", devices.map((d) => d.notices.length));
      console.log("campaign did not finish; actions", JSON.stringify((await mgmt.listActions({ limit: 50 })).content.map((a) => [a.id, a.status])));
      console.log("campaign did not finish; requests", JSON.stringify(proxy.requests.slice(-30)));
      console.log("campaign did not finish; open actions", JSON.stringify((await mgmt.listActions({ q: "active==true", limit: 50 })).content.map((a) => [a.id, a.status, a.active, a._links?.target])));
      console.log("campaign did not finish; Aerie devices", JSON.stringify(await api.devices()).slice(0, 800));
      throw error;
    });
    expect(finished.status).to.equal("finished");
    for (const device of devices) expect(device.notices.map((n) => n.release.version)).to.include("2.0.0");
    for (const controllerId of ids) expect((await mgmt.getTarget(controllerId)).updateStatus).to.equal("in_sync");

    const ddi = proxy.requests.filter((r) => r.url.includes("/controller/v1/"));
    expect(ddi, "DDI requests through the proxy").to.deep.equal([]);
    expect(proxy.requests.length, "Management API requests").to.be.greaterThan(0);
  });

  it("announces what hawkBit pushes without waiting for the Management listing, and links it to its campaign later", async () => {
    const { api, stack } = test;
    const image = randomBytes(4096);
    const artifact = await api.uploadArtifact("dmf-3.swu", image, image.length);
    await api.signArtifact(artifact.id);
    const release = await api.createRelease({ name: "dmf-os", version: "3.0.0", artifacts: [artifact.id] });
    const listing = (r: { method: string; url: string }) => r.method === "GET" && r.url.startsWith("/rest/v1/actions");
    const refusedBefore = proxy.refused.length;
    const requestsBefore = proxy.requests.length;
    listingDown = true;
    let campaignId: string;
    try {
      const campaign = await api.createCampaign({ name: "dmf-push", releaseId: release.id, targetFilter: "controllerId==dmf-*", groups: 1, start: true });
      campaignId = campaign.id;
      await waitFor("every device's notice of 3.0.0 with the listing down", async () =>
        devices.every((d) => d.notices.some((n) => n.release.version === "3.0.0")) || undefined, 60_000);
      // Every listing asked for meanwhile (if any: the bridge puts it off while pushes arrive) was refused.
      const asked = proxy.requests.slice(requestsBefore).filter(listing).length;
      const refused = proxy.refused.slice(refusedBefore).filter(listing).length;
      expect(asked - refused, "action listings answered while the notices went out").to.equal(0);
    } finally {
      listingDown = false;
    }
    const finished = await waitFor("the campaign to finish", async () => {
      const c = await api.campaign(campaignId);
      return c.status === "finished" ? c : undefined;
    }, 60_000);
    expect(finished.status).to.equal("finished");
    const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 1 });
    try {
      const linked = await waitFor("the pushed actions linked to their campaign", async () => {
        const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM device_actions WHERE campaign_id = $1", [campaignId]);
        return Number(rows[0]!.n) === devices.length ? Number(rows[0]!.n) : undefined;
      }, 30_000);
      expect(linked).to.equal(devices.length);
    } finally {
      await pool.end();
    }
    expect(proxy.requests.filter((r) => r.url.includes("/controller/v1/")), "DDI requests").to.deep.equal([]);
  });

  it("with hawkBit's batch assignments: one message reaches every device with its own links; consent campaigns are refused", async () => {
    const { api, stack } = test;
    const mgmt = new HawkbitManagementClient({ baseUrl: standin.url, username: HAWKBIT.username, password: HAWKBIT.password });
    await mgmt.setTenantConfig("batch.assignments.enabled", true);
    try {
      const image = randomBytes(4096);
      const artifact = await api.uploadArtifact("dmf-4.swu", image, image.length);
      await api.signArtifact(artifact.id);
      const release = await api.createRelease({ name: "dmf-os", version: "4.0.0", artifacts: [artifact.id] });

      // hawkBit would send BATCH_DOWNLOAD_AND_INSTALL, never CONFIRM: devices would install unasked.
      const response = await fetch(`${stack.endpoints.api}/api/v1/campaigns`, {
        method: "POST", headers: { authorization: `Bearer ${test.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "dmf-batch-consent", releaseId: release.id, targetFilter: "controllerId==dmf-*", groups: 1, consentRequired: true, start: true }),
      });
      expect(response.status).to.equal(409);
      expect(((await response.json()) as { error: { message: string } }).error.message).to.match(/^consentRequired: .*batch\.assignments\.enabled/);
      expect((await api.request<{ name: string }[]>("GET", "/api/v1/campaigns")).map((c) => c.name)).not.to.include("dmf-batch-consent");

      const campaign = await api.createCampaign({ name: "dmf-batch", releaseId: release.id, targetFilter: "controllerId==dmf-*", groups: 1, start: true });
      const finished = await waitFor("the batch campaign to finish", async () => {
        const c = await api.campaign(campaign.id);
        return c.status === "finished" ? c : undefined;
      }, 60_000);
      expect(finished.status).to.equal("finished");
      for (const device of devices) {
        const notice = device.notices.find((n) => n.release.version === "4.0.0")!;
        const link = notice.artifacts[0]!.offers.find((o) => o.scheme === "hawkbit-ddi")!.url;
        expect(link).to.include(`/controller/v1/${device.controllerId}/`);
      }
    } finally {
      await mgmt.setTenantConfig("batch.assignments.enabled", false);
    }
  });

  it("stops listing hawkBit's actions once nothing is open: pushes tell it everything", async () => {
    const listings = () => proxy.requests.filter((r) => r.method === "GET" && r.url.startsWith("/rest/v1/actions")).length;
    // The sync interval is 300 ms here: a bridge that still listed would do so several times in any 3 s.
    const quiet = await waitFor("3 s without an action listing", async () => {
      const before = listings();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      return listings() === before ? true : undefined;
    }, 60_000);
    expect(quiet).to.equal(true);
  });
});
