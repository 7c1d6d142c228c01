// A hawkBit client no one here wrote: Debian's `swupdate` in suricatta mode (its hawkBit DDI client) updates a
// file-backed slot from the stand-in. The operator switches target-token authentication on through the Management
// API (hawkBit's default is off), registers the device with its token, uploads a CMS-signed .swu built by Aerie's
// signing code, and assigns it. swupdate polls, downloads, verifies the signature against the test CA, writes the
// image into the slot file and, restarted with `-c 2` (Debian's build has no bootloader to carry the state across
// the restart), reports success: the action is FINISHED and the set installed. Every DDI and Management message is
// validated against hawkBit's documents patched to 1.1.0.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { signPkcs1v15 } from "../../signing/crypto/rsa.js";
import type { CmsSigner } from "../../signing/cms/signed-data.js";
import { buildSwu } from "../../signing/swu/build.js";
import { pemToDer } from "../../signing/x509/der.js";
import { tempDir } from "../helpers/env.js";
import { CREDENTIALS, type ConformantStandin, eventually, startConformantStandin } from "../helpers/hawkbit-conformance.js";
import { createTestPki, opensslAvailable } from "../helpers/pki.js";

const run = promisify(execFile);
const HARDWARE = "aerie-board:1.0";
const DEVICE = "suricatta-1";
const TOKEN = "0123456789abcdef0123456789abcdef";
const UNTRUSTED_DEVICE = "suricatta-2";
const UNTRUSTED_TOKEN = "fedcba9876543210fedcba9876543210";

async function available(command: string): Promise<boolean> {
  try {
    await run("sh", ["-c", `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/** One swupdate process in suricatta mode; its output is kept for the failure message. */
class Suricatta {
  private child: ChildProcess | undefined;
  output = "";

  constructor(private readonly dir: string, private readonly url: string, private readonly trustFile: string,
    private readonly device = DEVICE, private readonly token = TOKEN) {}

  start(extra: string[] = []): void {
    const suricatta = ["-t", CREDENTIALS.tenant, "-u", this.url, "-i", this.device, "-k", this.token, "-p", "1", "-r", "2", "-w", "1", ...extra];
    this.child = spawn("swupdate", ["-v", "-k", this.trustFile, "-H", HARDWARE, "-u", suricatta.join(" ")], {
      cwd: this.dir, env: { ...process.env, TMPDIR: this.dir }, stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /** SIGTERM, as a reboot would end it; waits for the process to be gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(timer);
  }
}

const basicAuth = `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString("base64")}`;

/** A CMS signer: an RSA key with a code-signing certificate from `pki` (as Aerie's release signer would have). */
async function localSigner(pki: Awaited<ReturnType<typeof createTestPki>>, dir: string): Promise<CmsSigner> {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await writeFile(join(dir, "signer.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
  const { stdout: csr } = await run("openssl", ["req", "-new", "-key", join(dir, "signer.key"), "-subj", "/CN=Aerie release signer"]);
  const chain = await pki.issue(csr);
  return {
    certificate: pemToDer(chain, "CERTIFICATE"),
    algorithm: "rsa-pkcs1v15",
    sign: async (digest) => ({ signature: signPkcs1v15(privateKey, digest, "sha256") }),
  };
}

/** A .swu of one raw image for `slot`, built and signed by Aerie's builder. */
async function release(dir: string, version: string, slot: string, signer: CmsSigner): Promise<{ swu: Buffer; image: Buffer }> {
  const stage = join(dir, `stage-${version}`);
  await mkdir(stage);
  const image = Buffer.alloc(64 * 1024, 0x5a);
  image.write(`AERIE-VERSION=${version}\n`);
  await writeFile(join(stage, "rootfs.img"), image);
  const output = join(dir, `release-${version}.swu`);
  const description = `software =\n{\n\tversion = "${version}";\n\thardware-compatibility = [ "1.0" ];\n\timages: (\n\t\t{ filename = "rootfs.img"; device = "${slot}"; type = "raw"; sha256 = "$swupdate_get_sha256(rootfs.img)"; }\n\t);\n};\n`;
  await buildSwu({ output, images: [join(stage, "rootfs.img")], description: { text: description }, mode: "cms", cmsSigner: signer });
  return { swu: await readFile(output), image };
}

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
    suricatta = new Suricatta(dir.path, standin.url, trustFile);
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
