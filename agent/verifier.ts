// Checks a downloaded artifact against what the deployment notice promised: size, sha256, and the
// signature of the sha256 digest by Aerie's key, with the public keys the device was provisioned
// with. The keyring is never fetched at run time: a key that arrives over the network is only as
// trustworthy as that network, so an unknown key version is a failure, not a download.
import { readFileSync } from "node:fs";
import type { DeploymentArtifact } from "../bridge/protocol/schemas.js";
import { sha256File } from "../signing/artifact.js";
import { SIGNATURE_ALGORITHMS, toPublicKey, verifyDigestSignature, type SignatureAlgorithm } from "../signing/verify.js";
import type { KeyObject } from "node:crypto";

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

export async function verifyArtifact(path: string, artifact: DeploymentArtifact, keyring: Keyring): Promise<void> {
  const { digest, size } = await sha256File(path);
  if (size !== artifact.size) throw new VerificationError(`${artifact.filename}: ${size} bytes, the notice says ${artifact.size}`);
  if (digest.toString("hex") !== artifact.hashes.sha256) throw new VerificationError(`${artifact.filename}: sha256 ${digest.toString("hex")} does not match the notice's ${artifact.hashes.sha256}`);
  verifySignature(digest, artifact, keyring);
}

export function verifySignature(digest: Buffer, artifact: DeploymentArtifact, keyring: Keyring): void {
  const signature = artifact.signature;
  if (!signature) throw new VerificationError(`${artifact.filename} carries no signature; this agent installs only signed artifacts`);
  const key = keyring.get(signature.keyVersion);
  if (!key) throw new VerificationError(`${artifact.filename} is signed with key version ${signature.keyVersion}, which is not in this device's keyring (${keyring.versions.join(", ") || "empty"})`);
  // Aerie names the algorithm with or without the digest suffix (rsa-pss-sha256 / rsa-pss).
  const algorithm = signature.algorithm.replace(/-sha256$/, "") as SignatureAlgorithm;
  if (!SIGNATURE_ALGORITHMS.includes(algorithm)) throw new VerificationError(`${artifact.filename}: unsupported signature algorithm ${signature.algorithm}`);
  let ok = false;
  try {
    ok = verifyDigestSignature(key, { digest, signature: Buffer.from(signature.value, "base64"), algorithm });
  } catch (error) {
    throw new VerificationError(`${artifact.filename}: signature check failed: ${(error as Error).message}`);
  }
  if (!ok) throw new VerificationError(`${artifact.filename}: the signature does not verify with key version ${signature.keyVersion}`);
}
