// A mixed fleet in one campaign (issue 10, item 3): a DDI-native device, Debian's real `swupdate` in suricatta mode
// polling hawkBit with its own target token, and MQTT devices behind Aerie's bridge, all in one hawkBit rollout
// made by one Aerie campaign. One .swu serves both: CMS-signed (swupdate checks it against its CA) and signed by
// Aerie's Vault key (the MQTT devices check that). The campaign finishes with every device counted: hawkBit's
// rollout counts all three finished, Aerie's per-device progress the MQTT devices it serves.
import { expect } from "chai";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { loadConfig } from "../../core/config.js";
import { startAerie, type AerieStack } from "../../core/stack.js";
import { AerieClient, waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { freePort, tempDir } from "../helpers/env.js";
import { CREDENTIALS, startConformantStandin, TEST_TENANT_CONFIG, type ConformantStandin } from "../helpers/hawkbit-conformance.js";
import { createTestPki, opensslAvailable } from "../helpers/pki.js";
import { available, localSigner, Suricatta, suricattaRelease } from "../helpers/suricatta.js";

const DDI_DEVICE = "mix-ddi-1";
const DDI_TOKEN = "00112233445566778899aabbccddeeff";
const MQTT_DEVICES = ["mix-mqtt-1", "mix-mqtt-2"];

describe("mixed fleet: a real suricatta device and MQTT devices in one campaign", function () {
  this.timeout(300_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let hawkbitServer: ConformantStandin;
  let stack: AerieStack | undefined;
  let suricatta: Suricatta | undefined;
  const devices: SimulatedDevice[] = [];

  before(async function () {
    if (!(await available("swupdate")) || !(await opensslAvailable())) this.skip();
    dir = await tempDir("aerie-mixed-");
    // The tenant as an operator of a mixed fleet sets it: target tokens for DDI-native devices (Aerie switches the
    // gateway token on itself; the test preset only keeps the helper's usual key).
    hawkbitServer = await startConformantStandin({ schedulerIntervalMs: 200, tenantConfig: { ...TEST_TENANT_CONFIG, "authentication.targettoken.enabled": true } });
    const config = loadConfig({
      HAWKBIT_URL: hawkbitServer.url,
      HAWKBIT_USERNAME: CREDENTIALS.username,
      HAWKBIT_PASSWORD: CREDENTIALS.password,
      HAWKBIT_GATEWAY_TOKEN: CREDENTIALS.gatewayToken,
      HAWKBIT_TENANT: CREDENTIALS.tenant,
      AERIE_DATA_DIR: join(dir.path, "aerie"),
      AERIE_POSTGRES_PORT: String(await freePort()),
      AERIE_API_PORT: String(await freePort()),
      AERIE_MQTT_PORT: String(await freePort()),
      AERIE_S3_PORT: String(await freePort()),
      AERIE_VAULT_PORT: String(await freePort()),
      AERIE_BRIDGE_SYNC_MS: "300",
    });
    stack = await startAerie(config);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && suricatta) console.log(suricatta.output.slice(-6000)); // eslint-disable-line no-console
  });

  after(async () => {
    await suricatta?.stop();
    for (const d of devices) await d.stop().catch(() => undefined);
    await stack?.stop();
    await hawkbitServer?.dispose();
    await dir?.remove();
  });

  it("finishes one rollout over both kinds of device, every device counted", async () => {
    const api = new AerieClient(stack!.endpoints.api, stack!.adminToken);
    const mgmt = new HawkbitManagementClient({ baseUrl: hawkbitServer.url, username: CREDENTIALS.username, password: CREDENTIALS.password });

    // MQTT devices behind the bridge.
    const keyring = new Map((await api.keyring()).keys.map((k) => [k.version, k.pem] as const));
    for (const controllerId of MQTT_DEVICES) {
      const d = new SimulatedDevice({ controllerId, mqttUrl: stack!.endpoints.mqtt, keyring, token: await api.issueDeviceToken(controllerId) });
      await d.start();
      devices.push(d);
    }
    await waitFor("MQTT devices registered", async () => ((await api.devices()).total === MQTT_DEVICES.length ? true : undefined), 30_000);

    // The DDI-native device: registered in hawkBit by the operator with its target token; swupdate polls on its own.
    await mgmt.createTargets([{ controllerId: DDI_DEVICE, name: DDI_DEVICE, securityToken: DDI_TOKEN }]);
    const pkiDir = join(dir.path, "pki");
    await mkdir(pkiDir);
    const pki = await createTestPki(pkiDir);
    const trustFile = join(dir.path, "trust.pem");
    await writeFile(trustFile, pki.trustPem);
    const slot = join(dir.path, "slot-b.img");
    await writeFile(slot, Buffer.alloc(64 * 1024));
    const { swu, image } = await suricattaRelease(dir.path, "3.0.0", slot, await localSigner(pki, pkiDir));
    suricatta = new Suricatta(dir.path, hawkbitServer.url, trustFile, DDI_DEVICE, DDI_TOKEN);
    suricatta.start();

    // One release, one campaign over all three.
    const artifact = await api.uploadArtifact("release-3.0.0.swu", swu, swu.length);
    await api.signArtifact(artifact.id);
    const release = await api.createRelease({ name: "mix-os", version: "3.0.0", artifacts: [artifact.id] });
    const campaign = await api.createCampaign({ name: "mixed-fleet", releaseId: release.id, targetFilter: "controllerId==mix-*", groups: 1, start: true });

    // swupdate installs into its slot and holds the update until restarted; the restart (-c 2) confirms it.
    await waitFor("the image in suricatta's slot", async () => ((await readFile(slot)).equals(image) ? true : undefined), 120_000);
    await waitFor("swupdate waiting for the restart", async () => (suricatta!.output.includes("pending testing") ? true : undefined), 60_000);
    await suricatta.stop();
    suricatta.start(["-c", "2"]);

    const finished = await waitFor("campaign finished", async () => {
      const view = await api.campaign(campaign.id);
      return view.status === "finished" ? view : undefined;
    }, 120_000);
    const rollout = (finished as unknown as { rollout: { totalTargets: number; byStatus: Record<string, number> } }).rollout;
    expect(rollout.totalTargets, "hawkBit's rollout holds all three").to.equal(3);
    expect(rollout.byStatus.finished, "every device counted finished by hawkBit").to.equal(3);
    expect(finished.progress.byStatus, "Aerie's per-device progress: the MQTT devices it serves").to.deep.equal({ success: MQTT_DEVICES.length });
    for (const d of devices) expect(d.outcomes.map((o) => o.status)).to.deep.equal(["success"]);
    const [ddiAction] = (await mgmt.listTargetActions(DDI_DEVICE, { sort: "id:ASC" })).content;
    expect(ddiAction).to.include({ active: false, status: "finished", rollout: campaign.hawkbitRolloutId });
    expect((await mgmt.getTarget(DDI_DEVICE)).updateStatus).to.equal("in_sync");
    await suricatta.stop();
  });

  it("sent hawkBit only conformant requests", () => hawkbitServer.assertConformant());
});
