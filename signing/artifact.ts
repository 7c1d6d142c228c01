// Detached signatures over whole artifacts: the file is hashed once as a stream, Vault signs only
// the digest, and the record keeps everything a device needs to check it against a public key.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { verifyDigestSignature, type PublicKeyInput, type SignatureAlgorithm } from "./verify.js";
import type { TransitSigner } from "./vault/transit-signer.js";

export interface ArtifactSignature {
  keyName: string;
  keyVersion: number;
  algorithm: SignatureAlgorithm;
  /** base64 of the raw signature (DER for ECDSA). */
  signature: string;
  sha256: string;
  size: number;
  pssSaltLength?: number;
}

/** 4 MiB reads keep the hash near the disk's speed without holding more than a few chunks. */
const CHUNK = 4 * 1024 * 1024;

export async function sha256File(path: string, onProgress?: (bytes: number) => void): Promise<{ digest: Buffer; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    onProgress?.(size);
  }
  return { digest: hash.digest(), size };
}

export async function signArtifact(
  transit: TransitSigner,
  path: string,
  options: { algorithm: SignatureAlgorithm; keyVersion?: number; onProgress?: (bytes: number) => void },
): Promise<ArtifactSignature> {
  const { digest, size } = await sha256File(path, options.onProgress);
  const signed = await transit.sign(digest, { algorithm: options.algorithm, keyVersion: options.keyVersion });
  const record: ArtifactSignature = {
    keyName: transit.keyName,
    keyVersion: signed.keyVersion,
    algorithm: signed.algorithm,
    signature: signed.signature.toString("base64"),
    sha256: digest.toString("hex"),
    size,
  };
  if (signed.pssSaltLength !== undefined) record.pssSaltLength = signed.pssSaltLength;
  return record;
}

/** What a device does: recompute sha256 of the bytes it received and check the stored signature. */
export function verifyArtifactSignature(record: ArtifactSignature, digest: Buffer, publicKey: PublicKeyInput): boolean {
  if (digest.toString("hex") !== record.sha256) return false;
  return verifyDigestSignature(publicKey, {
    digest,
    signature: Buffer.from(record.signature, "base64"),
    algorithm: record.algorithm,
    pssSaltLength: record.pssSaltLength,
  });
}
