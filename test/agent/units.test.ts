// The agent's parts against real things: a real HTTP server (Range, cut connections, refusals),
// real keys and signatures, real processes for hooks and health checks, a real MQTT broker for the
// session's outbox, and the built single-file bundle.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import mqtt from "mqtt";
import { parseConfig, type AgentConfig } from "../../agent/config.js";
import { askConsent, inMaintenanceWindow, nextWindowStart } from "../../agent/consent.js";
import { downloadArtifact, rankOffers, DownloadError } from "../../agent/downloader.js";
import { runHealthChecks } from "../../agent/health.js";
import { createLogger } from "../../agent/log.js";
import { MqttSession } from "../../agent/mqtt-session.js";
import { StateStore } from "../../agent/state-store.js";
import { collect } from "../../agent/telemetry.js";
import { Keyring, verifyArtifact, VerificationError } from "../../agent/verifier.js";
import { readVersions } from "../../agent/versions.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";
import { freePort, tempDir } from "../helpers/env.js";
import { agentBundle, artifactEntry, notice, startFileServer, testSigningKey, writeJson, type FileServer } from "./helpers.js";

const exec = promisify(execFile);
const quiet = createLogger("error");

function baseConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    controllerId: "dev-1",
    token: "t0ken",
    mqtt: { url: "mqtt://127.0.0.1:1" },
    updateClient: "swupdate",
    hardware: "board",
    stateDir: join(dir, "state"),
    keyring: { publicKeys: { "1": "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----" } },
    ...extra,
  };
}

describe("aerie-agent parts", function () {
  this.timeout(60_000);
  let dir: { path: string; remove: () => Promise<void> };
  let server: FileServer;
  const key = testSigningKey();
  let keyring: Keyring;
  let image: Buffer;

  before(async () => {
    dir = await tempDir("aerie-agent-units-");
    server = await startFileServer(dir.path);
    keyring = new Keyring({ "1": key.publicPem });
    image = randomBytes(600_000);
    await writeFile(join(dir.path, "image.swu"), image);
  });
  after(async () => {
    await server?.close();
    await dir?.remove();
  });

  describe("configuration", () => {
    it("fills defaults, resolves paths, and names the field that is wrong", () => {
      const config = parseConfig(baseConfig(dir.path), "/etc/aerie-agent");
      expect(config.mqtt.baseTopic).to.equal("aerie/v1");
      expect(config.downloadDir).to.equal(join(dir.path, "state", "downloads"));
      expect(config.download.schemes).to.deep.equal(["s3-presigned"]);
      expect(config.consent.policy).to.equal("accept");
      expect(config.reboot.command).to.deep.equal(["systemctl", "reboot"]);
      expect(() => parseConfig({ ...baseConfig(dir.path), controllerId: "bad id!" })).to.throw(/\/controllerId/);
      expect(() => parseConfig({ ...baseConfig(dir.path), telemetry: { collectors: ["cpu-magic"] } })).to.throw(/\/telemetry\/collectors\/0/);
      expect(() => parseConfig({ ...baseConfig(dir.path), token: undefined })).to.throw(/token or \/tokenFile/);
      expect(() => parseConfig({ ...baseConfig(dir.path), consent: { policy: "hook" } })).to.throw(/\/consent\/hook/);
      expect(() => parseConfig({ ...baseConfig(dir.path), download: { schemes: ["hawkbit-ddi"] } })).to.throw(/\/download\/schemes\/0/);
      const example = parseConfig(JSON.parse(readFileSync(join(process.cwd(), "agent", "config.example.json"), "utf8")), "/etc/aerie-agent");
      expect(example.updateClient).to.equal("rauc");
      const error = (() => {
        try {
          parseConfig({ ...baseConfig(dir.path), token: "s3cret-token", mqtt: { url: "http://x" } });
        } catch (e) {
          return (e as Error).message;
        }
      })();
      expect(error).to.match(/\/mqtt\/url/).and.not.include("s3cret-token");
    });
  });

  describe("state store", () => {
    it("keeps the state across a restart, writes atomically with private permissions, and refuses a state it cannot read", async () => {
      const stateDir = join(dir.path, "store");
      const store = new StateStore(stateDir);
      store.update((s) => {
        s.outbox.push({ kind: "feedback", body: { messageId: "m-1", actionId: 7, status: "installing" } });
        s.slotVersions["rootfs.1"] = "2.0.0";
      });
      store.finishAction(7);
      // A torn temp file left by a power cut mid-write does not matter: the rename never happened.
      await writeFile(join(stateDir, "state.json.tmp"), "{\"version\":1,\"outb");
      const again = new StateStore(stateDir);
      expect(again.state.outbox[0].body.messageId).to.equal("m-1");
      expect(again.state.finished).to.deep.equal([7]);
      expect(again.state.slotVersions).to.deep.equal({ "rootfs.1": "2.0.0" });
      expect((await stat(join(stateDir, "state.json"))).mode & 0o777).to.equal(0o600);
      await writeFile(join(stateDir, "state.json"), "garbage");
      expect(() => new StateStore(stateDir)).to.throw();
    });
  });

  describe("downloader", () => {
    const options = (sub: string) => ({ dir: join(dir.path, sub), schemes: ["s3-presigned"], retries: 3, retryDelayMs: 10, stallTimeoutMs: 5000 });

    it("ranks offers: supported schemes, unexpired, lowest metric first", () => {
      const offers = rankOffers([
        { url: "http://a", scheme: "s3-presigned", metric: 20 },
        { url: "http://b", scheme: "hawkbit-ddi", metric: 0 },
        { url: "http://c", scheme: "s3-presigned", metric: 5, expiresAt: new Date(Date.now() - 1000).toISOString() },
        { url: "http://d", scheme: "s3-presigned", metric: 10 },
      ], ["s3-presigned"]);
      expect(offers.map((o) => o.url)).to.deep.equal(["http://d", "http://a"]);
    });

    it("resumes a cut transfer with HTTP Range and gets every byte", async () => {
      const sub = join(dir.path, "dl-resume");
      await exec("mkdir", ["-p", sub]);
      const artifact = await artifactEntry(join(dir.path, "image.swu"), "image.swu", `${server.url}/image.swu`, key.privateKey);
      server.cutAfter("/image.swu", 200_000, 2);
      const before = server.requests.length;
      const progress: number[] = [];
      const path = await downloadArtifact(artifact, { ...options("dl-resume"), onProgress: (received) => progress.push(received) });
      expect((await readFile(path)).equals(image)).to.equal(true);
      const ranges = server.requests.slice(before).map((r) => r.range);
      expect(ranges[0]).to.equal(undefined);
      expect(ranges[1]).to.match(/^bytes=\d+-$/);
      expect(Number(/=(\d+)/.exec(ranges[1]!)![1])).to.be.greaterThan(0);
      expect(progress.at(-1)).to.equal(image.length);
      await verifyArtifact(path, artifact, keyring);
      // A second action with the same file reuses it without a request.
      const count = server.requests.length;
      expect(await downloadArtifact(artifact, options("dl-resume"))).to.equal(path);
      expect(server.requests.length).to.equal(count);
    });

    it("asks for fresh offers when the link is refused, and gives up after the bounded retries", async () => {
      await exec("mkdir", ["-p", join(dir.path, "dl-fresh"), join(dir.path, "dl-fail")]);
      const artifact = await artifactEntry(join(dir.path, "image.swu"), "image.swu", `${server.url}/expired/image.swu`, key.privateKey);
      server.failWith("/expired/image.swu", 403, 100);
      let asked = 0;
      const path = await downloadArtifact(artifact, { ...options("dl-fresh"), refreshOffers: async () => {
        asked++;
        return [{ url: `${server.url}/image.swu`, scheme: "s3-presigned", metric: 1 }];
      } });
      expect(asked).to.equal(1);
      expect((await readFile(path)).equals(image)).to.equal(true);
      server.failWith("/image.swu", 500, 100);
      const failed = await downloadArtifact({ ...artifact, offers: [{ url: `${server.url}/image.swu`, scheme: "s3-presigned", metric: 1 }] }, { ...options("dl-fail"), retries: 2 }).catch((e: Error) => e);
      expect(failed).to.be.instanceOf(DownloadError);
      expect((failed as Error).message).to.match(/after 3 attempts: HTTP 500/);
      server.failWith("/image.swu", 500, 0);
    });
  });

  describe("verifier", () => {
    it("accepts the provisioned key's signature and refuses a changed byte, an unknown key version and an unsigned artifact", async () => {
      const path = join(dir.path, "image.swu");
      const artifact = await artifactEntry(path, "image.swu", "http://unused", key.privateKey);
      await verifyArtifact(path, artifact, keyring);
      const tampered = join(dir.path, "tampered.swu");
      const bytes = Buffer.from(image);
      bytes[12345] ^= 1;
      await writeFile(tampered, bytes);
      await verifyArtifact(tampered, artifact, keyring).then(() => expect.fail("accepted"), (e: Error) => expect(e.message).to.match(/sha256 .* does not match/));
      // Right hash, signature by another key (e.g. from an unauthenticated source).
      const other = testSigningKey();
      const forged = await artifactEntry(path, "image.swu", "http://unused", other.privateKey);
      await verifyArtifact(path, forged, keyring).then(() => expect.fail("accepted"), (e: Error) => expect(e.message).to.match(/does not verify with key version 1/));
      await verifyArtifact(path, { ...artifact, signature: { ...artifact.signature!, keyVersion: 9 } }, keyring).then(() => expect.fail("accepted"), (e: Error) => expect(e).to.be.instanceOf(VerificationError).and.have.property("message").match(/key version 9, which is not in this device's keyring/));
      await verifyArtifact(path, { ...artifact, signature: undefined as never }, keyring).then(() => expect.fail("accepted"), (e: Error) => expect(e.message).to.match(/no signature/));
    });
  });

  describe("consent, windows, health, versions, telemetry", () => {
    it("asks the consent hook (exit 0 accept, 10 defer, other reject) with the action in its environment", async () => {
      const hook = join(dir.path, "hook.sh");
      await writeFile(hook, "#!/bin/sh\necho \"asked $AERIE_ACTION_ID $AERIE_RELEASE_VERSION\" >> \"$(dirname \"$0\")/hook.log\"\ncase \"$AERIE_RELEASE_VERSION\" in 1.*) exit 0;; 2.*) echo 'user is busy'; exit 10;; *) echo 'not on this truck'; exit 3;; esac\n", { mode: 0o755 });
      const config = { policy: "hook" as const, hook: { command: [hook] }, deferSeconds: 60 };
      const now = new Date("2026-12-05T10:00:00Z");
      expect(await askConsent(config, notice(1, "1.0.0", []), now)).to.deep.equal({ decision: "accept" });
      expect(await askConsent(config, notice(2, "2.0.0", []), now)).to.deep.equal({ decision: "defer", until: new Date("2026-12-05T10:01:00Z"), reason: "user is busy" });
      expect(await askConsent(config, notice(3, "3.0.0", []), now)).to.deep.equal({ decision: "reject", reason: "not on this truck" });
      expect(await readFile(join(dir.path, "hook.log"), "utf8")).to.equal("asked 1 1.0.0\nasked 2 2.0.0\nasked 3 3.0.0\n");
      const slow = await askConsent({ policy: "hook", hook: { command: ["sleep", "10"], timeoutSeconds: 0.2 }, deferSeconds: 5 }, notice(4, "1.0.0", []), now);
      expect(slow.decision).to.equal("defer");
    });

    it("knows the maintenance windows, also across midnight", () => {
      const at = (h: number, m = 0) => new Date(2026, 11, 5, h, m);
      expect(inMaintenanceWindow([], at(12))).to.equal(true);
      const night = [{ from: "23:00", to: "02:30" }];
      expect(inMaintenanceWindow(night, at(23, 30))).to.equal(true);
      expect(inMaintenanceWindow(night, at(1))).to.equal(true);
      expect(inMaintenanceWindow(night, at(2, 30))).to.equal(false);
      expect(nextWindowStart(night, at(12)).getTime()).to.equal(at(23).getTime());
      expect(nextWindowStart([{ from: "03:00", to: "04:00" }], at(12)).getTime()).to.equal(new Date(2026, 11, 6, 3, 0).getTime());
    });

    it("runs health checks with timeouts and keeps the failing checks' output", async () => {
      const result = await runHealthChecks([
        { name: "ok", command: ["true"] },
        { name: "service", command: ["sh", "-c", "echo 'app.service: failed to start'; exit 4"] },
        { name: "hangs", command: ["sleep", "30"], timeoutSeconds: 0.3 },
      ]);
      expect(result.healthy).to.equal(false);
      expect(result.checks).to.deep.equal({ ok: true, service: false, hangs: false });
      expect(result.details.join("\n")).to.include("app.service: failed to start").and.include("exit 4").and.include("hangs failed (sleep: timed out)");
      expect((await runHealthChecks([{ name: "ok", command: ["true"] }])).healthy).to.equal(true);
    });

    it("reads sw-versions and JSON version files, and collects telemetry from /proc", async () => {
      await writeFile(join(dir.path, "sw-versions"), "# installed\nrootfs 1.4.2\nbootloader 2023.04\n");
      expect(await readVersions(join(dir.path, "sw-versions"))).to.deep.equal({ rootfs: "1.4.2", bootloader: "2023.04" });
      await writeJson(join(dir.path, "versions.json"), { rootfs: "2.0.0", n: 3 });
      expect(await readVersions(join(dir.path, "versions.json"))).to.deep.equal({ rootfs: "2.0.0" });
      expect(await readVersions(join(dir.path, "missing"))).to.deep.equal({});
      await writeFile(join(dir.path, "temp"), "47250\n");
      const metrics = await collect(["uptime", "load", "memory", "disk", "temperature"], { diskPath: dir.path, temperaturePath: join(dir.path, "temp") });
      expect(metrics.uptimeSeconds).to.be.a("number");
      expect(metrics.load1).to.be.a("number");
      expect(metrics.memTotalKb).to.be.greaterThan(0);
      expect(metrics.diskTotalBytes).to.be.greaterThan(0);
      expect(metrics.temperatureC).to.equal(47.3);
      expect(await collect(["uptime"], { diskPath: "/" })).to.have.keys(["uptimeSeconds"]);
    });
  });

  describe("MQTT session", () => {
    let broker: EmbeddedBroker;
    let port: number;

    afterEach(async () => {
      await broker?.stop().catch(() => undefined);
    });

    it("logs in with the token, announces itself, and delivers reports made while the broker was away, in order, once per messageId", async () => {
      port = await freePort();
      const stateDir = join(dir.path, "session-state");
      const config = parseConfig({ ...baseConfig(dir.path), stateDir, mqtt: { url: `mqtt://127.0.0.1:${port}` } }) as AgentConfig;
      // Reports queued before any broker is up (e.g. by the previous process before a power cut).
      const store = new StateStore(stateDir);
      let session = new MqttSession(config, store, quiet, async () => ({ updateClient: "swupdate", hardware: "board" }));
      session.report("feedback", { actionId: 5, status: "installing" });
      session.report("feedback", { actionId: 5, status: "rebooting" });
      session.start();
      await new Promise((r) => setTimeout(r, 300));
      await session.stop();
      const queued = new StateStore(stateDir).state.outbox.map((e) => e.body.messageId);
      expect(queued).to.have.length(2);

      const logins: { username?: string; password?: string }[] = [];
      broker = await startEmbeddedBroker({
        host: "127.0.0.1", port,
        auth: {
          authenticate: (_client, username, password, done) => {
            logins.push({ username, password: password?.toString() });
            done(null, username === "dev-1" && password?.toString() === "t0ken");
          },
        },
      });
      const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: "dev-1", password: "t0ken", clientId: "watcher" });
      const seen: { topic: string; body: Record<string, unknown>; retain: boolean }[] = [];
      watcher.on("message", (topic, payload, packet) => seen.push({ topic, body: JSON.parse(payload.toString()), retain: packet.retain }));
      await watcher.subscribeAsync("aerie/v1/devices/dev-1/#", { qos: 1 });

      session = new MqttSession(config, new StateStore(stateDir), quiet, async () => ({ updateClient: "swupdate", hardware: "board", versions: { rootfs: "1.0.0" } }));
      session.start();
      expect(await session.drained(10_000)).to.equal(true);
      await new Promise((r) => setTimeout(r, 200));
      const leaves = seen.map((m) => m.topic.split("/").pop());
      expect(leaves.slice(0, 2)).to.deep.equal(["availability", "hello"]);
      expect(seen[0].body).to.deep.equal({ state: "online" });
      const feedback = seen.filter((m) => m.topic.endsWith("/feedback")).map((m) => [m.body.messageId, m.body.status]);
      expect(feedback).to.deep.equal([[queued[0], "installing"], [queued[1], "rebooting"]]);
      expect(logins.at(-1)).to.deep.equal({ username: "dev-1", password: "t0ken" });
      expect(new StateStore(stateDir).state.outbox).to.deep.equal([]);

      // The last will: the broker tells everyone the device went away.
      const client = (session as unknown as { client: { stream: { destroy(): void } } }).client;
      client.stream.destroy();
      await new Promise((r) => setTimeout(r, 500));
      expect(seen.some((m) => m.topic.endsWith("/availability") && m.body.state === "offline")).to.equal(true);
      await session.stop();
      await watcher.endAsync();
    });
  });

  describe("bundle", () => {
    it("builds one file that runs on this Node, checks its configuration and never prints the token", async () => {
      const bundle = await agentBundle();
      const text = await readFile(bundle, "utf8");
      expect(text.startsWith("#!/usr/bin/env node")).to.equal(true);
      expect(text).not.to.match(/require\("(mqtt|ajv)"\)/);
      const config = join(dir.path, "bundle-config.json");
      await writeJson(config, baseConfig(dir.path, { token: "s3cret-token" }));
      const { stdout } = await exec(process.execPath, [bundle, "--config", config, "--check-config"]);
      expect(JSON.parse(stdout).controllerId).to.equal("dev-1");
      expect(stdout).not.to.include("s3cret-token");
      await writeJson(config, { ...baseConfig(dir.path), hardware: 7 });
      const failed = await exec(process.execPath, [bundle, "--config", config]).catch((e: { code: number; stderr: string }) => e);
      expect((failed as { code: number }).code).to.equal(2);
      expect((failed as { stderr: string }).stderr).to.include("/hardware must be string");
      expect((await readdir(join(dir.path))).length).to.be.greaterThan(0);
      void createHash;
    });
  });
});
