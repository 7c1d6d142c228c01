// dm-verity hash tree as RAUC's verity bundles carry it (veritysetup format 1, sha256, 4 KiB data
// and hash blocks, no superblock). Data is fed as a stream; only the leaf digests (32 bytes per
// 4 KiB, 8 MiB for 1 GiB) and the upper levels are kept in memory.
import { createHash } from "node:crypto";

const BLOCK = 4096;
const DIGEST = 32;
const PER_BLOCK = BLOCK / DIGEST;

export interface VerityResult {
  /** Hash tree bytes, top level first, as appended after the squashfs. */
  tree: Buffer;
  rootHash: Buffer;
  salt: Buffer;
  dataBlocks: number;
}

export class VerityTreeBuilder {
  private readonly leaves: Buffer[] = [];
  private pending = Buffer.alloc(0);
  private blocks = 0;

  constructor(private readonly salt: Buffer) {}

  update(chunk: Buffer): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    for (; offset + BLOCK <= data.length; offset += BLOCK) {
      this.leaves.push(this.hash(data.subarray(offset, offset + BLOCK)));
      this.blocks++;
    }
    this.pending = Buffer.from(data.subarray(offset));
    data = Buffer.alloc(0);
  }

  finish(): VerityResult {
    if (this.pending.length !== 0) throw new Error("verity data must be a whole number of 4 KiB blocks");
    if (this.blocks < 2) throw new Error("verity data must be larger than 4 KiB");
    const levels: Buffer[] = [];
    let digests = this.leaves;
    for (;;) {
      const level = this.pack(digests);
      levels.push(level);
      if (level.length === BLOCK) break;
      digests = [];
      for (let offset = 0; offset < level.length; offset += BLOCK) digests.push(this.hash(level.subarray(offset, offset + BLOCK)));
    }
    const top = levels[levels.length - 1];
    return { tree: Buffer.concat(levels.reverse()), rootHash: this.hash(top), salt: this.salt, dataBlocks: this.blocks };
  }

  private hash(block: Buffer): Buffer {
    return createHash("sha256").update(this.salt).update(block).digest();
  }

  /** Digests, PER_BLOCK to a hash block, the last block zero-filled. */
  private pack(digests: Buffer[]): Buffer {
    const blocks = Math.ceil(digests.length / PER_BLOCK);
    const level = Buffer.alloc(blocks * BLOCK);
    digests.forEach((digest, index) => digest.copy(level, Math.floor(index / PER_BLOCK) * BLOCK + (index % PER_BLOCK) * DIGEST));
    return level;
  }
}
