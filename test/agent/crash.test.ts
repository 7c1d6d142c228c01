// Power cuts: the bundled agent is killed with SIGKILL in the middle of a download and in the
// middle of an install (real swupdate), started again, and must end with one consistent report:
// the download resumes where it stopped (HTTP Range), the interrupted install is written again
// (bounded), one reboot, one success — and every report made before the kill reaches the cloud.
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import type { DeploymentArtifact } from "../../bridge/protocol/schemas.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";
import { freePort, tempDir } from "../helpers/env.js";
import { hasTool, standinFixture, type StandinFixture } from "../signing/fixtures.js";
import { signingSetup, type SigningSetup } from "../signing/keys.js";
import { artifactEntry, Cloud, notice, startAgent, startFileServer, testSigningKey, writeJson, type AgentProcess, type FileServer } from "./helpers.js";
import { buildAbSwu, SwupdateDevice } from "./swupdate-device.js";

describe("aerie-agent killed with SIGKILL (power cut) and started again", function () {
  this.timeout(300_000);
  let dir: { path: string; remove: () => Promise<void> };
  let vault: StandinFixture;
  let setup: SigningSetup;
  let broker: EmbeddedBroker;
  let cloud: Cloud;
  let files: FileServer;
  let agent: AgentProcess | undefined;
  const key = testSigningKey();

  before(async function () {
    for (const tool of ["swupdate", "openssl"]) {
      if (!(await hasTool(tool))) this.skip();
    }
    dir = await tempDir("aerie-agent-crash-");
    vault = await standinFixture();
    setup = await signingSetup(vault, dir.path);
    broker = await startEmbeddedBroker({ host: "127.0.0.1", port: await freePort() });
    cloud = new Cloud(broker.url);
    await cloud.start();
    files = await startFileServer(dir.path);
  });
  afterEach(async () => {
    files.throttle(undefined);
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

  async function release(version: string): Promise<DeploymentArtifact> {
    const built = await buildAbSwu(dir.path, version, await setup.cmsSigner("rsa-pkcs1v15"), "release");
    const artifact = await artifactEntry(built.path, "aerie-os.swu", `${files.url}/${built.path.slice(dir.path.length + 1)}`, key.privateKey);
    return { ...artifact, signature: built.signature };
  }

  /** Feedback statuses, one per messageId (a report sent again after the kill counts once, as in Aerie). */
  function reports(actionId: number): string[] {
    const seen = new Set<string>();
    return cloud.feedback(actionId).filter((f) => !seen.has(f.messageId) && seen.add(f.messageId)).map((f) => f.status);
  }

  async function bootAndFinish(device: SwupdateDevice, actionId: number): Promise<void> {
    await waitUntil(async () => (await device.reboots()) >= 1);
    await agent!.kill();
    expect(await device.powerOn()).to.equal("B");
    agent = await startAgent(device.configPath);
    await cloud.waitForFeedback(actionId, "success");
  }

  it("killed during the download: resumes it with HTTP Range and reports one consistent update", async () => {
    const device = new SwupdateDevice(join(dir.path, "dl"), "crash-dl");
    await device.create({ mqttUrl: broker.url, caFile: setup.trustFile });
    const artifact = await release("2.0.0");
    files.throttle(40 * 1024);
    await cloud.publish("crash-dl", "deployment", notice(301, "2.0.0", [artifact]));
    agent = await startAgent(device.configPath);
    await cloud.waitFor((m) => m.leaf === "feedback" && m.body.actionId === 301 && m.body.status === "downloading" && (m.body.progress as number) >= 25, 60_000, "download progress");
    await agent.kill();
    const partial = (await readdir(device.path("state/downloads"))).find((f) => f.endsWith(".part"));
    expect(partial, `partial download kept: ${(await readdir(device.path("state/downloads"))).join(", ")}`).to.be.a("string");
    files.throttle(undefined);
    const requestsBefore = files.requests.length;
    agent = await startAgent(device.configPath);
    await cloud.waitForFeedback(301, "rebooting");
    const resumed = files.requests.slice(requestsBefore);
    expect(resumed).to.have.length(1);
    expect(Number(/^bytes=(\d+)-$/.exec(resumed[0].range ?? "")?.[1])).to.be.greaterThan(0);
    await bootAndFinish(device, 301);
    const statuses = reports(301);
    expect(statuses.filter((s) => s !== "downloading")).to.deep.equal(["downloaded", "installing", "rebooting", "success"]);
    expect(await device.slotVersion("B")).to.equal("2.0.0");
    expect(await device.env()).to.deep.include({ boot_slot: "B", ustate: "0" });
  });

  it("killed during the install: the interrupted install is written again, once, and one reboot and one success follow", async () => {
    const device = new SwupdateDevice(join(dir.path, "inst"), "crash-inst");
    await device.create({ mqttUrl: broker.url, caFile: setup.trustFile });
    // swupdate that lingers after writing, so the kill lands while the agent waits for it (the
    // install has not been confirmed: after the restart the agent cannot know it completed).
    const slow = device.path("swupdate-slow");
    await writeFile(slow, `#!/bin/sh\necho started >> "$(dirname "$0")/installs"\nswupdate "$@"; rc=$?\nsleep 30\nexit $rc\n`, { mode: 0o755 });
    const config = JSON.parse(await import("node:fs/promises").then((fs) => fs.readFile(device.configPath, "utf8")));
    config.swupdate.binary = slow;
    await writeJson(device.configPath, config);
    await cloud.publish("crash-inst", "deployment", notice(302, "2.0.0", [await release("2.0.0")]));
    agent = await startAgent(device.configPath);
    await cloud.waitForFeedback(302, "installing");
    await waitUntil(async () => (await device.slotVersion("B")) === "2.0.0");
    await agent.kill();
    // The wrapper died with the agent (setpriv --pdeathsig): nothing keeps writing the slot.
    config.swupdate.binary = "swupdate";
    await writeJson(device.configPath, config);
    agent = await startAgent(device.configPath);
    await cloud.waitForFeedback(302, "rebooting");
    const installing = cloud.feedback(302).filter((f) => f.status === "installing");
    expect(installing.at(-1)!.details!.join(" ")).to.include("attempt 2: the previous one was interrupted");
    await bootAndFinish(device, 302);
    expect(reports(302).filter((s) => s !== "downloading")).to.deep.equal(["downloaded", "installing", "installing", "rebooting", "success"]);
    expect(await device.reboots()).to.equal(1);
    expect(await device.env()).to.deep.include({ boot_slot: "B", ustate: "0", upgrade_available: "0" });
    // Every report numbered (protocol `seq`), one more each, across the kill and the power cycle: the
    // bridge orders a device's reports by it when several instances store them.
    const seen = new Set<string>();
    const seqs = cloud.feedback(302).filter((f) => !seen.has(f.messageId) && seen.add(f.messageId)).map((f) => (f as { seq?: number }).seq);
    expect(seqs.every((n) => Number.isInteger(n)), `seq on every report: ${seqs.join(", ")}`).to.equal(true);
    expect(seqs.every((n, i) => i === 0 || n! === seqs[i - 1]! + 1), `seq one more each: ${seqs.join(", ")}`).to.equal(true);
  });
});

async function waitUntil(test: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}
