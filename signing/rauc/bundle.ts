// RAUC bundles: `squashfs | CMS | u64 BE CMS length` (plain, CMS detached over everything before
// it) and `squashfs | dm-verity tree | CMS | length` (verity, CMS attached around the manifest with
// the verity root). The squashfs is read once as a stream for both the digest and the tree.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, readFile, readdir, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sha256File } from "../artifact.js";
import { createSignedData, encapsulatedContent, type CmsSigner } from "../cms/signed-data.js";
import { renderManifest, withBundleKeys, type RaucManifest } from "./manifest.js";
import { VerityTreeBuilder } from "./verity.js";

const run = promisify(execFile);
const BLOCK = 4096;
const CHUNK = 4 * 1024 * 1024;

export type RaucFormat = "plain" | "verity";

export type RaucSource =
  /** A folder of images (and hooks); the manifest is generated from `manifest`, or the folder's own manifest.raucm is used. */
  | { directory: string; manifest?: RaucManifest }
  /** A ready squashfs; for verity, the manifest text it contains must also be given. */
  | { squashfs: string; manifestText?: string };

export interface RaucBuildOptions {
  output: string;
  format: RaucFormat;
  source: RaucSource;
  signer: CmsSigner;
  onProgress?: (bytes: number) => void;
}

/** Streams `path` into `out` at `position`, hashing and feeding the verity builder; pads to 4 KiB. */
async function appendPadded(out: FileHandle, position: number, path: string, visit: (chunk: Buffer) => void, onProgress?: (bytes: number) => void): Promise<number> {
  let written = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
    visit(chunk as Buffer);
    await out.write(chunk as Buffer, 0, (chunk as Buffer).length, position + written);
    written += (chunk as Buffer).length;
    onProgress?.(written);
  }
  const padding = Buffer.alloc((BLOCK - (written % BLOCK)) % BLOCK);
  if (padding.length > 0) {
    visit(padding);
    await out.write(padding, 0, padding.length, position + written);
  }
  return written + padding.length;
}

function lengthTrailer(length: number): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeBigUInt64BE(BigInt(length));
  return trailer;
}

async function mksquashfs(entries: string[], output: string): Promise<void> {
  await run("mksquashfs", [...entries, output, "-all-root", "-noappend", "-no-progress", "-no-xattrs", "-mkfs-time", "0", "-all-time", "0"], { maxBuffer: 16 * 1024 * 1024 });
}

/** Builds the squashfs from a folder; returns its path, the manifest text inside, and a cleanup. */
async function squashFolder(directory: string, manifest: RaucManifest | undefined, format: RaucFormat): Promise<{ squashfs: string; manifestText: string; cleanup: () => Promise<void> }> {
  const work = await mkdtemp(join(tmpdir(), "aerie-rauc-"));
  const cleanup = () => rm(work, { recursive: true, force: true });
  try {
    const names = (await readdir(directory)).filter((name) => !manifest || name !== "manifest.raucm");
    let manifestText: string;
    if (manifest) {
      const images = [];
      for (const image of manifest.images) {
        if (!names.includes(image.filename)) throw new Error(`manifest lists ${image.filename}, which is not in ${directory}`);
        const { digest, size } = await sha256File(join(directory, image.filename));
        images.push({ ...image, sha256: digest.toString("hex"), size });
      }
      manifestText = renderManifest({ ...manifest, images }, format);
      await writeFile(join(work, "manifest.raucm"), manifestText);
    } else {
      if (!names.includes("manifest.raucm")) throw new Error(`${directory} has no manifest.raucm and no manifest was given`);
      manifestText = await readFile(join(directory, "manifest.raucm"), "utf8");
    }
    const entries = names.map((name) => join(directory, name));
    if (manifest) entries.push(join(work, "manifest.raucm"));
    const squashfs = join(work, "bundle.squashfs");
    await mksquashfs(entries, squashfs);
    return { squashfs, manifestText, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

export async function buildRaucBundle(options: RaucBuildOptions): Promise<{ bytes: number; manifest: string; verityRootHash?: string }> {
  const { format } = options;
  const source = "directory" in options.source
    ? await squashFolder(options.source.directory, options.source.manifest, format)
    : { squashfs: options.source.squashfs, manifestText: options.source.manifestText, cleanup: async () => undefined };
  const temporary = `${options.output}.partial`;
  const out = await open(temporary, "w");
  try {
    if (format === "verity" && !source.manifestText) throw new Error("a verity bundle from a given squashfs needs its manifest text");
    const hash = createHash("sha256");
    const verity = format === "verity" ? new VerityTreeBuilder(randomBytes(32)) : undefined;
    let position = await appendPadded(out, 0, source.squashfs, (chunk) => (verity ? verity.update(chunk) : hash.update(chunk)), options.onProgress);
    let cms: Buffer;
    let manifest = source.manifestText ?? "";
    let verityRootHash: string | undefined;
    if (verity) {
      const tree = verity.finish();
      await out.write(tree.tree, 0, tree.tree.length, position);
      position += tree.tree.length;
      verityRootHash = tree.rootHash.toString("hex");
      manifest = withBundleKeys(manifest, { "verity-hash": verityRootHash, "verity-salt": tree.salt.toString("hex"), "verity-size": String(tree.tree.length) });
      const content = Buffer.from(manifest, "utf8");
      cms = await createSignedData({ content, contentDigest: createHash("sha256").update(content).digest(), signer: options.signer });
    } else {
      cms = await createSignedData({ contentDigest: hash.digest(), signer: options.signer });
    }
    const tail = Buffer.concat([cms, lengthTrailer(cms.length)]);
    await out.write(tail, 0, tail.length, position);
    await out.close();
    await rename(temporary, options.output);
    return { bytes: position + tail.length, manifest, verityRootHash };
  } catch (error) {
    await out.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  } finally {
    await source.cleanup();
  }
}

/** The signature part of a bundle: where it starts and the CMS itself. */
export async function readBundleSignature(path: string): Promise<{ cms: Buffer; cmsOffset: number }> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    if (size < 8 + BLOCK) throw new Error(`${path} is too small to be a RAUC bundle`);
    const trailer = Buffer.alloc(8);
    await file.read(trailer, 0, 8, size - 8);
    const length = Number(trailer.readBigUInt64BE());
    if (length <= 0 || length > 1024 * 1024 || length > size - 8) throw new Error(`${path} has no valid RAUC signature trailer`);
    const cms = Buffer.alloc(length);
    await file.read(cms, 0, length, size - 8 - length);
    return { cms, cmsOffset: size - 8 - length };
  } finally {
    await file.close();
  }
}

/**
 * Replaces a bundle's signature (e.g. after a key rotation): payload and verity tree are kept, a
 * verity bundle's signed manifest is carried over unchanged, a plain bundle's payload is re-hashed.
 */
export async function resignRaucBundle(options: { input: string; output: string; signer: CmsSigner; onProgress?: (bytes: number) => void }): Promise<{ format: RaucFormat }> {
  const { cms, cmsOffset } = await readBundleSignature(options.input);
  const content = encapsulatedContent(cms);
  const temporary = `${options.output}.partial`;
  const out = await open(temporary, "w");
  try {
    const hash = createHash("sha256");
    let copied = 0;
    if (cmsOffset > 0) {
      for await (const chunk of createReadStream(options.input, { start: 0, end: cmsOffset - 1, highWaterMark: CHUNK })) {
        hash.update(chunk as Buffer);
        await out.write(chunk as Buffer, 0, (chunk as Buffer).length, copied);
        copied += (chunk as Buffer).length;
        options.onProgress?.(copied);
      }
    }
    const newCms = await createSignedData(
      content
        ? { content, contentDigest: createHash("sha256").update(content).digest(), signer: options.signer }
        : { contentDigest: hash.digest(), signer: options.signer },
    );
    const tail = Buffer.concat([newCms, lengthTrailer(newCms.length)]);
    await out.write(tail, 0, tail.length, copied);
    await out.close();
    await rename(temporary, options.output);
    return { format: content ? "verity" : "plain" };
  } catch (error) {
    await out.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}

