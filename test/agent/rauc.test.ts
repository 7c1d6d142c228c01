// The agent drives a real `rauc service` on a private D-Bus: Aerie-built bundles are installed into
// file-backed slots through `rauc install` (the service's Installer), and commit/rollback reach the
// bootloader through RAUC's custom backend, whose script records every call.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import type { DeploymentArtifact } from "../../bridge/protocol/schemas.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";
import { buildRaucBundle, readBundleSignature, type RaucFormat } from "../../signing/rauc/bundle.js";
import { freePort, tempDir } from "../helpers/env.js";
import { hasTool, standinFixture, type StandinFixture } from "../signing/fixtures.js";
import { signingSetup, type SigningSetup } from "../signing/keys.js";
import { artifactEntry, Cloud, notice, startAgent, startFileServer, testSigningKey, type AgentProcess, type FileServer } from "./helpers.js";
import { RaucDevice } from "./rauc-device.js";

/** device-mapper (dm-verity) is what RAUC needs to mount a verity bundle. */
const deviceMapper = existsSync("/dev/mapper/control");

describe("aerie-agent with RAUC (real rauc service on a private D-Bus, custom bootloader backend)", function () {
  this.timeout(300_000);
  let dir: { path: string; remove: () => Promise<void> };
  let vault: StandinFixture;
  let setup: SigningSetup;
  let broker: EmbeddedBroker;
  let cloud: Cloud;
  let files: FileServer;
  let device: RaucDevice;
  let agent: AgentProcess | undefined;
  const key = testSigningKey();

  before(async function () {
    for (const tool of ["rauc", "dbus-daemon", "dbus-send", "mksquashfs", "openssl"]) {
      if (!(await hasTool(tool))) {
        console.log(`      ${tool} is not installed: apt-get install -y rauc dbus squashfs-tools openssl`);
        this.skip();
      }
    }
    dir = await tempDir("aerie-agent-rauc-");
    vault = await standinFixture();
    setup = await signingSetup(vault, dir.path);
    broker = await startEmbeddedBroker({ host: "127.0.0.1", port: await freePort() });
    cloud = new Cloud(broker.url);
    await cloud.start();
    files = await startFileServer(dir.path);
    device = new RaucDevice(join(dir.path, "device"), "rauc-1");
    await device.create({ mqttUrl: broker.url, keyring: setup.rootFile });
  });

  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });

  after(async () => {
    await device?.stop();
    await cloud?.stop();
    await files?.close();
    await broker?.stop();
    await vault?.remove();
    await dir?.remove();
  });

  async function bundle(version: string, format: RaucFormat): Promise<DeploymentArtifact> {
    const images = join(dir.path, `images-${version}-${format}`);
    await mkdir(images, { recursive: true });
    // Random bytes do not compress: the squashfs stays larger than verity's 4 KiB minimum.
    await writeFile(join(images, "rootfs.img"), Buffer.concat([Buffer.from(`AERIE-VERSION=${version}\n`), randomBytes(200_000)]));
    const output = join(dir.path, `aerie-os-${version}-${format}.raucb`);
    await buildRaucBundle({ output, format, source: { directory: images, manifest: { compatible: "aerie-board", version, images: [{ slotClass: "rootfs", filename: "rootfs.img" }] } }, signer: await setup.cmsSigner("ecdsa-p256") });
    const { cms } = await readBundleSignature(output);
    const artifact = await artifactEntry(output, "aerie-os.raucb", `${files.url}/${output.slice(dir.path.length + 1)}`, key.privateKey);
    return { ...artifact, signature: { format: "cms", covers: "rauc-bundle", algorithm: "ecdsa-p256", keyName: "release", keyVersion: 1, value: cms.toString("base64") } };
  }

  const statuses = (actionId: number) => cloud.feedback(actionId).map((f) => f.status).filter((s, i, all) => s !== all[i - 1]);

  it("installs a plain bundle through the RAUC service, boots it, and mark-good reaches the bootloader backend", async () => {
    agent = await startAgent(device.configPath);
    const hello = await cloud.waitFor((m) => m.leaf === "hello");
    expect(hello.body).to.deep.include({ updateClient: "rauc", hardware: "aerie-board", compatible: "aerie-board", versions: { rootfs: "1.0.0" } });
    expect(hello.body.slots).to.deep.include({ name: "rootfs.0", bootname: "A", state: "booted", version: "1.0.0" });
    await cloud.publish("rauc-1", "deployment", notice(201, "2.0.0", [await bundle("2.0.0", "plain")]));
    await cloud.waitForFeedback(201, "rebooting");
    expect(statuses(201)).to.deep.equal(["downloading", "downloaded", "installing", "rebooting"]);
    expect(await device.slotVersion("B")).to.equal("2.0.0");
    expect(await device.primary()).to.equal("B");
    expect(await device.backendCalls()).to.include("set-primary B");
    await waitUntil(async () => (await device.reboots()) === 1);

    await agent.kill();
    expect(await device.powerOn()).to.equal("B");
    const before = (await device.backendCalls()).length;
    agent = await startAgent(device.configPath);
    const success = await cloud.waitForFeedback(201, "success");
    const health = await cloud.waitFor((m) => m.leaf === "health" && m.body.actionId === 201);
    expect(health.body).to.deep.include({ bootedSlot: "rootfs.1", runningVersion: "2.0.0", healthy: true });
    expect((success.body.details as string[]).join(" ")).to.include("running aerie-os 2.0.0 in slot rootfs.1");
    expect((await device.backendCalls()).slice(before)).to.include("set-state B good");
    expect(await device.slotState("B")).to.equal("good");
    await cloud.publish("rauc-1", "deployment", null);
  });

  it(deviceMapper ? "installs a verity bundle" : "verity bundle: RAUC needs device-mapper, absent here; the agent reports RAUC's refusal", async () => {
    agent = await startAgent(device.configPath);
    await cloud.publish("rauc-1", "deployment", notice(202, "3.0.0", [await bundle("3.0.0", "verity")]));
    if (deviceMapper) {
      await cloud.waitForFeedback(202, "rebooting");
      expect(await device.slotVersion("A")).to.equal("3.0.0");
      await waitUntil(async () => (await device.reboots()) === 2);
      await agent.kill();
      expect(await device.powerOn()).to.equal("A");
      agent = await startAgent(device.configPath);
      await cloud.waitForFeedback(202, "success");
    } else {
      // This machine's kernel has no device-mapper (/proc/misc lists no device-mapper): RAUC
      // verifies the verity bundle's signature, then cannot set up dm-verity to mount it.
      const failure = await cloud.waitForFeedback(202, "failure");
      expect((failure.body.details as string[]).join("\n")).to.match(/rauc refused aerie-os\.raucb/).and.match(/mapper|verity|mount/i);
      expect(await device.primary()).to.equal("B");
      expect(await device.slotVersion("A")).to.equal("1.0.0");
    }
    await cloud.publish("rauc-1", "deployment", null);
  });

  it("a tampered bundle is refused by RAUC's signature check and reported with its reason", async () => {
    agent = await startAgent(device.configPath);
    const good = await bundle("5.0.0", "plain");
    const path = join(dir.path, "aerie-os-5.0.0-plain.raucb");
    const bytes = await import("node:fs/promises").then((fs) => fs.readFile(path));
    bytes[1000] ^= 0xff; // inside the squashfs, which the CMS covers
    await writeFile(join(dir.path, "tampered.raucb"), bytes);
    const tampered = await artifactEntry(join(dir.path, "tampered.raucb"), "aerie-os.raucb", `${files.url}/tampered.raucb`, key.privateKey);
    await cloud.publish("rauc-1", "deployment", notice(203, "5.0.0", [{ ...tampered, signature: good.signature }]));
    const failure = await cloud.waitForFeedback(203, "failure");
    expect((failure.body.details as string[]).join("\n")).to.match(/rauc refused aerie-os\.raucb/).and.match(/signature|verif/i);
    expect(await device.primary()).to.equal(deviceMapper ? "A" : "B");
    await cloud.publish("rauc-1", "deployment", null);
  });

  it("a slot that fails health is marked bad (mark-bad reaches the backend), the old slot boots, and the failure is reported", async () => {
    const from = await device.primary();
    const to = from === "A" ? "B" : "A";
    await writeFile(device.path("unhealthy"), "app.service: watchdog timeout\n");
    const reboots = await device.reboots();
    agent = await startAgent(device.configPath);
    await cloud.publish("rauc-1", "deployment", notice(204, "4.0.0", [await bundle("4.0.0", "plain")]));
    await cloud.waitForFeedback(204, "rebooting");
    expect(await device.primary()).to.equal(to);
    await waitUntil(async () => (await device.reboots()) === reboots + 1);
    await agent.kill();
    expect(await device.powerOn()).to.equal(to);
    const before = (await device.backendCalls()).length;
    agent = await startAgent(device.configPath);
    const health = await cloud.waitFor((m) => m.leaf === "health" && m.body.actionId === 204);
    expect(health.body).to.deep.include({ runningVersion: "4.0.0", healthy: false, checks: { app: false } });
    await waitUntil(async () => (await device.primary()) === from);
    const calls = (await device.backendCalls()).slice(before);
    expect(calls).to.include(`set-state ${to} bad`);
    expect(calls).to.include(`set-primary ${from}`);
    await agent.kill();
    expect(await device.powerOn()).to.equal(from);
    agent = await startAgent(device.configPath);
    const failure = await cloud.waitForFeedback(204, "failure");
    expect((failure.body.details as string[]).join("\n")).to.include("watchdog timeout").and.match(/rolled back: running \d\.0\.0 in slot rootfs\.\d/);
    const running = await cloud.waitFor((m) => m.leaf === "health" && m.body.actionId === 204 && m.body.runningVersion !== "4.0.0");
    expect(running.body).to.deep.include({ bootedSlot: from === "A" ? "rootfs.0" : "rootfs.1", healthy: false });
    await rm(device.path("unhealthy"));
    await cloud.publish("rauc-1", "deployment", null);
  });
});

async function waitUntil(test: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}
