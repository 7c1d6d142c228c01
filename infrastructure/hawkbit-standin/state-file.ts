// The stand-in's state on disk, `<dataDir>/state.json`.
//
// At fleet scale the file is several MB and serialising it blocks the event loop, so it is not written per
// mutation: a mutation marks the state changed, and one write a little later takes every change made until then.
// At most one write is in flight; changes made while it runs get the next one. The pause before a write grows
// with the time the last serialisation took, so writing never takes more than about a tenth of the event loop.
// Each write goes to a temp file that is synced and then renamed over the old one: a crash leaves either the old
// or the new state, never a torn file. A clean shutdown (`close`) writes whatever is still pending.
import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const FILE = "state.json";
const MIN_DELAY_MS = 100;
/** The pause before a write is this many times the last serialisation, so serialising takes ≤ 1/(1+n) of the time. */
const PAUSE_PER_SERIALISATION = 9;

export class StateFile {
  private dirty = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private serialiseMs = 0;

  /** `snapshot` is read at write time; `onError` hears about writes nobody waits for. */
  constructor(
    private readonly dataDir: string,
    private readonly snapshot: () => unknown,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The stored state, or undefined before the first write. */
  static async read<T>(dataDir: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(join(dataDir, FILE), "utf8")) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** The state changed: it is written soon, together with every other change until then. */
  changed(): void {
    if (this.closed) return;
    this.dirty = true;
    this.schedule();
  }

  /** Resolves once every change made before the call is on disk. */
  async flush(): Promise<void> {
    for (;;) {
      // A write in flight may have serialised the state before the latest changes: wait, then look again.
      if (this.writing) {
        await this.writing.catch(() => undefined);
        continue;
      }
      this.cancelTimer();
      if (!this.dirty) return;
      await this.write();
    }
  }

  /** Flushes, then ignores further changes: a closed stand-in must not overwrite the state of its successor. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    // A change made just as the first flush finished is still written; none can follow it.
    await this.flush();
  }

  private schedule(): void {
    if (this.timer || this.writing || !this.dirty) return;
    const delay = Math.max(MIN_DELAY_MS, PAUSE_PER_SERIALISATION * this.serialiseMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty && !this.writing) this.write().catch(this.onError);
    }, delay);
  }

  private cancelTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private write(): Promise<void> {
    const written = this.writeSnapshot();
    this.writing = written.then(
      () => {
        this.writing = undefined;
        this.schedule();
      },
      (err: unknown) => {
        // Left dirty, so the next change or flush tries again; not retried by itself, which could spin on a full disk.
        this.writing = undefined;
        throw err;
      },
    );
    return this.writing;
  }

  private async writeSnapshot(): Promise<void> {
    this.dirty = false;
    const started = performance.now();
    const data = JSON.stringify(this.snapshot());
    this.serialiseMs = performance.now() - started;
    const tmp = join(this.dataDir, `${FILE}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    try {
      // 0600: the state holds device security tokens.
      const file = await open(tmp, "w", 0o600);
      try {
        await file.writeFile(data);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, join(this.dataDir, FILE));
    } catch (err) {
      this.dirty = true;
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }
}
