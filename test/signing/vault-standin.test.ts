import { constants, createHash, createPublicKey, verify } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { standinFixture, type StandinFixture } from "./fixtures.js";

interface Reply {
  status: number;
  body: any;
  text: string;
}

describe("vault stand-in", function () {
  let vault: StandinFixture;
  const message = Buffer.from("aerie artifact");
  const digest = createHash("sha256").update(message).digest();

  before(async () => {
    vault = await standinFixture();
  });
  after(async () => {
    await vault.remove();
  });

  async function call(method: string, path: string, body?: unknown, token: string | null = vault.rootToken): Promise<Reply> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers["X-Vault-Token"] = token;
    const response = await fetch(`${vault.url}/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
  }

  const signature = (reply: Reply): Buffer => Buffer.from(String(reply.body.data.signature).split(":")[2], "base64");

  it("answers sys/health without a token", async () => {
    const reply = await call("GET", "sys/health", undefined, null);
    expect(reply.status).to.equal(200);
    expect(reply.body).to.include({ initialized: true, sealed: false, standby: false });
  });

  it("refuses missing and wrong tokens with Vault's 403", async () => {
    for (const token of [null, "wrong"]) {
      const reply = await call("POST", "transit/keys/k", { type: "ecdsa-p256" }, token);
      expect(reply.status).to.equal(403);
      expect(reply.body).to.deep.equal({ errors: ["permission denied"] });
    }
  });

  it("creates and reads keys in Vault's shape, and treats create as an upsert", async () => {
    const created = await call("POST", "transit/keys/shape", { type: "rsa-2048" });
    expect(created.status).to.equal(200);
    const again = await call("POST", "transit/keys/shape", { type: "ecdsa-p256" });
    expect(again.body.data.type).to.equal("rsa-2048");
    const read = await call("GET", "transit/keys/shape");
    expect(read.body.data).to.include({ name: "shape", type: "rsa-2048", latest_version: 1, min_decryption_version: 1, supports_signing: true });
    const v1 = read.body.data.keys["1"];
    expect(v1).to.have.keys("certificate_chain", "creation_time", "name", "public_key");
    expect(createPublicKey(v1.public_key).asymmetricKeyDetails?.modulusLength).to.equal(2048);
    expect((await call("GET", "transit/keys/absent")).status).to.equal(404);
    expect((await call("POST", "transit/keys/bad", { type: "aes256-gcm96" })).status).to.equal(400);
  });

  it("signs prehashed digests with PKCS#1 v1.5 and PSS (maximum salt by default)", async () => {
    await call("POST", "transit/keys/rsa", { type: "rsa-2048" });
    const publicKey = createPublicKey((await call("GET", "transit/keys/rsa")).body.data.keys["1"].public_key);
    const input = digest.toString("base64");
    const pkcs1 = await call("POST", "transit/sign/rsa", { input, prehashed: true, hash_algorithm: "sha2-256", signature_algorithm: "pkcs1v15" });
    expect(pkcs1.body.data.signature).to.match(/^vault:v1:/);
    expect(pkcs1.body.data.key_version).to.equal(1);
    expect(verify("sha256", message, publicKey, signature(pkcs1))).to.equal(true);
    const pss = await call("POST", "transit/sign/rsa/sha2-256", { input, prehashed: true });
    const pssKey = { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING };
    expect(verify("sha256", message, { ...pssKey, saltLength: 256 - 34 }, signature(pss))).to.equal(true);
    expect(verify("sha256", message, { ...pssKey, saltLength: 32 }, signature(pss))).to.equal(false);
    const verified = await call("POST", "transit/verify/rsa", { input, prehashed: true, signature: pss.body.data.signature });
    expect(verified.body.data.valid).to.equal(true);
    const tampered = await call("POST", "transit/verify/rsa", { input: message.toString("base64"), signature: pkcs1.body.data.signature, signature_algorithm: "pkcs1v15" });
    expect(tampered.body.data.valid).to.equal(true, "non-prehashed input hashes to the same digest");
    const wrong = await call("POST", "transit/verify/rsa", { input: Buffer.from("other").toString("base64"), signature: pkcs1.body.data.signature, signature_algorithm: "pkcs1v15" });
    expect(wrong.body.data.valid).to.equal(false);
  });

  it("signs with ECDSA P-256 in asn1 (default) and jws marshaling", async () => {
    await call("POST", "transit/keys/ec", { type: "ecdsa-p256" });
    const publicKey = createPublicKey((await call("GET", "transit/keys/ec")).body.data.keys["1"].public_key);
    const asn1 = await call("POST", "transit/sign/ec", { input: digest.toString("base64"), prehashed: true });
    expect(verify("sha256", message, publicKey, signature(asn1))).to.equal(true);
    const jws = await call("POST", "transit/sign/ec", { input: message.toString("base64"), marshaling_algorithm: "jws" });
    const raw = Buffer.from(String(jws.body.data.signature).split(":")[2], "base64url");
    expect(raw.length).to.equal(64);
    expect(verify("sha256", message, { key: publicKey, dsaEncoding: "ieee-p1363" }, raw)).to.equal(true);
  });

  it("signs with ed25519 and refuses prehashed input for it", async () => {
    await call("POST", "transit/keys/ed", { type: "ed25519" });
    const raw = Buffer.from((await call("GET", "transit/keys/ed")).body.data.keys["1"].public_key, "base64");
    const publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
    const signed = await call("POST", "transit/sign/ed", { input: message.toString("base64") });
    expect(verify(null, message, publicKey, signature(signed))).to.equal(true);
    expect((await call("POST", "transit/sign/ed", { input: digest.toString("base64"), prehashed: true })).status).to.equal(400);
  });

  it("rotates, keeps old versions usable when pinned, and rejects unknown versions", async () => {
    await call("POST", "transit/keys/rot", { type: "ecdsa-p256" });
    const rotated = await call("POST", "transit/keys/rot/rotate");
    expect(rotated.body.data.latest_version).to.equal(2);
    const latest = await call("POST", "transit/sign/rot", { input: digest.toString("base64"), prehashed: true });
    expect(latest.body.data.signature).to.match(/^vault:v2:/);
    const pinned = await call("POST", "transit/sign/rot", { input: digest.toString("base64"), prehashed: true, key_version: 1 });
    expect(pinned.body.data.signature).to.match(/^vault:v1:/);
    const keys = (await call("GET", "transit/keys/rot")).body.data.keys;
    expect(verify("sha256", message, createPublicKey(keys["1"].public_key), signature(pinned))).to.equal(true);
    expect(verify("sha256", message, createPublicKey(keys["2"].public_key), signature(pinned))).to.equal(false);
    const missing = await call("POST", "transit/sign/rot", { input: digest.toString("base64"), prehashed: true, key_version: 9 });
    expect(missing.status).to.equal(400);
    expect(missing.body.errors[0]).to.match(/version/);
  });

  it("answers bad input with 400 and unknown routes with 404", async () => {
    await call("POST", "transit/keys/in", { type: "rsa-2048" });
    expect((await call("POST", "transit/sign/in", { input: "not base64!" })).status).to.equal(400);
    expect((await call("POST", "transit/sign/in", { input: "AAAA", prehashed: true, signature_algorithm: "pkcs1v15" })).status).to.equal(400);
    expect((await call("POST", "transit/sign/nokey", { input: "AAAA" })).status).to.equal(400);
    expect((await call("GET", "secret/data/x")).status).to.equal(404);
  });

  it("logs in with AppRole and issues a working client token", async () => {
    const login = await call("POST", "auth/approle/login", { role_id: vault.appRole.roleId, secret_id: vault.appRole.secretId }, null);
    expect(login.status).to.equal(200);
    const token = login.body.auth.client_token as string;
    expect(token).to.be.a("string").and.not.equal(vault.rootToken);
    expect((await call("POST", "transit/keys/approle", { type: "ecdsa-p256" }, token)).status).to.equal(200);
    const refused = await call("POST", "auth/approle/login", { role_id: vault.appRole.roleId, secret_id: "wrong" }, null);
    expect(refused.status).to.equal(400);
  });

  it("keeps private keys on disk only (0600), never in a response, and across restarts", async () => {
    await call("POST", "transit/keys/persist", { type: "ecdsa-p256" });
    const before = (await call("GET", "transit/keys/persist")).text;
    expect(before).to.not.include("PRIVATE KEY");
    const folder = join(vault.dataDir, "transit");
    expect((await stat(folder)).mode & 0o777).to.equal(0o700);
    for (const file of await readdir(folder)) {
      expect((await stat(join(folder, file))).mode & 0o777, file).to.equal(0o600);
    }
    expect(await readFile(join(folder, "persist.json"), "utf8")).to.include("PRIVATE KEY");
    await vault.restart();
    const after = await call("GET", "transit/keys/persist");
    expect(after.body.data.keys["1"].public_key).to.equal(JSON.parse(before).data.keys["1"].public_key);
  });
});
