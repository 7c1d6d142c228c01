// Signed-only deployments, tried as an attacker would: a release of unsigned bytes is refused with nothing
// created, and a forged deployment notice (bytes and signature of the attacker's choosing, put on the
// device's topic) is refused by the device.
import { expect } from "chai";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import mqtt from "mqtt";
import pg from "pg";
import type { Deployment } from "../../bridge/protocol/schemas.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";
import { AerieApiError, waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { freePort } from "../helpers/env.js";
import { createTestPki, opensslAvailable, type TestPki } from "../helpers/pki.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

async function apiError(promise: Promise<unknown>): Promise<AerieApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error, "expected the API to refuse").to.be.instanceOf(AerieApiError);
  return error as AerieApiError;
}

describe("signed-only deployments", function () {
  this.timeout(180_000);

  describe("releases", () => {
    let test: TestStack;

    before(async () => {
      test = await startTestStack();
    });

    after(async () => {
      await test?.stop();
    });

    it("refuses a release with an unsigned artifact, naming it, and creates nothing", async () => {
      const { api } = test;
      const signed = randomBytes(4096);
      const unsigned = randomBytes(4096);
      const good = await api.uploadArtifact("so-good.swu", signed, signed.length);
      await api.signArtifact(good.id);
      const bad = await api.uploadArtifact("so-bad.swu", unsigned, unsigned.length);

      const error = await apiError(api.createRelease({ name: "so-os", version: "1.0.0", artifacts: [good.id, bad.id] }));
      expect(error.status).to.equal(400);
      const text = JSON.stringify(error.body);
      expect(text).to.contain(bad.id).and.contain("so-bad.swu").and.contain("no signature");
      expect(text).not.to.contain(good.id);
      // Nothing half-created: no release, no binding, no audit event, nothing in hawkBit.
      const releases = await api.request<{ name: string }[]>("GET", "/api/v1/releases");
      expect(releases.filter((r) => r.name === "so-os")).to.deep.equal([]);
      expect((await api.request<{ releaseId: string | null }>("GET", `/api/v1/artifacts/${good.id}`)).releaseId).to.equal(null);
      const db = new pg.Client({ connectionString: test.stack.databaseUrl });
      await db.connect();
      try {
        expect((await db.query("SELECT count(*)::int AS n FROM audit_events WHERE action = 'release.create'")).rows[0].n).to.equal(0);
      } finally {
        await db.end();
      }

      // Signed, the same release goes through.
      await api.signArtifact(bad.id);
      const release = await api.createRelease({ name: "so-os", version: "1.0.0", artifacts: [good.id, bad.id] });
      expect(release.hawkbitDistributionSetId).to.be.a("number");
    });
  });

  describe("devices", () => {
    let broker: EmbeddedBroker;
    let files: Server;
    let device: SimulatedDevice;
    const trusted = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const image = randomBytes(8192);
    const sha256 = createHash("sha256").update(image).digest("hex");
    let actionId = 100;

    before(async () => {
      broker = await startEmbeddedBroker({ host: "127.0.0.1", port: await freePort() });
      files = createServer((_req, res) => res.end(image)).listen(0, "127.0.0.1");
      await new Promise((resolve) => files.once("listening", resolve));
      device = new SimulatedDevice({ controllerId: "forge-1", mqttUrl: broker.url, keyring: new Map([[1, trusted.publicKey]]) });
      await device.start();
    });

    after(async () => {
      await device?.stop();
      files?.close();
      await broker?.stop();
    });

    function notice(signature: Deployment["artifacts"][number]["signature"] | undefined): Deployment {
      const url = `http://127.0.0.1:${(files.address() as AddressInfo).port}/os.swu`;
      return {
        actionId: ++actionId, type: "forced", release: { name: "evil-os", version: "6.6.6" }, consentRequired: false, issuedAt: new Date().toISOString(),
        artifacts: [{ filename: "os.swu", size: image.length, hashes: { sha256 }, ...(signature ? { signature } : {}), offers: [{ url, scheme: "s3-presigned", metric: 0 }] }],
      } as Deployment;
    }

    async function deliver(body: Deployment): Promise<{ status: string; detail?: string }> {
      const client = await mqtt.connectAsync(broker.url, { clientId: `forger-${body.actionId}` });
      try {
        const outcome = device.nextOutcome();
        await client.publishAsync("aerie/v1/devices/forge-1/deployment", JSON.stringify(body), { qos: 1 });
        return await waitFor("the device's outcome", () => Promise.race([outcome, new Promise<undefined>((r) => setTimeout(() => r(undefined), 200))]), 20_000);
      } finally {
        await client.endAsync();
      }
    }

    const raw = (key: typeof trusted.privateKey) => ({ format: "raw-rsa" as const, covers: "artifact" as const, algorithm: "rsa-pkcs1v15" as const, keyName: "aerie-signing", keyVersion: 1, value: sign("sha256", image, key).toString("base64") });

    it("installs a notice signed by the trusted key (the control case)", async () => {
      expect(await deliver(notice(raw(trusted.privateKey)))).to.include({ status: "success" });
    });

    it("refuses a notice whose signature was made by another key", async () => {
      const outcome = await deliver(notice(raw(attacker.privateKey)));
      expect(outcome).to.include({ status: "failure" });
      expect(outcome.detail).to.contain("signature does not verify");
    });

    it("refuses a notice without a signature, with an empty one, or claiming a format its key cannot make", async () => {
      expect((await deliver(notice(undefined))).detail).to.contain("not signed");
      expect((await deliver(notice({ ...raw(trusted.privateKey), value: "" }))).detail).to.contain("does not verify");
      expect((await deliver(notice({ ...raw(trusted.privateKey), format: "ecdsa" }))).detail).to.contain("cannot be made");
      expect((await deliver(notice({ ...raw(trusted.privateKey), keyVersion: 9 }))).detail).to.contain("not in the keyring");
      expect(device.version).to.equal("6.6.6"); // only the control case installed
    });
  });

  describe("trust anchors and the key's certificate", () => {
    let test: TestStack;
    let pki: TestPki;
    let otherPki: TestPki;
    let device: SimulatedDevice | undefined;
    let campaignId: string;

    const put = (path: string, pem: string) => test.api.send("PUT", `/api/v1/keyring/${path}`, pem, "application/x-pem-file");
    const csr = async () => (await test.api.send("POST", "/api/v1/keyring/csr", JSON.stringify({ subject: "CN=Aerie release signing" }), "application/json")).text;
    const auditCount = async (action: string) => {
      const db = new pg.Client({ connectionString: test.stack.databaseUrl });
      await db.connect();
      try {
        return (await db.query("SELECT count(*)::int AS n FROM audit_events WHERE action = $1", [action])).rows[0].n as number;
      } finally {
        await db.end();
      }
    };

    before(async function () {
      if (!(await opensslAvailable())) this.skip();
      test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
      pki = await createTestPki(await mkdtemp(join(test.dataDir, "pki-")), { intermediate: true });
      otherPki = await createTestPki(await mkdtemp(join(test.dataDir, "pki-other-")), { intermediate: true });
      expect((await put("certificate", await pki.issue(await csr()))).status).to.equal(200);
      expect((await put("trust-anchors", pki.rootPem)).status).to.equal(200);
    });

    after(async () => {
      await device?.stop();
      await test?.stop();
    });

    it("releases a CMS-signed .swu (verified against the chain) and keeps deploying it to a waiting device", async () => {
      const image = randomBytes(4096);
      const imageId = (await test.api.uploadArtifact("rootfs.ext4", image, image.length)).id;
      const built = await test.api.request<{ id: string }>("POST", "/api/v1/builds/swu", { filename: "live.swu", version: "3.0.0", hardwareCompatibility: ["1.0"], images: [{ artifactId: imageId }] });
      const release = await test.api.createRelease({ name: "live-os", version: "3.0.0", artifacts: [built.id] });
      device = new SimulatedDevice({ controllerId: "live-1", mqttUrl: test.stack.endpoints.mqtt, keyring: await test.keyring(), holdDeployments: true, token: await test.deviceToken("live-1") });
      await device.start();
      await waitFor("registration", async () => ((await test.api.devices()).total === 1 ? true : undefined), 20_000);
      campaignId = (await test.api.createCampaign({ name: "live", releaseId: release.id, targetFilter: "controllerId==live-*", groups: 1, start: true })).id;
      const notice = await waitFor("the notice", async () => device!.notices.find((n) => n.artifacts.length > 0), 30_000);
      expect(notice.artifacts[0]!.signature).to.include({ format: "cms", covers: "sw-description" });
    });

    it("refuses trust anchors under which the live release's signature would not verify, naming it, and audits nothing", async () => {
      const before = await auditCount("keyring.trust-anchors");
      const refused = await put("trust-anchors", otherPki.rootPem);
      expect(refused.status, refused.text).to.equal(409);
      expect(refused.text).to.contain("live-os 3.0.0").and.contain("live");
      expect(await auditCount("keyring.trust-anchors")).to.equal(before);
      const bundle = (await test.api.send("GET", "/api/v1/keyring/ca.pem", undefined)).text;
      expect(bundle).to.contain(pki.rootPem.trim().split("\n")[1]);
    });

    it("refuses a certificate from another CA for the key while the release is live", async () => {
      const refused = await put("certificate", await otherPki.issue(await csr()));
      expect(refused.status, refused.text).to.equal(409);
      expect(refused.text).to.contain("live-os 3.0.0");
    });

    it("accepts a change that keeps the live signatures verifying (the old root plus a new one), audited", async () => {
      const before = await auditCount("keyring.trust-anchors");
      const accepted = await put("trust-anchors", pki.rootPem + otherPki.rootPem);
      expect(accepted.status, accepted.text).to.equal(200);
      expect(await auditCount("keyring.trust-anchors")).to.equal(before + 1);
    });

    it("accepts the replacement once the campaign is stopped", async () => {
      await test.api.request("POST", `/api/v1/campaigns/${campaignId}/stop`);
      await waitFor("campaign stopped", async () => (["stopped", "finished", "aborted"].includes((await test.api.campaign(campaignId)).status) ? true : undefined), 30_000);
      const accepted = await put("trust-anchors", otherPki.rootPem);
      expect(accepted.status, accepted.text).to.equal(200);
    });
  });
});
