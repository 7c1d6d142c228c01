// cpio "newc" (070701) writer for .swu archives: entries go out in the order they are added
// (swupdate requires sw-description, then sw-description.sig, then the images) and file data is
// streamed, so multi-GiB images never sit in memory.
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";

const pad4 = (n: number): number => (4 - (n % 4)) % 4;
const hex8 = (n: number): string => n.toString(16).padStart(8, "0");

export class CpioWriter {
  private inode = 1;

  constructor(private readonly out: Writable) {}

  async addFile(name: string, size: number, data: Buffer | Readable, options: { mode?: number; mtime?: number } = {}): Promise<void> {
    if (size > 0xffffffff) throw new Error(`${name}: cpio newc cannot hold files of 4 GiB or more`);
    await this.header(name, size, 0o100000 | (options.mode ?? 0o644), options.mtime ?? 0, 1);
    let written = 0;
    if (Buffer.isBuffer(data)) {
      await this.write(data);
      written = data.length;
    } else {
      for await (const chunk of data) {
        written += (chunk as Buffer).length;
        await this.write(chunk as Buffer);
      }
    }
    if (written !== size) throw new Error(`${name}: expected ${size} bytes, read ${written} (file changed while packing?)`);
    await this.write(Buffer.alloc(pad4(size)));
  }

  /** Writes the TRAILER!!! entry; the caller ends the stream. */
  async finish(): Promise<void> {
    this.inode = 0;
    await this.header("TRAILER!!!", 0, 0, 0, 1);
  }

  private async header(name: string, size: number, mode: number, mtime: number, nlink: number): Promise<void> {
    const nameBytes = Buffer.from(`${name}\0`, "utf8");
    const fields = [this.inode++, mode, 0, 0, nlink, mtime, size, 0, 0, 0, 0, nameBytes.length, 0];
    const header = Buffer.from(`070701${fields.map(hex8).join("")}`, "ascii");
    await this.write(Buffer.concat([header, nameBytes, Buffer.alloc(pad4(header.length + nameBytes.length))]));
  }

  private async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    if (!this.out.write(chunk)) await once(this.out, "drain");
  }
}
