// Artifact binaries on disk, content-addressed by SHA-1 under `<dataDir>/artifacts` as hawkBit's file
// repository does. Uploads stream through the three digests into a temp file that is renamed into place.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, type ReadStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface StoredBinary {
  sha1: string;
  md5: string;
  sha256: string;
  size: number;
}

export interface StagedBinary extends StoredBinary {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

export class ArtifactStorage {
  private readonly dir: string;
  private readonly tmpDir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, "artifacts");
    this.tmpDir = join(dataDir, "tmp");
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  /** Streams an upload to a temp file; the caller checks the digests, then commits or discards it. */
  async stage(source: Readable): Promise<StagedBinary> {
    const sha1 = createHash("sha1");
    const md5 = createHash("md5");
    const sha256 = createHash("sha256");
    let size = 0;
    const digest = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sha1.update(chunk);
        md5.update(chunk);
        sha256.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const tmp = join(this.tmpDir, randomBytes(8).toString("hex"));
    try {
      await pipeline(source, digest, createWriteStream(tmp));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const binary = { sha1: sha1.digest("hex"), md5: md5.digest("hex"), sha256: sha256.digest("hex"), size };
    return {
      ...binary,
      commit: () => rename(tmp, this.path(binary.sha1)),
      discard: () => rm(tmp, { force: true }),
    };
  }

  /** `end` is inclusive, as in an HTTP byte range. */
  read(sha1: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.path(sha1), range);
  }

  private path(sha1: string): string {
    return join(this.dir, sha1);
  }
}
