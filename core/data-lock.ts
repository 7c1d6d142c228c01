// One Aerie per data folder: DATA_DIR/aerie.lock holds the pid of the Aerie using it. A second Aerie
// on the same folder is refused before it touches anything (it used to stop the first one's
// PostgreSQL as "left over"); a lock whose process is gone (kill -9, power loss) is taken over.
import { open, readFile, rm, mkdir } from "node:fs/promises";
import { join } from "node:path";

export class DataDirInUseError extends Error {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(`the data folder ${dataDir} is in use by another Aerie (pid ${pid}); stop it first or set AERIE_DATA_DIR to another folder`);
  }
}

export interface DataDirLock {
  file: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user, so it is alive.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function holder(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, "utf8").catch(() => "")).trim().split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, "aerie.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // "wx": created only if absent, so two starting at once cannot both win.
      const handle = await open(file, "wx", 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return {
        file,
        async release() {
          if ((await holder(file)) === process.pid) await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let pid = await holder(file);
      // Empty: another Aerie may be between creating and writing it; look again a moment later.
      if (pid === undefined) pid = await new Promise<number | undefined>((resolve) => setTimeout(() => resolve(holder(file)), 200));
      if (pid !== undefined && pid !== process.pid && alive(pid)) throw new DataDirInUseError(dataDir, pid);
      if (pid === process.pid) throw new DataDirInUseError(dataDir, pid);
      // Stale (its process is gone) or empty (a start that died between create and write): take it over.
      await rm(file, { force: true });
    }
  }
  throw new Error(`could not lock the data folder ${dataDir} (${file} keeps coming back)`);
}
