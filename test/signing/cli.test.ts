import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import * as keyring from "../../cli/commands/keyring.js";
import * as sign from "../../cli/commands/sign.js";
import { verifyArtifactSignature, type ArtifactSignature } from "../../signing/artifact.js";
import { tempDir } from "../helpers/env.js";
import { standinFixture, type StandinFixture } from "./fixtures.js";

async function capture(work: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  const write = process.stdout.write.bind(process.stdout);
  console.log = (...parts: unknown[]) => void out.push(parts.join(" "));
  console.error = (...parts: unknown[]) => void err.push(parts.join(" "));
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    return { code: await work(), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
    process.stdout.write = write;
  }
}

describe("aerie sign / aerie keyring", function () {
  let vault: StandinFixture;
  let dir: { path: string; remove: () => Promise<void> };
  const saved = { ...process.env };

  before(async () => {
    vault = await standinFixture();
    dir = await tempDir("aerie-cli-");
    process.env.VAULT_ADDR = vault.url;
    process.env.VAULT_TOKEN = vault.rootToken;
    delete process.env.VAULT_ROLE_ID;
    delete process.env.VAULT_SECRET_ID;
  });
  after(async () => {
    process.env = saved;
    await vault.remove();
    await dir.remove();
  });

  it("prints help with exit 0, and usage errors with exit 2", async () => {
    expect((await capture(() => sign.run(["--help"]))).code).to.equal(0);
    expect((await capture(() => keyring.run(["--help"]))).code).to.equal(0);
    const missing = await capture(() => sign.run(["file", "x"]));
    expect(missing.code).to.equal(2);
    expect(missing.err).to.match(/--key is required/);
    expect((await capture(() => sign.run(["swu", "--bogus"]))).code).to.equal(2);
    expect((await capture(() => keyring.run(["create", "--key", "k", "--type", "ed25519"]))).code).to.equal(2);
  });

  it("creates a key, signs a file's digest and the JSON record verifies against the public key", async () => {
    expect((await capture(() => keyring.run(["create", "--key", "cli", "--type", "ecdsa-p256"]))).code).to.equal(0);
    const artifact = join(dir.path, "artifact.bin");
    await writeFile(artifact, "firmware bytes");
    const signed = await capture(() => sign.run(["file", artifact, "--key", "cli"]));
    expect(signed.code, signed.err).to.equal(0);
    const record = JSON.parse(signed.out) as ArtifactSignature;
    expect(record).to.include({ keyName: "cli", keyVersion: 1, algorithm: "ecdsa-p256" });
    const publicPem = join(dir.path, "cli.pem");
    expect((await capture(() => keyring.run(["public-key", "--key", "cli", "--out", publicPem]))).code).to.equal(0);
    const digest = createHash("sha256").update(await readFile(artifact)).digest();
    expect(verifyArtifactSignature(record, digest, await readFile(publicPem, "utf8"))).to.equal(true);
  });

  it("fails with exit 1 and a clear message that does not echo the token", async () => {
    process.env.VAULT_TOKEN = "s.wrong-token-value";
    try {
      const denied = await capture(() => keyring.run(["info", "--key", "cli"]));
      expect(denied.code).to.equal(1);
      expect(denied.err).to.match(/HTTP 403/);
      expect(denied.err).to.not.include("s.wrong-token-value");
    } finally {
      process.env.VAULT_TOKEN = vault.rootToken;
    }
    const noCert = await capture(() => sign.run(["rauc", "--format", "plain", "--key", "cli", "--algorithm", "ecdsa-p256", "--output", join(dir.path, "b.raucb"), "--dir", dir.path]));
    expect(noCert.code).to.equal(1);
    expect(noCert.err).to.match(/has no certificate/);
  });
});
