// What a device checks before installing a downloaded artifact, by the signature's format and what it
// covers (bridge/protocol/README.md): the simulator's stand-in for swupdate's and rauc's own checks, done with
// the same primitives (OpenSSL for CMS, the keyring's public keys for bare signatures).
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DeploymentArtifact } from "../../bridge/protocol/schemas.js";
import { encapsulatedContent } from "../../signing/cms/signed-data.js";
import { verifyCms } from "../../signing/cms/verify.js";
import { keyAlgorithm } from "../../signing/formats.js";
import { VerityTreeBuilder } from "../../signing/rauc/verity.js";
import { readSwu } from "../../signing/swu/read.js";
import { verifyDigestSignature, type PublicKeyInput, type SignatureAlgorithm } from "../../signing/verify.js";

export interface DeviceTrust {
  /** Public keys by key version (GET /api/v1/keyring): bare signatures. */
  keyring: Map<number, PublicKeyInput>;
  /** CA bundle (GET /api/v1/keyring/ca.pem), swupdate's -k file and rauc's keyring: CMS signatures. */
  caBundle?: string;
}

const BARE: Record<SignatureAlgorithm, string> = { "rsa-pkcs1v15": "raw-rsa", "rsa-pss": "rsa-pss", "ecdsa-p256": "ecdsa" };

/** Throws, with the reason a device would give, unless `bytes` (the whole download) may be installed. */
export async function verifyDownloadedArtifact(artifact: DeploymentArtifact, bytes: Buffer, trust: DeviceTrust): Promise<void> {
  const name = artifact.filename;
  const signature = artifact.signature;
  if (!signature) throw new Error(`${name} is not signed`);
  const digest = createHash("sha256").update(bytes).digest();
  if (bytes.length !== artifact.size) throw new Error(`${name}: got ${bytes.length} bytes, expected ${artifact.size}`);
  if (digest.toString("hex") !== artifact.hashes.sha256) throw new Error(`${name}: sha256 mismatch`);
  const algorithm = keyAlgorithm(signature.algorithm);
  if (!algorithm) throw new Error(`${name}: unknown signature algorithm ${signature.algorithm}`);
  if (signature.format !== "cms" && signature.format !== BARE[algorithm]) throw new Error(`${name}: a ${signature.format} signature cannot be made by an ${algorithm} key`);
  const value = Buffer.from(signature.value, "base64");
  const bare = (signed: Buffer): void => {
    const key = trust.keyring.get(signature.keyVersion);
    if (!key) throw new Error(`${name} is signed with key version ${signature.keyVersion}, which is not in the keyring`);
    let valid = false;
    try {
      valid = verifyDigestSignature(key, { digest: signed, signature: value, algorithm });
    } catch {
      valid = false;
    }
    if (!valid) throw new Error(`${name}: signature does not verify`);
  };
  const cms = async (content: Buffer | undefined, detachedOver?: Buffer): Promise<Buffer | undefined> => {
    if (!trust.caBundle) throw new Error(`${name}: a CMS signature needs the CA bundle, which this device does not have`);
    let dir: string | undefined;
    try {
      let contentArg: Buffer | { path: string } | undefined = content;
      if (detachedOver) {
        dir = await mkdtemp(join(tmpdir(), "aerie-device-"));
        await writeFile(join(dir, "payload"), detachedOver);
        contentArg = { path: join(dir, "payload") };
      }
      const result = await verifyCms({ cms: value, content: contentArg, trustPem: trust.caBundle });
      if (!result.valid) throw new Error(`${name}: signature does not verify (${result.reason})`);
      return result.content;
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  };

  switch (signature.covers) {
    case "artifact":
      if (signature.format === "cms") throw new Error(`${name}: a detached CMS over the artifact is not a format this device takes`);
      return bare(digest);
    case "sw-description": {
      const swu = readSwu(bytes);
      if (!swu.signature.equals(value)) throw new Error(`${name}: the announced signature is not the .swu's sw-description.sig`);
      if (signature.format === "cms") await cms(swu.swDescription);
      else bare(createHash("sha256").update(swu.swDescription).digest());
      // The signature covers sw-description; sw-description covers each image by its sha256 (swupdate's check).
      const description = swu.swDescription.toString("utf8");
      for (const image of swu.images) {
        if (!description.includes(image.sha256)) throw new Error(`${name}: image ${image.name} is not the one sw-description lists (sha256 mismatch)`);
      }
      return;
    }
    case "rauc-bundle": {
      if (signature.format !== "cms") throw new Error(`${name}: RAUC bundles carry CMS signatures only`);
      if (bytes.length < 8) throw new Error(`${name}: not a RAUC bundle`);
      const cmsLength = Number(bytes.readBigUInt64BE(bytes.length - 8));
      const cmsOffset = bytes.length - 8 - cmsLength;
      if (cmsOffset <= 0 || !bytes.subarray(cmsOffset, bytes.length - 8).equals(value)) throw new Error(`${name}: the announced signature is not the bundle's`);
      // verity: the CMS carries the manifest (attached), which binds the payload by its hash tree;
      // plain: the CMS is detached over every byte before it.
      if (encapsulatedContent(value)) {
        const manifest = await cms(undefined);
        checkVerity(name, (manifest ?? Buffer.alloc(0)).toString("utf8"), bytes.subarray(0, cmsOffset));
      } else {
        await cms(undefined, bytes.subarray(0, cmsOffset));
      }
      return;
    }
  }
}

/** A verity bundle: the signed manifest's verity-hash must be the root of the payload's hash tree (rauc's check). */
function checkVerity(name: string, manifest: string, beforeCms: Buffer): void {
  const key = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(manifest)?.[1]?.trim();
  const hash = key("verity-hash");
  const salt = key("verity-salt");
  const size = Number(key("verity-size"));
  if (!hash || !salt || !Number.isInteger(size)) throw new Error(`${name}: the signed manifest has no verity keys`);
  const squashfs = beforeCms.subarray(0, beforeCms.length - size);
  const tree = new VerityTreeBuilder(Buffer.from(salt, "hex"));
  tree.update(squashfs);
  const built = tree.finish();
  if (built.rootHash.toString("hex") !== hash || !built.tree.equals(beforeCms.subarray(beforeCms.length - size))) {
    throw new Error(`${name}: the payload does not match the signed verity hash`);
  }
}
