// Reads a .swu (cpio newc/crc): sw-description and sw-description.sig, which swupdate requires as the
// first two entries, and the images after them — what a device (or Aerie before releasing) needs to
// check the signature and the images it covers.
import { createHash } from "node:crypto";

const HEADER = 110;
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** The entry whose header starts at `offset`; `next` is where the following header starts. */
function entryAt(archive: Buffer, offset: number): { name: string; data: Buffer; next: number } {
  if (offset + HEADER > archive.length) throw new Error("the .swu is truncated");
  const magic = archive.toString("ascii", offset, offset + 6);
  if (magic !== "070701" && magic !== "070702") throw new Error("not a cpio newc/crc archive");
  const field = (index: number): number => parseInt(archive.toString("ascii", offset + 6 + index * 8, offset + 14 + index * 8), 16);
  const size = field(6);
  const nameSize = field(11);
  const name = archive.toString("utf8", offset + HEADER, offset + HEADER + nameSize - 1);
  const start = offset + HEADER + nameSize + pad4(HEADER + nameSize);
  if (start + size > archive.length) throw new Error(`the .swu is truncated in ${name}`);
  return { name, data: archive.subarray(start, start + size), next: start + size + pad4(size) };
}

/** sw-description and its signature from the start of a .swu (the images after them may be gigabytes). */
export function readSwuHead(prefix: Buffer): { swDescription: Buffer; signature: Buffer; next: number } {
  const description = entryAt(prefix, 0);
  if (description.name !== "sw-description") throw new Error("sw-description is not the first entry of the .swu");
  const signature = entryAt(prefix, description.next);
  if (signature.name !== "sw-description.sig") throw new Error("sw-description.sig is not the second entry of the .swu");
  return { swDescription: description.data, signature: signature.data, next: signature.next };
}

/** swupdate's own limit on sw-description is 256 KiB: this many leading bytes always hold the head. */
export const SWU_HEAD_BYTES = 1024 * 1024;

/** The whole archive: the head and every image with its sha256 (hex). */
export function readSwu(archive: Buffer): { swDescription: Buffer; signature: Buffer; images: { name: string; sha256: string }[] } {
  const head = readSwuHead(archive);
  const images: { name: string; sha256: string }[] = [];
  for (let offset = head.next; ; ) {
    const entry = entryAt(archive, offset);
    if (entry.name === "TRAILER!!!") break;
    images.push({ name: entry.name, sha256: createHash("sha256").update(entry.data).digest("hex") });
    offset = entry.next;
  }
  return { swDescription: head.swDescription, signature: head.signature, images };
}
