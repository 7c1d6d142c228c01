import { constants, createHash, verify } from "node:crypto";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { TransitSigner } from "../../signing/vault/transit-signer.js";
import { VaultTransitError } from "../../signing/vault/errors.js";
import { verifyDigestSignature } from "../../signing/verify.js";
import { freePort, tempDir } from "../helpers/env.js";
import { createTestPki, opensslAvailable } from "../helpers/pki.js";
import { standinFixture, type StandinFixture } from "./fixtures.js";

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** Forwards to Vault but answers the first `failures` requests with `status` itself. */
async function flakyProxy(target: string, failures: number, status: number): Promise<{ url: string; server: Server; seen: () => number }> {
  let seen = 0;
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    seen++;
    if (seen <= failures) {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ errors: ["local node not active but active cluster node not found"] }));
      return;
    }
    const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen: () => seen };
}

describe("TransitSigner", function () {
  let vault: StandinFixture;
  const message = Buffer.from("walking skeleton artifact");
  const digest = createHash("sha256").update(message).digest();

  before(async () => {
    vault = await standinFixture({ tokenTtlSeconds: 1 });
  });
  after(async () => {
    await vault.remove();
  });

  const signer = (keyName: string, extra: Partial<ConstructorParameters<typeof TransitSigner>[0]> = {}) =>
    new TransitSigner({ endpoint: vault.url, token: vault.rootToken, keyName, retryDelayMs: 5, ...extra });

  it("signs a sha256 digest with RSA PKCS#1 v1.5, RSA-PSS and ECDSA P-256, each verifiable offline", async () => {
    const rsa = signer("release-rsa");
    await rsa.ensureKey("rsa-2048");
    const ec = signer("release-ec");
    await ec.ensureKey("ecdsa-p256");
    const rsaKey = (await rsa.publicKey()).key;
    const ecKey = (await ec.publicKey()).key;

    const pkcs1 = await rsa.sign(digest, { algorithm: "rsa-pkcs1v15" });
    expect(pkcs1).to.include({ keyVersion: 1, algorithm: "rsa-pkcs1v15" });
    expect(verify("sha256", message, rsaKey, pkcs1.signature)).to.equal(true);

    const pss = await rsa.sign(digest, { algorithm: "rsa-pss" });
    expect(pss.pssSaltLength).to.equal(256 - 34);
    expect(verify("sha256", message, { key: rsaKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pss.pssSaltLength }, pss.signature)).to.equal(true);

    const ecdsa = await ec.sign(digest, { algorithm: "ecdsa-p256" });
    expect(verify("sha256", message, ecKey, ecdsa.signature)).to.equal(true);
    expect(verifyDigestSignature((await ec.publicKey()).pem, { digest, ...ecdsa })).to.equal(true);

    const flipped = Buffer.from(digest);
    flipped[31] ^= 1;
    expect(verifyDigestSignature(ecKey, { digest: flipped, ...ecdsa })).to.equal(false);
    expect(verifyDigestSignature(rsaKey, { digest: flipped, ...pkcs1 })).to.equal(false);
  });

  it("refuses Ed25519, mismatched key types and algorithms, and digests of the wrong size", async () => {
    expect((await rejection(signer("ed").ensureKey("ed25519"))).message).to.match(/Ed25519.*OpenSSL 3\.0.*CMS/);
    const ec = signer("mismatch");
    await ec.ensureKey("ecdsa-p256");
    expect((await rejection(ec.ensureKey("rsa-2048"))).message).to.match(/already exists with type ecdsa-p256/);
    expect((await rejection(ec.sign(digest, { algorithm: "rsa-pss" }))).message).to.match(/cannot make rsa-pss/);
    expect((await rejection(ec.sign(Buffer.alloc(20), { algorithm: "ecdsa-p256" }))).message).to.match(/32-byte/);
  });

  it("pins the key version across a rotation and records it", async () => {
    const key = signer("rotating");
    await key.ensureKey("ecdsa-p256");
    expect(await key.rotate()).to.equal(2);
    const latest = await key.sign(digest, { algorithm: "ecdsa-p256" });
    const pinned = await key.sign(digest, { algorithm: "ecdsa-p256", keyVersion: 1 });
    expect(latest.keyVersion).to.equal(2);
    expect(pinned.keyVersion).to.equal(1);
    expect(verifyDigestSignature((await key.publicKey(1)).key, { digest, ...pinned })).to.equal(true);
    expect(verifyDigestSignature((await key.publicKey(2)).key, { digest, ...pinned })).to.equal(false);
    expect((await rejection(key.sign(digest, { algorithm: "ecdsa-p256", keyVersion: 7 }))).message).to.match(/no version 7/);
  });

  it("authenticates with AppRole and logs in again when the client token expires", async () => {
    const key = new TransitSigner({ endpoint: vault.url, appRole: vault.appRole, keyName: "approle-key" });
    await key.ensureKey("ecdsa-p256");
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const signed = await key.sign(digest, { algorithm: "ecdsa-p256" });
    expect(signed.keyVersion).to.equal(1);
  });

  it("turns Vault failures into clear messages that never contain the token", async () => {
    const denied = await rejection(new TransitSigner({ endpoint: vault.url, token: "s.not-a-real-token", keyName: "x" }).ensureKey("ecdsa-p256"));
    expect(denied).to.be.instanceOf(VaultTransitError);
    expect(denied.message).to.match(/HTTP 403.*permission denied/);
    expect(denied.message + String(denied.stack)).to.not.include("s.not-a-real-token");
    const wrongRole = await rejection(new TransitSigner({ endpoint: vault.url, appRole: { roleId: vault.appRole.roleId, secretId: "nope" }, keyName: "x" }).keyInfo());
    expect(wrongRole.message).to.match(/AppRole login failed \(HTTP 400\)/);
    expect(wrongRole.message).to.not.include(vault.appRole.roleId);
    const port = await freePort();
    const unreachable = await rejection(new TransitSigner({ endpoint: `http://127.0.0.1:${port}`, token: vault.rootToken, keyName: "x", retries: 1, retryDelayMs: 5 }).keyInfo());
    expect(unreachable.message).to.match(/cannot reach http:\/\/127\.0\.0\.1:\d+\/? \(ECONNREFUSED\)/);
    expect(unreachable.message).to.not.include(vault.rootToken);
    const missing = await rejection(signer("never-created").keyInfo());
    expect(missing.message).to.match(/read key failed \(HTTP 404\)/);
  });

  it("retries 5xx answers with backoff, and gives up after the configured attempts", async () => {
    await signer("flaky").ensureKey("ecdsa-p256");
    const recovering = await flakyProxy(vault.url, 2, 503);
    try {
      const signed = await signer("flaky", { endpoint: recovering.url, retries: 3 }).sign(digest, { algorithm: "ecdsa-p256" });
      expect(signed.keyVersion).to.equal(1);
      expect(recovering.seen()).to.equal(4);
    } finally {
      recovering.server.close();
    }
    const down = await flakyProxy(vault.url, 100, 500);
    try {
      const error = await rejection(signer("flaky", { endpoint: down.url, retries: 2 }).keyInfo());
      expect(error.message).to.match(/HTTP 500/);
      expect(down.seen()).to.equal(3);
    } finally {
      down.server.close();
    }
  });

  it("creates a CSR for the transit key and stores the CA-signed chain with the key version", async function () {
    if (!(await opensslAvailable())) this.skip();
    const dir = await tempDir("aerie-pki-");
    try {
      const pki = await createTestPki(dir.path, { intermediate: true });
      const key = signer("with-cert");
      await key.ensureKey("rsa-2048");
      const csr = await key.createCsr("CN=Aerie release signing, O=Aerie Test, C=DE");
      const chain = await pki.issue(csr);
      await key.setCertificate(chain);
      const stored = await key.publicKey(1);
      expect(stored.certificateChain.match(/BEGIN CERTIFICATE/g)).to.have.length(2);
      const { X509Certificate } = await import("node:crypto");
      const leaf = new X509Certificate(stored.certificateChain);
      expect(leaf.subject).to.include("CN=Aerie release signing");
      expect(leaf.publicKey.export({ format: "pem", type: "spki" })).to.equal(stored.pem);
      const other = signer("other-key");
      await other.ensureKey("ecdsa-p256");
      expect((await rejection(other.setCertificate(chain))).message).to.match(/HTTP 400.*does not match/);
    } finally {
      await dir.remove();
    }
  });
});
