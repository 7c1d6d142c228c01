// Checks a downloaded artifact against what the deployment notice promised: size, sha256, and the
// signature of the sha256 digest by Aerie's key, with the public keys the device was provisioned
// with. The keyring is never fetched at run time: a key that arrives over the network is only as
// trustworthy as that network, so an unknown key version is a failure, not a download.
import { readFileSync } from "node:fs";
import type { DeploymentArtifact } from "../bridge/protocol/schemas.js";
import { sha256File } from "../signing/artifact.js";
import { keyAlgorithm } from "../signing/formats.js";
import { readSwuHead, SWU_HEAD_BYTES } from "../signing/swu/read.js";
import { toPublicKey, verifyDigestSignature, type SignatureAlgorithm } from "../signing/verify.js";
import { createHash, type KeyObject } from "node:crypto";
import { open } from "node:fs/promises";

export class VerificationError extends Error {}

export class Keyring {
  private readonly keys = new Map<number, KeyObject>();

  /** `entries`: key version → PEM text or a path to a PEM file. */
  constructor(entries: Record<string, string>) {
    for (const [version, value] of Object.entries(entries)) {
      const pem = value.includes("-----BEGIN") ? value : readFileSync(value, "utf8");
      this.keys.set(Number(version), toPublicKey(pem));
    }
  }

  get versions(): number[] {
    return [...this.keys.keys()];
  }

  get(version: number): KeyObject | undefined {
    return this.keys.get(version);
  }
}

/** The detached format an algorithm's key makes (signing/formats.ts). */
const DETACHED: Record<SignatureAlgorithm, string> = { "rsa-pkcs1v15": "raw-rsa", "rsa-pss": "rsa-pss", "ecdsa-p256": "ecdsa" };

/**
 * Size and sha256 of the whole file, then the signature by what it covers (protocol README):
 * - `artifact`: a detached signature over the sha256 digest, checked with the key of `keyVersion`;
 * - `sw-description`: the .swu's sw-description.sig must be exactly the announced signature; a bare
 *   RSA signature is checked here with the key, a CMS one by swupdate with `-k` (the provisioned CA
 *   bundle), which also checks every image's sha256 against the signed sw-description;
 * - `rauc-bundle`: the bundle's own CMS must be the announced one; RAUC checks it against the keyring
 *   of its system.conf (the provisioned CA bundle) before installing.
 */
export async function verifyArtifact(path: string, artifact: DeploymentArtifact, keyring: Keyring, options: { caFile?: string } = {}): Promise<void> {
  const { digest, size } = await sha256File(path);
  if (size !== artifact.size) throw new VerificationError(`${artifact.filename}: ${size} bytes, the notice says ${artifact.size}`);
  if (digest.toString("hex") !== artifact.hashes.sha256) throw new VerificationError(`${artifact.filename}: sha256 ${digest.toString("hex")} does not match the notice's ${artifact.hashes.sha256}`);
  const signature = artifact.signature as DeploymentArtifact["signature"] | undefined;
  if (!signature) throw new VerificationError(`${artifact.filename} carries no signature; this agent installs only signed artifacts`);
  const algorithm = keyAlgorithm(signature.algorithm);
  if (!algorithm) throw new VerificationError(`${artifact.filename}: unsupported signature algorithm ${signature.algorithm}`);
  const value = Buffer.from(signature.value, "base64");
  switch (signature.covers) {
    case "artifact":
      if (signature.format !== DETACHED[algorithm]) throw new VerificationError(`${artifact.filename}: a ${signature.format} signature cannot be made by an ${algorithm} key`);
      return checkWithKey(artifact.filename, digest, value, algorithm, signature.keyVersion, keyring);
    case "sw-description": {
      const head = readSwuHead(await readPrefix(path, SWU_HEAD_BYTES));
      if (!head.signature.equals(value)) throw new VerificationError(`${artifact.filename}: its sw-description.sig is not the signature Aerie announced`);
      if (signature.format === "cms") {
        if (!options.caFile) throw new VerificationError(`${artifact.filename}: a CMS-signed .swu needs keyring.caFile (swupdate -k) on this device`);
        return; // swupdate -k checks the chain
      }
      if (signature.format !== "raw-rsa" && signature.format !== "rsa-pss") throw new VerificationError(`${artifact.filename}: unsupported sw-description signature format ${signature.format}`);
      return checkWithKey(artifact.filename, createHash("sha256").update(head.swDescription).digest(), value, algorithm, signature.keyVersion, keyring);
    }
    case "rauc-bundle": {
      const cms = await raucBundleCms(path, size);
      if (!cms.equals(value)) throw new VerificationError(`${artifact.filename}: the bundle's signature is not the one Aerie announced`);
      return; // rauc checks it against its keyring
    }
    default:
      throw new VerificationError(`${artifact.filename}: cannot check a signature over ${String(signature.covers)}`);
  }
}

async function readPrefix(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** A RAUC bundle ends with its CMS and the CMS length as u64 big endian (signing/rauc/bundle.ts). */
async function raucBundleCms(path: string, size: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const trailer = Buffer.alloc(8);
    await handle.read(trailer, 0, 8, size - 8);
    const length = Number(trailer.readBigUInt64BE());
    if (length <= 0 || length > Math.min(size - 8, 1024 * 1024)) throw new VerificationError("not a RAUC bundle (bad signature length)");
    const cms = Buffer.alloc(length);
    await handle.read(cms, 0, length, size - 8 - length);
    return cms;
  } finally {
    await handle.close();
  }
}

function checkWithKey(filename: string, digest: Buffer, value: Buffer, algorithm: SignatureAlgorithm, keyVersion: number, keyring: Keyring): void {
  const key = keyring.get(keyVersion);
  if (!key) throw new VerificationError(`${filename} is signed with key version ${keyVersion}, which is not in this device's keyring (${keyring.versions.join(", ") || "empty"})`);
  let ok = false;
  try {
    ok = verifyDigestSignature(key, { digest, signature: value, algorithm });
  } catch (error) {
    throw new VerificationError(`${filename}: signature check failed: ${(error as Error).message}`);
  }
  if (!ok) throw new VerificationError(`${filename}: the signature does not verify with key version ${keyVersion}`);
}
