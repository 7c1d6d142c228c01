// Builds a signed .swu: hash every image (streamed), write sw-description, sign it, then stream
// sw-description, its signature and the images into a cpio archive in the order swupdate demands.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { basename } from "node:path";
import { finished } from "node:stream/promises";
import { sha256File } from "../artifact.js";
import { createSignedData, type CmsSigner } from "../cms/signed-data.js";
import type { SignatureAlgorithm } from "../verify.js";
import { CpioWriter } from "./cpio.js";
import { fillSha256Placeholders, renderSwDescription, type SwuDescription, type SwuImage } from "./sw-description.js";

/**
 * `cms` (Debian's CONFIG_SIGALG_CMS) is the default; `raw-rsa` (PKCS#1 v1.5) and `rsa-pss` are the
 * bare signatures of SIGALG_RAWRSA / SIGALG_RSAPSS builds, verified with a public key.
 */
export type SwuSignatureMode = "cms" | "raw-rsa" | "rsa-pss";

export interface DigestSigner {
  sign(digest: Buffer, algorithm: SignatureAlgorithm): Promise<{ signature: Buffer }>;
}

export interface SwuBuildOptions {
  output: string;
  /** Image files, by path; each is stored under its base name. */
  images: string[];
  /** Typed description (image hashes filled in), or the text of a given sw-description. */
  description: Omit<SwuDescription, "images"> & { images: Omit<SwuImage, "sha256">[] } | { text: string };
  mode: SwuSignatureMode;
  /** For mode "cms". */
  cmsSigner?: CmsSigner;
  /** For modes "raw-rsa" and "rsa-pss". */
  digestSigner?: DigestSigner;
  onProgress?: (bytes: number) => void;
}

export async function buildSwu(options: SwuBuildOptions): Promise<{ swDescription: string; bytes: number }> {
  const names = options.images.map((path) => basename(path));
  if (new Set(names).size !== names.length) throw new Error("two images share a file name");
  let processed = 0;
  const hashes = new Map<string, string>();
  for (const [index, path] of options.images.entries()) {
    const base = processed;
    const { digest } = await sha256File(path, (bytes) => options.onProgress?.(base + bytes));
    processed += (await stat(path)).size;
    hashes.set(names[index], digest.toString("hex"));
  }
  const swDescription = Buffer.from(
    "text" in options.description
      ? fillSha256Placeholders(options.description.text, hashes)
      : renderSwDescription({
          ...options.description,
          images: options.description.images.map((image) => {
            const sha256 = hashes.get(image.filename);
            if (!sha256) throw new Error(`sw-description lists ${image.filename}, which is not among the images`);
            return { ...image, sha256 };
          }),
        }),
  );
  const signature = await signDescription(swDescription, options);
  const temporary = `${options.output}.partial`;
  const out = createWriteStream(temporary);
  try {
    const cpio = new CpioWriter(out);
    await cpio.addFile("sw-description", swDescription.length, swDescription);
    await cpio.addFile("sw-description.sig", signature.length, signature);
    for (const [index, path] of options.images.entries()) {
      const size = (await stat(path)).size;
      const base = processed;
      let copied = 0;
      const stream = createReadStream(path, { highWaterMark: 4 * 1024 * 1024 });
      stream.on("data", (chunk) => {
        copied += (chunk as Buffer).length;
        options.onProgress?.(base + copied);
      });
      await cpio.addFile(names[index], size, stream);
      processed += size;
    }
    await cpio.finish();
    out.end();
    await finished(out);
    await rename(temporary, options.output);
  } catch (error) {
    out.destroy();
    await rm(temporary, { force: true });
    throw error;
  }
  return { swDescription: swDescription.toString("utf8"), bytes: (await stat(options.output)).size };
}

async function signDescription(swDescription: Buffer, options: SwuBuildOptions): Promise<Buffer> {
  const digest = createHash("sha256").update(swDescription).digest();
  if (options.mode === "cms") {
    if (!options.cmsSigner) throw new Error("CMS mode needs a signer certificate");
    return createSignedData({ contentDigest: digest, signer: options.cmsSigner });
  }
  if (!options.digestSigner) throw new Error(`${options.mode} mode needs a digest signer`);
  const algorithm = options.mode === "raw-rsa" ? "rsa-pkcs1v15" : "rsa-pss";
  return (await options.digestSigner.sign(digest, algorithm)).signature;
}
