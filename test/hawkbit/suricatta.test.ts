// A hawkBit client no one here wrote: Debian's `swupdate` in suricatta mode (its hawkBit DDI client) updates a
// file-backed slot from the stand-in. The operator switches target-token authentication on through the Management
// API (hawkBit's default is off), registers the device with its token, uploads a CMS-signed .swu built by Aerie's
// signing code, and assigns it. swupdate polls, downloads, verifies the signature against the test CA, writes the
// image into the slot file and, restarted with `-c 2` (Debian's build has no bootloader to carry the state across
// the restart), reports success: the action is FINISHED and the set installed. Every DDI and Management message is
// validated against hawkBit's documents patched to 1.1.0.
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { available, localSigner, Suricatta, suricattaRelease } from "../helpers/suricatta.js";
import { tempDir } from "../helpers/env.js";
import { CREDENTIALS, type ConformantStandin, eventually, startConformantStandin } from "../helpers/hawkbit-conformance.js";
import { createTestPki, opensslAvailable } from "../helpers/pki.js";

const DEVICE = "suricatta-1";
const TOKEN = "0123456789abcdef0123456789abcdef";
const UNTRUSTED_DEVICE = "suricatta-2";
const UNTRUSTED_TOKEN = "fedcba9876543210fedcba9876543210";

const basicAuth = `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString("base64")}`;

const release = suricattaRelease;

describe("hawkBit stand-in: SWUpdate's suricatta client (real swupdate)", function () {
  this.timeout(180_000);
  let dir: { path: string; remove: () => Promise<void> };
  let standin: ConformantStandin;
  let mgmt: HawkbitManagementClient;
  let suricatta: Suricatta | undefined;

  before(async function () {
    if (!(await available("swupdate")) || !(await opensslAvailable())) this.skip();
    dir = await tempDir("aerie-suricatta-");
    // hawkBit's defaults: no DDI authentication at all until the operator turns it on.
    standin = await startConformantStandin({ tenantConfig: {} });
    mgmt = new HawkbitManagementClient({ baseUrl: standin.url, username: CREDENTIALS.username, password: CREDENTIALS.password });
  });

  afterEach(async function () {
    await suricatta?.stop();
    if (this.currentTest?.state === "failed" && suricatta) console.log(suricatta.output.slice(-6000)); // eslint-disable-line no-console
  });

  after(async () => {
    await standin?.dispose();
    await dir?.remove();
  });

  it("polls, downloads, verifies (CMS), installs into a slot file, restarts and reports success: action FINISHED", async () => {
    // Signing: a test CA (the device trusts it), and Aerie's release signer with a code-signing certificate from it.
    const pkiDir = join(dir.path, "pki");
    await mkdir(pkiDir);
    const pki = await createTestPki(pkiDir);
    const trustFile = join(dir.path, "trust.pem");
    await writeFile(trustFile, pki.trustPem);
    const slot = join(dir.path, "slot-b.img");
    await writeFile(slot, Buffer.alloc(64 * 1024));
    const { swu: swuBytes, image } = await release(dir.path, "2.0.0", slot, await localSigner(pki, pkiDir));

    // The operator: target-token authentication on (Management API), the device with its token, the release, the assignment.
    expect((await fetch(`${standin.url}/${CREDENTIALS.tenant}/controller/v1/${DEVICE}`, { headers: { Authorization: `TargetToken ${TOKEN}` } })).status,
      "no DDI authentication before the operator enables it").to.equal(401);
    await mgmt.setTenantConfig("authentication.targettoken.enabled", true);
    expect((await mgmt.getTenantConfig("authentication.targettoken.enabled")).value).to.equal(true);
    await mgmt.createTargets([{ controllerId: DEVICE, name: DEVICE, securityToken: TOKEN }]);
    const sm = await mgmt.ensureSoftwareModule({ name: "rootfs", version: "2.0.0", type: "os" });
    await mgmt.uploadArtifact(sm.id, swuBytes, { filename: "release-2.0.0.swu", sha256: createHash("sha256").update(swuBytes).digest("hex"), size: swuBytes.length });
    const ds = await mgmt.ensureDistributionSet({ name: "aerie-os", version: "2.0.0", type: "os", modules: [sm.id] });
    const assigned = await fetch(`${standin.url}/rest/v1/targets/${DEVICE}/assignedDS`, {
      method: "POST", body: JSON.stringify([{ id: ds.id, type: "forced" }]),
      headers: { Authorization: basicAuth, "Content-Type": "application/json" },
    });
    expect(assigned.status).to.equal(200);
    const actionId = ((await assigned.json()) as { assignedActions: { id: number }[] }).assignedActions[0]!.id;

    // swupdate polls, downloads, verifies and installs; it keeps the action open until it has rebooted.
    suricatta = new Suricatta(dir.path, standin.url, trustFile, DEVICE, TOKEN);
    suricatta.start();
    await eventually(async () => (await readFile(slot)).subarray(0, 20).toString("latin1"), (head) => head.startsWith("AERIE-VERSION=2.0.0"), 90_000);
    expect((await readFile(slot)).equals(image), "the slot holds the image").to.equal(true);
    const history = async () => (await (await fetch(`${standin.url}/rest/v1/targets/${DEVICE}/actions/${actionId}/status?limit=500`, {
      headers: { Authorization: basicAuth },
    })).json()) as { content: { type: string; messages: string[] }[] };
    // swupdate's feedback arrives as intermediate statuses (history only in hawkBit 1.1.0); the action stays open,
    // retrieved, and swupdate holds the update as "pending testing" until it is restarted.
    await eventually(history, (h) => h.content.some((s) => s.messages.includes("All Chunks Installed.")), 30_000);
    await eventually(async () => suricatta!.output, (out) => out.includes("pending testing"), 30_000);
    expect(await mgmt.getTargetAction(DEVICE, actionId)).to.include({ active: true, status: "retrieved" });

    // The restart: swupdate comes back and confirms the update (-c 2 = SUCCESS), as after a reboot into the new slot.
    await suricatta.stop();
    suricatta.start(["-c", "2"]);
    const action = await eventually(() => mgmt.getTargetAction(DEVICE, actionId), (a) => a.status === "finished", 60_000);
    expect(action).to.include({ active: false, status: "finished" });
    const target = await mgmt.getTarget(DEVICE);
    expect(target.updateStatus).to.equal("in_sync");
    const installed = await fetch(`${standin.url}/rest/v1/targets/${DEVICE}/installedDS`, { headers: { Authorization: basicAuth } });
    expect(((await installed.json()) as { id: number }).id).to.equal(ds.id);
    // Polling goes on against the finished installation, with nothing left to do.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await mgmt.getTargetAction(DEVICE, actionId)).status).to.equal("finished");
    await suricatta.stop();
    standin.assertConformant();
  });

  it("refuses a release signed by a key the device does not trust: action ERROR, slot untouched", async () => {
    const trusted = join(dir.path, "pki-trusted");
    const rogue = join(dir.path, "pki-rogue");
    await mkdir(trusted);
    await mkdir(rogue);
    const trustFile = join(dir.path, "trust-2.pem");
    await writeFile(trustFile, (await createTestPki(trusted)).trustPem);
    const slot = join(dir.path, "slot-c.img");
    await writeFile(slot, Buffer.alloc(64 * 1024));
    const { swu } = await release(dir.path, "6.6.6", slot, await localSigner(await createTestPki(rogue), rogue));

    await mgmt.setTenantConfig("authentication.targettoken.enabled", true);
    await mgmt.createTargets([{ controllerId: UNTRUSTED_DEVICE, name: UNTRUSTED_DEVICE, securityToken: UNTRUSTED_TOKEN }]);
    const sm = await mgmt.ensureSoftwareModule({ name: "rootfs", version: "6.6.6", type: "os" });
    await mgmt.uploadArtifact(sm.id, swu, { filename: "release-6.6.6.swu", sha256: createHash("sha256").update(swu).digest("hex"), size: swu.length });
    const ds = await mgmt.ensureDistributionSet({ name: "aerie-os", version: "6.6.6", type: "os", modules: [sm.id] });
    const assigned = await fetch(`${standin.url}/rest/v1/targets/${UNTRUSTED_DEVICE}/assignedDS`, {
      method: "POST", body: JSON.stringify([{ id: ds.id, type: "forced" }]), headers: { Authorization: basicAuth, "Content-Type": "application/json" },
    });
    const actionId = ((await assigned.json()) as { assignedActions: { id: number }[] }).assignedActions[0]!.id;

    suricatta = new Suricatta(dir.path, standin.url, trustFile, UNTRUSTED_DEVICE, UNTRUSTED_TOKEN);
    suricatta.start();
    const action = await eventually(() => mgmt.getTargetAction(UNTRUSTED_DEVICE, actionId), (a) => a.status === "error", 90_000);
    expect(action).to.include({ active: false });
    expect((await readFile(slot)).equals(Buffer.alloc(64 * 1024)), "nothing written to the slot").to.equal(true);
    expect((await mgmt.getTarget(UNTRUSTED_DEVICE)).updateStatus).to.equal("error");
    expect(suricatta.output, "refused for its signature").to.include("Authentication of all signatures failed");
    await suricatta.stop();
    standin.assertConformant();
  });
});
