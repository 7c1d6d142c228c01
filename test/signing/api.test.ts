// Signed artifacts built through Aerie's API on the embedded stack (Vault stand-in, s3rver,
// PostgreSQL), downloaded back from S3 and checked by the real swupdate and rauc against the CA
// bundle the API hands to devices.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadEmbeddedSecrets } from "../../core/secrets.js";
import type { AerieStack } from "../../core/stack.js";
import { ArtifactStore } from "../../core/storage/artifact-store.js";
import { AerieApiError, type AerieClient } from "../../scripts/lib/aerie-client.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import { createTestPki, type TestPki } from "../helpers/pki.js";
import { hasTool } from "./fixtures.js";
import { raucExtract, raucInfo, swupdateCheck } from "./tools.js";

interface BuiltArtifact {
  id: string;
  filename: string;
  sha256: string;
  size: number;
  signatures: { format: string; keyName: string; keyVersion: number; algorithm: string; certificate: string | null; value: string }[];
}

describe("signing through the API, verified by swupdate and rauc", function () {
  this.timeout(180_000);
  let test: TestStack;
  let dir: { path: string };
  let stack: AerieStack;
  let api: AerieClient;
  let store: ArtifactStore;
  let pki: TestPki;
  let caFile: string;
  let imageId: string;

  async function send(method: string, path: string, body: string, contentType: string): Promise<{ status: number; text: string }> {
    const response = await fetch(`${stack.endpoints.api}${path}`, { method, body: method === "GET" ? undefined : body, headers: { "content-type": contentType, ...api.authorization } });
    return { status: response.status, text: await response.text() };
  }

  async function expectStatus(promise: Promise<unknown>, status: number, messagePart: string): Promise<void> {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error, `expected HTTP ${status}`).to.be.instanceOf(AerieApiError);
    expect((error as AerieApiError).status, JSON.stringify((error as AerieApiError).body)).to.equal(status);
    expect(JSON.stringify((error as AerieApiError).body)).to.contain(messagePart);
  }

  async function download(artifact: BuiltArtifact): Promise<string> {
    const row = await api.request<{ sha256: string }>("GET", `/api/v1/artifacts/${artifact.id}`);
    const path = join(dir.path, `${artifact.id}-${artifact.filename}`);
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(`artifacts/${artifact.id}/${artifact.filename}`)) chunks.push(chunk as Buffer);
    await writeFile(path, Buffer.concat(chunks));
    expect(row.sha256).to.equal(artifact.sha256);
    return path;
  }

  async function flipByte(path: string, offsetFromEnd: number): Promise<string> {
    const bytes = await readFile(path);
    bytes[bytes.length - offsetFromEnd]! ^= 0x01;
    const tampered = `${path}.tampered`;
    await writeFile(tampered, bytes);
    return tampered;
  }

  before(async function () {
    for (const tool of ["swupdate", "rauc", "mksquashfs", "openssl"]) {
      if (!(await hasTool(tool))) this.skip();
    }
    test = await startTestStack();
    ({ stack, api } = test);
    const { config } = test;
    dir = { path: test.dataDir };
    const keys = await loadEmbeddedSecrets(test.dataDir);
    store = new ArtifactStore({ endpoint: stack.endpoints.s3, region: config.s3Region, bucket: config.s3Bucket, accessKeyId: keys.s3AccessKeyId, secretAccessKey: keys.s3SecretAccessKey });
    pki = await createTestPki(dir.path, { intermediate: true });
    caFile = join(dir.path, "ca-from-api.pem");
    const image = randomBytes(300 * 1024);
    imageId = (await api.uploadArtifact("rootfs.ext4", image, image.length)).id;
  });

  after(async () => {
    store?.destroy();
    await test?.stop();
  });

  it("refuses CMS builds until the transit key has a certificate, naming the steps", async () => {
    await expectStatus(
      api.request("POST", "/api/v1/builds/swu", { filename: "u.swu", version: "1", hardwareCompatibility: ["1.0"], images: [{ artifactId: imageId }] }),
      409,
      "aerie keyring csr",
    );
    expect((await send("GET", "/api/v1/keyring/ca.pem", "", "text/plain")).status).to.equal(404);
  });

  it("puts a CA-issued certificate on the transit key and serves the CA bundle", async () => {
    const csr = await fetch(`${stack.endpoints.api}/api/v1/keyring/csr`, { method: "POST", headers: { "content-type": "application/json", ...api.authorization }, body: JSON.stringify({ subject: "CN=Aerie release signing, O=Aerie Test" }) });
    expect(csr.status).to.equal(200);
    const chain = await pki.issue(await csr.text());
    const otherKeyChain = await pki.issue((await import("node:child_process")).execFileSync("openssl", ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "/dev/null", "-subj", "/CN=other"]).toString());
    const wrong = await send("PUT", "/api/v1/keyring/certificate", otherKeyChain, "application/x-pem-file");
    expect(wrong.status, wrong.text).to.be.within(400, 499);
    expect((await send("PUT", "/api/v1/keyring/certificate", chain, "application/x-pem-file")).status).to.equal(200);

    const notCa = await send("PUT", "/api/v1/keyring/trust-anchors", chain, "application/x-pem-file");
    expect(notCa.status).to.equal(400);
    expect(notCa.text).to.contain("is not a CA certificate");
    expect((await send("PUT", "/api/v1/keyring/trust-anchors", pki.rootPem, "application/x-pem-file")).status).to.equal(200);

    const bundle = await send("GET", "/api/v1/keyring/ca.pem", "", "text/plain");
    expect(bundle.status).to.equal(200);
    expect(bundle.text.match(/BEGIN CERTIFICATE/g)).to.have.length(2); // root + intermediate, no leaf
    await writeFile(caFile, bundle.text);
  });

  for (const algorithm of ["rsa-pkcs1v15", "rsa-pss"] as const) {
    it(`builds a CMS-signed .swu (${algorithm}) that swupdate accepts, and rejects with one flipped byte`, async () => {
      const built = await api.request<BuiltArtifact>("POST", "/api/v1/builds/swu", {
        filename: `update-${algorithm}.swu`,
        algorithm,
        version: "2.0.0",
        hardwareCompatibility: ["1.0"],
        images: [{ artifactId: imageId, type: "raw", device: "/dev/null" }],
      });
      expect(built.signatures).to.have.length(1);
      expect(built.signatures[0]).to.include({ format: "swu-cms", keyName: "aerie-signing", keyVersion: 1, algorithm });
      expect(built.signatures[0]!.certificate).to.contain("BEGIN CERTIFICATE");
      const path = await download(built);
      const accepted = await swupdateCheck(path, caFile, "aerie-board:1.0");
      expect(accepted.ok, accepted.output).to.equal(true);
      const rejected = await swupdateCheck(await flipByte(path, 1024), caFile, "aerie-board:1.0");
      expect(rejected.ok, "a flipped image byte must be rejected").to.equal(false);
    });
  }

  for (const format of ["plain", "verity"] as const) {
    it(`builds a ${format} RAUC bundle that rauc info and extract accept, and rejects a flipped payload byte`, async () => {
      const built = await api.request<BuiltArtifact>("POST", "/api/v1/builds/rauc", {
        filename: `update-${format}.raucb`,
        format,
        compatible: "aerie-board",
        version: "2.0.0",
        images: [{ artifactId: imageId, slotClass: "rootfs" }],
      });
      expect(built.signatures[0]).to.include({ format: `rauc-${format}`, keyVersion: 1, algorithm: "rsa-pkcs1v15" });
      const path = await download(built);
      const info = await raucInfo(path, caFile);
      expect(info.ok, info.output).to.equal(true);
      expect(info.output).to.contain("aerie-board");
      const extracted = await raucExtract(path, caFile, join(dir.path, `extract-${format}`));
      expect(extracted.ok, extracted.output).to.equal(true);
      expect(await readFile(join(dir.path, `extract-${format}`, "rootfs.ext4"))).to.have.length(300 * 1024);
      // The first bytes are the squashfs payload: plain bundles fail `info`, verity bundles `extract`.
      const tampered = `${path}.tampered`;
      const bytes = await readFile(path);
      bytes[5000]! ^= 0x01;
      await writeFile(tampered, bytes);
      const check = format === "plain" ? await raucInfo(tampered, caFile) : await raucExtract(tampered, caFile, join(dir.path, `tampered-${format}`));
      expect(check.ok, "a flipped payload byte must be rejected").to.equal(false);
    });
  }

  it("answers bad build requests with 4xx and a reason", async () => {
    await expectStatus(api.request("POST", "/api/v1/builds/rauc", { filename: "x.raucb", compatible: "b", version: "1", images: [{ artifactId: "00000000-0000-4000-8000-000000000000", slotClass: "rootfs" }] }), 404, "artifact");
    await expectStatus(api.request("POST", "/api/v1/builds/swu", { filename: "x.swu", swDescription: "software = {};", version: "1", hardwareCompatibility: ["1"], images: [{ artifactId: imageId }] }), 400, "invalid request body");
    await expectStatus(api.request("POST", "/api/v1/builds/rauc", { filename: "x.raucb", compatible: "b", version: "1", algorithm: "ecdsa-p256", images: [{ artifactId: imageId, slotClass: "rootfs" }] }), 400, "ecdsa-p256");
    await expectStatus(api.request("POST", "/api/v1/builds/swu", { filename: "../x.swu", version: "1", hardwareCompatibility: ["1"], images: [{ artifactId: imageId }] }), 400, "filename");
  });
});
