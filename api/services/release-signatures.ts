// Signed-only releases (AERIE_REQUIRE_SIGNED, default true): every artifact of a release must carry a
// signature that verifies against the current key and certificate chain, the one devices will be given
// (the artifact's newest record, as bridge/notices.ts presents it). The same check answers "would these
// signatures still verify under another chain?" before trust anchors or the key's certificate are replaced.
//
//   raw (detached over the artifact's sha256)  → the public key of its key version, still in the keyring
//   swu-raw-rsa / swu-rsa-pss                  → the same, over sha256(sw-description) read from the .swu
//   swu-cms, rauc-plain, rauc-verity (CMS)     → openssl cms -verify against the trust anchors + the key's
//                                                intermediates, and the signer's key must be the transit key's
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ArtifactStore } from "../../core/storage/artifact-store.js";
import { verifyCms } from "../../signing/cms/verify.js";
import { keyAlgorithm, presentSignature } from "../../signing/formats.js";
import { readSwuHead, SWU_HEAD_BYTES } from "../../signing/swu/read.js";
import { verifyDigestSignature } from "../../signing/verify.js";
import { HttpError } from "../http-error.js";
import type { ArtifactSigner } from "../signer.js";

export interface SignatureRecord {
  format: string;
  algorithm: string;
  keyName: string;
  keyVersion: number;
  digest: string;
  value: string;
  createdAt: Date;
}

export interface ArtifactToCheck {
  id: string;
  filename: string;
  s3Key: string;
  sha256: string;
  size: bigint;
  signatures: SignatureRecord[];
}

export interface SignatureVerifierDeps {
  store: Pick<ArtifactStore, "get">;
  /** Public keys of the key versions that may still verify (GET /api/v1/keyring). */
  publicKeys(): Promise<{ version: number; pem: string }[]>;
  /** The current CA bundle (trust anchors + the key's intermediates); empty when none is set. */
  trustBundle(): Promise<string>;
  /** The transit key's name: signatures by another key are not the current key's. */
  keyName(): string;
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= limit) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, limit);
}

export class SignatureVerifier {
  constructor(private readonly deps: SignatureVerifierDeps) {}

  /** The signature devices will get for this artifact: its newest record. */
  static newest(artifact: ArtifactToCheck): SignatureRecord | undefined {
    return [...artifact.signatures].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  }

  /** Why the artifact's signature does not verify, or undefined when it does. `trustPem` overrides the current chain. */
  async problem(artifact: ArtifactToCheck, options: { trustPem?: string } = {}): Promise<string | undefined> {
    const record = SignatureVerifier.newest(artifact);
    if (!record) return "has no signature (sign it: POST /api/v1/artifacts/{id}/signatures, or build it signed)";
    if (!presentSignature(record)) return `has a ${record.format} signature record devices cannot use (no value)`;
    if (record.keyName !== this.deps.keyName()) return `is signed with key ${record.keyName}, not the current key ${this.deps.keyName()}`;
    const algorithm = keyAlgorithm(record.algorithm)!;
    const value = Buffer.from(record.value, "base64");
    try {
      switch (record.format) {
        case "raw": {
          if (record.digest !== artifact.sha256) return "has a signature over other bytes (its digest is not the artifact's sha256)";
          const key = await this.key(record.keyVersion);
          if (!key) return `is signed with key version ${record.keyVersion}, which is no longer in the keyring`;
          const ok = verifyDigestSignature(key, { digest: Buffer.from(artifact.sha256, "hex"), signature: value, algorithm });
          return ok ? undefined : `has a ${record.format} signature that does not verify with key version ${record.keyVersion}`;
        }
        case "swu-raw-rsa":
        case "swu-rsa-pss": {
          const head = readSwuHead(await this.head(artifact));
          if (!head.signature.equals(value)) return "has a signature record that is not the .swu's sw-description.sig";
          const key = await this.key(record.keyVersion);
          if (!key) return `is signed with key version ${record.keyVersion}, which is no longer in the keyring`;
          const digest = createHash("sha256").update(head.swDescription).digest();
          const ok = verifyDigestSignature(key, { digest, signature: value, algorithm });
          return ok ? undefined : `has an sw-description signature that does not verify with key version ${record.keyVersion}`;
        }
        case "swu-cms": {
          const head = readSwuHead(await this.head(artifact));
          if (!head.signature.equals(value)) return "has a signature record that is not the .swu's sw-description.sig";
          return await this.cms(value, head.swDescription, options.trustPem);
        }
        case "rauc-plain":
        case "rauc-verity":
          return await this.rauc(artifact, record.format, value, options.trustPem);
        default:
          return `has a signature of unknown format ${record.format}`;
      }
    } catch (error) {
      return `could not be checked: ${(error as Error).message}`;
    }
  }

  private async key(version: number): Promise<KeyObject | undefined> {
    const found = (await this.deps.publicKeys()).find((k) => k.version === version);
    return found ? createPublicKey(found.pem) : undefined;
  }

  private async head(artifact: ArtifactToCheck): Promise<Buffer> {
    const limit = Math.min(Number(artifact.size), SWU_HEAD_BYTES);
    return readAll(await this.deps.store.get(artifact.s3Key, { start: 0, end: limit - 1 }), limit);
  }

  /** CMS against the chain, and made by the transit key (any version still in the keyring). */
  private async cms(cms: Buffer, content: Buffer | { path: string } | undefined, trustPem?: string): Promise<string | undefined> {
    const trust = trustPem ?? (await this.deps.trustBundle());
    const result = await verifyCms({ cms, content, trustPem: trust });
    if (!result.valid) return `has a CMS signature that does not verify against the trust anchors and the key's certificate chain (${result.reason})`;
    const signerKey = result.signer.publicKey.export({ format: "der", type: "spki" });
    const keys = await this.deps.publicKeys();
    const ours = keys.some((k) => createPublicKey(k.pem).export({ format: "der", type: "spki" }).equals(signerKey));
    return ours ? undefined : `has a CMS signature by ${result.signer.subject.replace(/\n/g, ", ")}, whose key is not the transit key`;
  }

  private async rauc(artifact: ArtifactToCheck, format: string, value: Buffer, trustPem?: string): Promise<string | undefined> {
    const size = Number(artifact.size);
    const trailer = await readAll(await this.deps.store.get(artifact.s3Key, { start: size - 8, end: size - 1 }), 8);
    const cmsOffset = size - 8 - Number(trailer.readBigUInt64BE());
    if (cmsOffset <= 0 || cmsOffset + value.length + 8 !== size) return "has a signature record that is not the bundle's signature";
    const inBundle = await readAll(await this.deps.store.get(artifact.s3Key, { start: cmsOffset, end: size - 9 }), value.length);
    if (!inBundle.equals(value)) return "has a signature record that is not the bundle's signature";
    if (format === "rauc-verity") return this.cms(value, undefined, trustPem);
    // Plain: the CMS is detached over every byte before it (possibly gigabytes): streamed to a private file.
    const dir = await mkdtemp(join(tmpdir(), "aerie-rauc-"));
    try {
      const payload = join(dir, "payload");
      await pipeline(await this.deps.store.get(artifact.s3Key, { start: 0, end: cmsOffset - 1 }), createWriteStream(payload, { mode: 0o600 }));
      return await this.cms(value, { path: payload }, trustPem);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** The verifier for the API: the keyring of the artifact signer, the CA bundle the keyring route serves. */
export function signatureVerifier(deps: { store: Pick<ArtifactStore, "get">; signer: ArtifactSigner }, signing: { caBundle(): Promise<string> }): SignatureVerifier {
  return new SignatureVerifier({
    store: deps.store,
    keyName: () => deps.signer.keyName,
    publicKeys: () => deps.signer.publicKeys(),
    trustBundle: () => signing.caBundle().catch((error) => {
      // No trust anchors yet: nothing CMS can verify against (raw signatures still can).
      if (error instanceof HttpError && error.status === 404) return "";
      throw error;
    }),
  });
}
