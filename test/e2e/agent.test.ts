// End to end through Aerie with real device agents: three bundled aerie-agent processes (two on real
// swupdate, one on a real rauc service on a private D-Bus), provisioned tokens, Aerie-built and
// signed .swu and RAUC bundles (one archive per hardware type), health-gated two-group campaigns.
// A reboot is simulated like a board does it: the reboot command is recorded, the agent is killed,
// the "bootloader" boots the slot the environment / RAUC backend selected, and the agent starts again.
// Cases on one stack, in order: a campaign to 2.0.0 finishes; 3.0.0 fails health, rolls back and the health
// gate (not hawkBit's error threshold) holds the campaign; download-only 4.0.0 then its activation; cancel
// before install (canceled) and while installing (cancel-rejected, then success); consent asked on the
// device (accept, reject, defer then accept).
import { randomBytes } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { createTestPki } from "../helpers/pki.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import { hasTool } from "../signing/fixtures.js";
import { startAgent, type AgentProcess } from "../agent/helpers.js";
import { RaucDevice } from "../agent/rauc-device.js";
import { abSwDescription, slotImage, SwupdateDevice } from "../agent/swupdate-device.js";

type Device = SwupdateDevice | RaucDevice;

describe("aerie-agent end to end: campaigns over SWUpdate and RAUC agents", function () {
  this.timeout(600_000);
  let test: TestStack;
  let caFile: string;
  const devices = new Map<string, Device>();
  const agents = new Map<string, AgentProcess>();
  const seenReboots = new Map<string, number>();
  /** Log lines of every process an agent ran as (each reboot starts a new one). */
  const history = new Map<string, string[]>();
  const logOf = (id: string) => [...(history.get(id) ?? []), ...(agents.get(id)?.log ?? [])];
  let rebooter: NodeJS.Timeout | undefined;
  let rebooting = false;
  /** Boards whose reboot is held (the agent sits in `rebooting`, its install done) until released. */
  const heldReboots = new Set<string>();

  async function send(method: string, path: string, body: string): Promise<string> {
    const response = await fetch(`${test.stack.endpoints.api}${path}`, { method, body: method === "GET" ? undefined : body, headers: { "content-type": "application/x-pem-file", ...test.api.authorization } });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text;
  }

  /** The boards' bootloaders: a recorded reboot command power-cycles the agent into the selected slot. */
  function startRebooter(): void {
    rebooter = setInterval(async () => {
      if (rebooting) return;
      rebooting = true;
      try {
        for (const [id, device] of devices) {
          if (heldReboots.has(id)) continue;
          const count = await device.reboots();
          if (count <= (seenReboots.get(id) ?? 0)) continue;
          seenReboots.set(id, count);
          await agents.get(id)?.kill();
          history.set(id, [...(history.get(id) ?? []), ...(agents.get(id)?.log ?? [])]);
          await device.powerOn();
          agents.set(id, await startAgent(device.configPath));
        }
      } finally {
        rebooting = false;
      }
    }, 250);
  }

  /** Restarts an agent (not a reboot: same slot, same boot) with part of its configuration replaced. */
  async function reconfigure(id: string, patch: Record<string, unknown>): Promise<void> {
    const device = devices.get(id)!;
    await agents.get(id)?.kill();
    history.set(id, [...(history.get(id) ?? []), ...(agents.get(id)?.log ?? [])]);
    const config = JSON.parse(await readFile(device.configPath, "utf8")) as Record<string, unknown>;
    await writeFile(device.configPath, JSON.stringify({ ...config, ...patch }));
    agents.set(id, await startAgent(device.configPath));
  }

  /** A device-side maintenance window that opens in two hours (local time, as the agent reads it). */
  function closedWindow(): { from: string; to: string } {
    const hhmm = (hours: number) => {
      const at = new Date(Date.now() + hours * 3_600_000);
      return `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
    };
    return { from: hhmm(2), to: hhmm(3) };
  }

  async function release(version: string): Promise<string> {
    const image = Buffer.concat([slotImage(version).subarray(0, 64), randomBytes(150_000)]);
    const imageId = (await test.api.uploadArtifact("rootfs.img", image, image.length)).id;
    const swu = await test.api.request<{ id: string }>("POST", "/api/v1/builds/swu", { filename: `aerie-os-${version}.swu`, swDescription: abSwDescription(version), images: [{ artifactId: imageId }] });
    const raucb = await test.api.request<{ id: string }>("POST", "/api/v1/builds/rauc", { filename: `aerie-os-${version}.raucb`, format: "plain", compatible: "aerie-board", version, images: [{ artifactId: imageId, slotClass: "rootfs" }] });
    const created = await test.api.request<{ id: string }>("POST", "/api/v1/releases", {
      name: "aerie-os", version,
      archives: [{ hardwareType: "swu-board", artifactId: swu.id }, { hardwareType: "rauc-board", artifactId: raucb.id }],
    });
    return created.id;
  }

  function campaign(name: string, releaseId: string, extra: Record<string, unknown> = {}) {
    return test.api.request<{ id: string }>("POST", "/api/v1/campaigns", {
      name, releaseId, targetFilter: "controllerId==e2e-*",
      groups: 2,
      healthGate: { soakSeconds: 2 },
      start: true,
      ...extra,
    });
  }

  const view = (id: string) => test.api.request<{ status: string; pausedBy: string | null; statusReason: string | null; devices: { controllerId: string; status: string; detail: string | null }[] }>("GET", `/api/v1/campaigns/${id}`);
  const runningVersions = async () => {
    const fleet = await test.api.request<{ devices: { controllerId: string; runningVersion: string | null }[] }>("GET", "/api/v1/devices?limit=50");
    return new Map(fleet.devices.map((d) => [d.controllerId, d.runningVersion]));
  };
  const statusOf = async (id: string, controllerId: string) => (await view(id)).devices.find((d) => d.controllerId === controllerId)?.status;

  async function slotVersions(device: Device): Promise<string[]> {
    return [await device.slotVersion("A"), await device.slotVersion("B")].map((v) => v ?? "-");
  }

  before(async function () {
    for (const tool of ["swupdate", "rauc", "dbus-daemon", "dbus-send", "mksquashfs", "openssl"]) {
      if (!(await hasTool(tool))) this.skip();
    }
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
    // The operator's signing set-up: a CA-issued certificate on the transit key and the trust anchor.
    const pki = await createTestPki(test.dataDir, { intermediate: true });
    const csr = await fetch(`${test.stack.endpoints.api}/api/v1/keyring/csr`, { method: "POST", headers: { "content-type": "application/json", ...test.api.authorization }, body: JSON.stringify({ subject: "CN=Aerie release signing, O=Aerie Test" }) });
    await send("PUT", "/api/v1/keyring/certificate", await pki.issue(await csr.text()));
    await send("PUT", "/api/v1/keyring/trust-anchors", pki.rootPem);
    // Provisioning: what each device gets from a trusted channel (never fetched by the agent).
    caFile = join(test.dataDir, "device-ca.pem");
    await writeFile(caFile, await send("GET", "/api/v1/keyring/ca.pem", ""));
    const publicKeys = Object.fromEntries([...(await test.keyring())].map(([version, pem]) => [String(version), pem]));

    const mqttUrl = test.stack.endpoints.mqtt;
    for (const [id, ring] of [["e2e-swu-1", "canary"], ["e2e-swu-2", "main"]] as const) {
      const device = new SwupdateDevice(join(test.dataDir, id), id);
      await device.create({ mqttUrl, caFile, publicKeys, token: await test.deviceToken(id), extra: { hardware: "swu-board", attributes: { ring } } });
      devices.set(id, device);
    }
    const rauc = new RaucDevice(join(test.dataDir, "e2e-rauc-1"), "e2e-rauc-1");
    await rauc.create({ mqttUrl, keyring: caFile, extra: { hardware: "rauc-board", attributes: { ring: "canary" } } });
    const raucConfig = JSON.parse(await readFile(rauc.configPath, "utf8"));
    await writeFile(rauc.configPath, JSON.stringify({ ...raucConfig, token: await test.deviceToken("e2e-rauc-1") }));
    devices.set("e2e-rauc-1", rauc);
    for (const [id, device] of devices) agents.set(id, await startAgent(device.configPath));
    await waitFor("three agents registered", async () => ((await test.api.devices()).total === 3 ? true : undefined), 60_000);
    startRebooter();
  });

  after(async () => {
    clearInterval(rebooter);
    for (const agent of agents.values()) await agent.stop();
    for (const device of devices.values()) if (device instanceof RaucDevice) await device.stop();
    await test?.stop();
  });

  it("runs a two-group campaign: download, install, reboot into the new slot, health, commit, finished", async () => {
    const id = (await campaign("agents-2.0.0", await release("2.0.0"))).id;
    await waitFor("campaign finished", async () => ((await view(id)).status === "finished" ? true : undefined), 300_000).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await view(id))}\n${[...agents].map(([name, a]) => `${name}:\n${a.log.filter((l) => !l.includes("debug")).slice(-8).join("\n")}`).join("\n")}`);
    });
    const finished = await view(id);
    expect(finished.devices.map((d) => [d.controllerId, d.status]).sort()).to.deep.equal([["e2e-rauc-1", "success"], ["e2e-swu-1", "success"], ["e2e-swu-2", "success"]].sort());
    for (const [controllerId, device] of devices) {
      expect(await slotVersions(device), controllerId).to.deep.equal(["1.0.0", "2.0.0"]);
      if (device instanceof SwupdateDevice) expect(await device.env()).to.deep.include({ boot_slot: "B", ustate: "0", upgrade_available: "0" });
      else {
        expect(await device.primary()).to.equal("B");
        expect(await device.backendCalls()).to.include("set-state B good");
      }
      expect(logOf(controllerId).join("\n")).to.include("\"status\":\"success\"");
    }
    // Aerie's registry shows what runs, from the agents' health reports.
    const fleet = await test.api.request<{ devices: { controllerId: string; runningVersion: string | null; attributes: Record<string, string> }[] }>("GET", "/api/v1/devices?limit=50");
    for (const device of fleet.devices) {
      expect(device.runningVersion, device.controllerId).to.equal("2.0.0");
    }
  });

  it("rolls back the first group whose new slot fails health, reports the failure, and the campaign holds before the second group", async () => {
    // Every device would fail health: whichever devices the first group holds roll back, and the
    // gate must keep the second group from ever being told.
    for (const device of devices.values()) await writeFile(device.path("unhealthy"), "app.service: failed with result 'core-dump'\n");
    // errorThreshold 100: hawkBit's error condition (errors > 100 %) can never pause it; only Aerie's gate can.
    const id = (await campaign("agents-3.0.0", await release("3.0.0"), { errorThreshold: 100 })).id;
    const held = await waitFor("the health gate to hold the campaign", async () => {
      const current = await view(id);
      return current.status === "paused" && current.pausedBy === "health-gate" && current.devices.length > 0 && current.devices.every((d) => d.status === "failure" && current.statusReason?.includes(d.controllerId)) ? current : undefined;
    }, 300_000).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await view(id))}`);
    });
    const first = held.devices.map((d) => d.controllerId);
    expect(first.length).to.be.within(1, 2);
    // The gate names the devices that booted the update and found it unhealthy.
    expect(held.statusReason).to.match(/^health gate: .* reported unhealthy after the update$/);
    for (const controllerId of first) {
      const device = devices.get(controllerId)!;
      // It went back to its old slot and said why.
      await waitFor(`${controllerId} rolled back`, async () => (logOf(controllerId).some((l) => l.includes("\"status\":\"failure\"") && l.includes("core-dump") && l.includes("rolled back: running 2.0.0")) ? true : undefined), 120_000);
      if (device instanceof SwupdateDevice) expect(await device.env(), controllerId).to.deep.include({ boot_slot: "B", ustate: "3" });
      else {
        expect(await device.primary()).to.equal("B");
        expect(await device.backendCalls()).to.include("set-state A bad");
      }
      expect(await slotVersions(device), controllerId).to.deep.equal(["3.0.0", "2.0.0"]);
    }
    // Aerie's registry shows what really runs after the rollback, not the rejected 3.0.0.
    await waitFor("registry shows the rolled-back version", async () => {
      const fleet = await test.api.request<{ devices: { controllerId: string; runningVersion: string | null }[] }>("GET", "/api/v1/devices?limit=50");
      return fleet.devices.filter((d) => first.includes(d.controllerId)).every((d) => d.runningVersion === "2.0.0") ? true : undefined;
    }, 30_000);
    // Still held: the gate does not let the next group start on its own.
    expect(await view(id)).to.deep.include({ status: "paused", pausedBy: "health-gate" });
    // The second group was never told: slots unchanged, well past the soak time.
    await new Promise((r) => setTimeout(r, 5000));
    for (const [controllerId, device] of devices) {
      if (first.includes(controllerId)) continue;
      expect(await slotVersions(device), controllerId).to.deep.equal(["1.0.0", "2.0.0"]);
      expect((await view(id)).devices.map((d) => d.controllerId)).not.to.include(controllerId);
    }
    for (const device of devices.values()) await rm(device.path("unhealthy"));
    await test.api.request("POST", `/api/v1/campaigns/${id}/stop`, {});
  });

  it("a download-only campaign downloads and verifies without installing; the activation then installs without downloading again", async () => {
    for (const device of devices.values()) await rm(device.path("unhealthy"), { force: true });
    const releaseId = await release("4.0.0");
    const downloadOnly = (await campaign("agents-4.0.0-download", releaseId, { actionType: "downloadonly", groups: 1, healthGate: undefined })).id;
    await waitFor("download-only campaign finished", async () => ((await view(downloadOnly)).status === "finished" ? true : undefined), 300_000);
    for (const [controllerId, device] of devices) {
      expect(logOf(controllerId).some((l) => l.includes("\"status\":\"downloaded\"") && l.includes("aerie-os 4.0.0 verified")), controllerId).to.equal(true);
      expect((await slotVersions(device)).includes("4.0.0"), controllerId).to.equal(false);
    }
    const activation = (await campaign("agents-4.0.0-activate", releaseId, { groups: 1, healthGate: undefined })).id;
    await waitFor("activation finished", async () => ((await view(activation)).status === "finished" ? true : undefined), 180_000).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await view(activation))}\n${[...agents].map(([name, a]) => `${name}:\n${a.log.filter((l) => !l.includes("debug")).slice(-6).join("\n")}`).join("\n")}`);
    });
    // Installed, booted, healthy and committed: success for every device, and the registry shows 4.0.0 running.
    expect((await view(activation)).devices.map((d) => d.status)).to.deep.equal(["success", "success", "success"]);
    const running = await runningVersions();
    for (const [controllerId, device] of devices) {
      expect(await slotVersions(device), controllerId).to.include("4.0.0");
      expect(running.get(controllerId), controllerId).to.equal("4.0.0");
      expect(logOf(controllerId).some((l) => l.includes("artifact already downloaded")), controllerId).to.equal(true);
    }
  });
  it("cancels through Aerie: an agent that has not installed stops and says canceled; one already installing says cancel-rejected and completes", async () => {
    const waiting = "e2e-swu-1";
    const installing = "e2e-rauc-1";
    // e2e-swu-1's own maintenance window is closed: it downloads, verifies and waits before installing.
    await reconfigure(waiting, { maintenanceWindows: [closedWindow()] });
    // e2e-rauc-1's board does not come back from its reboot until released: install done, agent in `rebooting`.
    heldReboots.add(installing);
    const rebootsBefore = await devices.get(installing)!.reboots();
    const backendBefore = (await (devices.get(installing) as RaucDevice).backendCalls()).length;
    const id = (await campaign("agents-5.0.0-cancel", await release("5.0.0"), { targetFilter: `controllerId==${waiting},controllerId==${installing}`, groups: 1, healthGate: undefined })).id;
    await agents.get(waiting)!.waitForLog(/waiting for the device's maintenance window/, 120_000);
    await waitFor(`${installing} installed and rebooting`, async () => ((await devices.get(installing)!.reboots()) > rebootsBefore ? true : undefined), 120_000);

    // Before install: cancel one device's update through Aerie; the agent stops and acknowledges.
    const answer = await test.api.request<{ status: string }>("POST", `/api/v1/campaigns/${id}/devices/${waiting}/cancel`, {});
    expect(answer.status).to.equal("canceling");
    await agents.get(waiting)!.waitForLog(/"status":"canceled".*stopped while downloaded/, 60_000);
    await waitFor(`${waiting} counted canceled`, async () => ((await statusOf(id, waiting)) === "canceled" ? true : undefined), 60_000);
    expect(await slotVersions(devices.get(waiting)!)).not.to.include("5.0.0");

    // Installing: stopping the campaign cancels its open action; the agent refuses, too late.
    await test.api.request("POST", `/api/v1/campaigns/${id}/stop`, {});
    await agents.get(installing)!.waitForLog(/"status":"cancel-rejected".*already rebooting/, 60_000);
    // It goes on: boots the new slot, checks health, commits and reports success.
    heldReboots.delete(installing);
    await waitFor(`${installing} committed 5.0.0`, async () => ((await runningVersions()).get(installing) === "5.0.0" && logOf(installing).some((l) => l.includes("\"status\":\"success\"") && l.includes("5.0.0")) ? true : undefined), 120_000);
    await waitFor(`${installing} counted success`, async () => ((await statusOf(id, installing)) === "success" ? true : undefined), 60_000).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await view(id))}`);
    });
    expect((await view(id)).status).to.equal("stopped");
    const rauc = devices.get(installing) as RaucDevice;
    const slot = await rauc.primary();
    expect(await rauc.slotVersion(slot as "A" | "B")).to.equal("5.0.0");
    expect((await rauc.backendCalls()).slice(backendBefore)).to.include(`set-state ${slot} good`);
    expect((await runningVersions()).get(waiting)).not.to.equal("5.0.0");
    await reconfigure(waiting, { maintenanceWindows: [] });
  });
  it("asks for consent through hawkBit's confirmation flow: the device's hook accepts, rejects, or defers and accepts later", async () => {
    // Each board's consent hook (a user on the device, scripted): records what it was asked, then answers.
    const hooks: Record<string, string> = {
      "e2e-swu-1": "exit 0",
      "e2e-swu-2": "echo 'driver declined: vehicle moving'; exit 1",
      // Busy the first time (exit 10 = defer), accepts when asked again after deferSeconds.
      "e2e-rauc-1": `if [ -e "$(dirname "$0")/deferred" ]; then exit 0; fi; touch "$(dirname "$0")/deferred"; echo 'driver busy'; exit 10`,
    };
    for (const [controllerId, answer] of Object.entries(hooks)) {
      const device = devices.get(controllerId)!;
      const hook = device.path("consent-hook.sh");
      await writeFile(hook, `#!/bin/sh\necho "$AERIE_ACTION_TYPE $AERIE_RELEASE_NAME $AERIE_RELEASE_VERSION" >> "$(dirname "$0")/asked"\n${answer}\n`, { mode: 0o755 });
      await reconfigure(controllerId, { consent: { policy: "hook", hook: { command: [hook], timeoutSeconds: 10 }, deferSeconds: 2 } });
    }
    const id = (await campaign("agents-6.0.0-consent", await release("6.0.0"), { actionType: "soft", consentRequired: true, groups: 1, healthGate: undefined })).id;
    const finished = await waitFor("consent campaign finished", async () => {
      const current = await view(id);
      return current.status === "finished" ? current : undefined;
    }, 240_000).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await view(id))}\n${[...agents].map(([name, a]) => `${name}:\n${a.log.filter((l) => !l.includes("debug")).slice(-6).join("\n")}`).join("\n")}`);
    });
    expect(Object.fromEntries(finished.devices.map((d) => [d.controllerId, d.status]))).to.deep.equal({ "e2e-swu-1": "success", "e2e-swu-2": "rejected", "e2e-rauc-1": "success" });
    // The hook's reason reaches Aerie with the refusal.
    expect(finished.devices.find((d) => d.controllerId === "e2e-swu-2")!.detail).to.include("driver declined: vehicle moving");
    const asked = async (controllerId: string) => (await readFile(devices.get(controllerId)!.path("asked"), "utf8")).trim().split("\n");
    expect(await asked("e2e-swu-1")).to.deep.equal(["soft aerie-os 6.0.0"]);
    expect(await asked("e2e-swu-2")).to.deep.equal(["soft aerie-os 6.0.0"]);
    // Deferred once, asked again after deferSeconds, then accepted.
    expect(await asked("e2e-rauc-1")).to.deep.equal(["soft aerie-os 6.0.0", "soft aerie-os 6.0.0"]);
    const running = await runningVersions();
    expect(running.get("e2e-swu-1")).to.equal("6.0.0");
    expect(running.get("e2e-rauc-1")).to.equal("6.0.0");
    // The refusing device never downloaded nor installed anything.
    expect(await slotVersions(devices.get("e2e-swu-2")!)).not.to.include("6.0.0");
    expect(running.get("e2e-swu-2")).not.to.equal("6.0.0");
    for (const controllerId of Object.keys(hooks)) await reconfigure(controllerId, { consent: { policy: "accept", deferSeconds: 3600 } });
  });
});
