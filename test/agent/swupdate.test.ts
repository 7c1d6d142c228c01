// The agent drives the real Debian swupdate: Aerie-built, CMS-signed A/B .swu files are written into
// file-backed slots, the bootloader environment carries SWUpdate's A/B marks, and the agent (the
// bundled dist/aerie-agent.cjs, a real process) is power-cycled between the steps like a board.
import { readFile, writeFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";
import { hasTool, standinFixture, type StandinFixture } from "../signing/fixtures.js";
import { signingSetup, type SigningSetup } from "../signing/keys.js";
import { freePort, tempDir } from "../helpers/env.js";
import { artifactEntry, Cloud, notice, startAgent, startFileServer, testSigningKey, type AgentProcess, type FileServer } from "./helpers.js";
import { buildAbSwu, SwupdateDevice } from "./swupdate-device.js";
import type { DeploymentArtifact } from "../../bridge/protocol/schemas.js";

describe("aerie-agent with SWUpdate (real swupdate, file-backed A/B slots)", function () {
  this.timeout(300_000);
  let dir: { path: string; remove: () => Promise<void> };
  let vault: StandinFixture;
  let setup: SigningSetup;
  let broker: EmbeddedBroker;
  let cloud: Cloud;
  let files: FileServer;
  let device: SwupdateDevice;
  let agent: AgentProcess | undefined;
  const key = testSigningKey();

  before(async function () {
    for (const tool of ["swupdate", "openssl"]) {
      if (!(await hasTool(tool))) {
        console.log(`      ${tool} is not installed: apt-get install -y swupdate openssl`);
        this.skip();
      }
    }
    dir = await tempDir("aerie-agent-swu-");
    vault = await standinFixture();
    setup = await signingSetup(vault, dir.path);
    broker = await startEmbeddedBroker({ host: "127.0.0.1", port: await freePort() });
    cloud = new Cloud(broker.url);
    await cloud.start();
    files = await startFileServer(dir.path);
    device = new SwupdateDevice(join(dir.path, "device"), "swu-1");
    await device.create({ mqttUrl: broker.url, caFile: setup.trustFile, publicKeys: { "1": key.publicPem } });
  });

  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });

  after(async () => {
    await cloud?.stop();
    await files?.close();
    await broker?.stop();
    await vault?.remove();
    await dir?.remove();
  });

  async function release(version: string, tamper = false): Promise<DeploymentArtifact> {
    const built = await buildAbSwu(dir.path, version, await setup.cmsSigner("rsa-pkcs1v15"), setup.transit("rsa-2048").keyName);
    let path = built.path;
    if (tamper) {
      // Someone changed the image inside the .swu after Aerie signed it (and announced the changed
      // file's hash): only the signed sw-description can tell, and swupdate checks it.
      const bytes = await readFile(built.path);
      bytes[bytes.length - 9000] ^= 0xff;
      path = join(dir.path, `tampered-${version}.swu`);
      await writeFile(path, bytes);
    }
    const name = path.slice(dir.path.length + 1);
    const artifact = await artifactEntry(path, "aerie-os.swu", `${files.url}/${name}`, key.privateKey);
    return { ...artifact, signature: built.signature };
  }

  const statuses = (actionId: number) => cloud.feedback(actionId).map((f) => f.status).filter((s, i, all) => s !== all[i - 1]);

  it("installs an Aerie-built .swu into the other slot, reboots, checks health, commits and reports success", async () => {
    await cloud.publish("swu-1", "deployment", notice(101, "2.0.0", [await release("2.0.0")]));
    agent = await startAgent(device.configPath);
    const hello = await cloud.waitFor((m) => m.leaf === "hello");
    expect(hello.body).to.deep.include({ updateClient: "swupdate", hardware: "aerie-board", compatible: "aerie-board", versions: { rootfs: "1.0.0" } });
    expect(hello.body.slots).to.deep.equal([
      { name: "rootfs.0", bootname: "A", state: "booted", version: "1.0.0" },
      { name: "rootfs.1", bootname: "B", state: "inactive" },
    ]);
    await cloud.waitForFeedback(101, "rebooting");
    expect(statuses(101)).to.deep.equal(["downloading", "downloaded", "installing", "rebooting"]);
    expect(await device.slotVersion("B")).to.equal("2.0.0");
    expect(await device.slotVersion("A")).to.equal("1.0.0");
    expect(await device.env()).to.deep.include({ boot_slot: "B", ustate: "1", upgrade_available: "1", bootcount: "0" });
    await waitUntil(async () => (await device.reboots()) === 1);

    // Power cut at the reboot; the bootloader boots the new slot.
    await agent.kill();
    expect(await device.powerOn()).to.equal("B");
    agent = await startAgent(device.configPath);
    const success = await cloud.waitForFeedback(101, "success");
    const health = await cloud.waitFor((m) => m.leaf === "health" && m.body.actionId === 101);
    expect(health.body).to.deep.include({ bootedSlot: "rootfs.1", runningVersion: "2.0.0", healthy: true, checks: { app: true } });
    expect((success.body.details as string[]).join(" ")).to.include("running aerie-os 2.0.0 in slot rootfs.1");
    expect(await device.env()).to.deep.include({ boot_slot: "B", ustate: "0", upgrade_available: "0" });
    expect(statuses(101)).to.deep.equal(["downloading", "downloaded", "installing", "rebooting", "success"]);
    const after = await cloud.waitFor((m) => m.leaf === "hello" && (m.body.versions as Record<string, string>).rootfs === "2.0.0");
    expect(after.body.slots).to.deep.include({ name: "rootfs.1", bootname: "B", state: "booted", version: "2.0.0" });
    await cloud.publish("swu-1", "deployment", null);
  });

  it("a tampered .swu is refused by SWUpdate and reported as failure with SWUpdate's reason; nothing changes", async () => {
    agent = await startAgent(device.configPath);
    await cloud.publish("swu-1", "deployment", notice(102, "3.0.0", [await release("3.0.0", true)]));
    const failure = await cloud.waitForFeedback(102, "failure");
    const details = (failure.body.details as string[]).join("\n");
    expect(details).to.match(/swupdate refused aerie-os\.swu/);
    expect(details).to.match(/HASH mismatch|hash mismatch|sha256/i);
    expect(statuses(102)).to.deep.equal(["downloading", "downloaded", "installing", "failure"]);
    expect(await device.env()).to.deep.include({ boot_slot: "B", ustate: "0" });
    expect(await device.reboots()).to.equal(1);
    await cloud.publish("swu-1", "deployment", null);
  });

  it("a slot that fails its health check is marked failed, the old slot boots again, and the failure carries the checks' output", async () => {
    await writeFile(device.path("unhealthy"), "app.service: segfault at 0000 in libapp.so\n");
    agent = await startAgent(device.configPath);
    await cloud.publish("swu-1", "deployment", notice(103, "3.0.0", [await release("3.0.0")]));
    await cloud.waitForFeedback(103, "rebooting");
    expect(await device.slotVersion("A")).to.equal("3.0.0");
    await waitUntil(async () => (await device.reboots()) === 2);
    await agent.kill();
    expect(await device.powerOn()).to.equal("A");
    agent = await startAgent(device.configPath);
    const health = await cloud.waitFor((m) => m.leaf === "health" && m.body.actionId === 103);
    expect(health.body).to.deep.include({ bootedSlot: "rootfs.0", runningVersion: "3.0.0", healthy: false, checks: { app: false } });
    await waitUntil(async () => (await device.reboots()) === 3);
    expect(await device.env()).to.deep.include({ boot_slot: "B", ustate: "3", upgrade_available: "0" });
    expect(cloud.feedback(103).some((f) => f.status === "failure")).to.equal(false);
    await agent.kill();
    expect(await device.powerOn()).to.equal("B");
    agent = await startAgent(device.configPath);
    const failure = await cloud.waitForFeedback(103, "failure");
    const details = (failure.body.details as string[]).join("\n");
    expect(details).to.include("health check app failed").and.include("segfault at 0000").and.include("rolled back: running 2.0.0 in slot rootfs.1");
    // A last health report says what really runs again (Aerie's registry follows it), still unhealthy for this action.
    const running = await cloud.waitFor((m) => m.leaf === "health" && m.body.actionId === 103 && m.body.bootedSlot === "rootfs.1");
    expect(running.body).to.deep.include({ runningVersion: "2.0.0", healthy: false });
    await cloud.publish("swu-1", "deployment", null);
    await rm(device.path("unhealthy"));
  });

  it("reports the version that really runs, and a failure, when the bootloader fell back on its own", async () => {
    agent = await startAgent(device.configPath);
    await cloud.publish("swu-1", "deployment", notice(104, "4.0.0", [await release("4.0.0")]));
    await cloud.waitForFeedback(104, "rebooting");
    expect(await device.env()).to.deep.include({ boot_slot: "A", ustate: "1" });
    await waitUntil(async () => (await device.reboots()) === 4);
    await agent.kill();
    // The new slot never came up (boot counter ran out): U-Boot's altbootcmd booted B again.
    await device.powerOn("B");
    agent = await startAgent(device.configPath);
    const failure = await cloud.waitForFeedback(104, "failure");
    const health = await cloud.waitFor((m) => m.leaf === "health" && m.body.actionId === 104);
    expect(health.body).to.deep.include({ bootedSlot: "rootfs.1", runningVersion: "2.0.0", healthy: false });
    expect((failure.body.details as string[]).join("\n")).to.include("fell back").and.include("running 2.0.0 in slot rootfs.1");
    expect(await device.env()).to.deep.include({ boot_slot: "B", ustate: "3" });
    await cloud.publish("swu-1", "deployment", null);
  });
});

async function waitUntil(test: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}
