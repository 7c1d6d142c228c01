// Shared pieces of the bridge tests: a migrated embedded PostgreSQL, mosquitto and aedes brokers, an
// in-process bridge wired to the hawkBit stand-in, and bridge child processes that can be killed.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { FleetBridge, type BridgeOptions } from "../../bridge/index.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import { migrate } from "../../core/db/migrator.js";
import { closePool, createDatabase, createPool, type Database } from "../../core/db/prisma.js";
import { AerieMetrics } from "../../core/metrics.js";
import { ArtifactStore } from "../../core/storage/artifact-store.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../infrastructure/embedded/postgres.js";
import { startMosquitto, type Mosquitto, type MosquittoOptions } from "../../infrastructure/mosquitto/launcher.js";
import { freePort, tempDir } from "../helpers/env.js";
import { CREDENTIALS, type ConformantStandin, startConformantStandin } from "../helpers/hawkbit-conformance.js";
import { type HawkbitProxy, startHawkbitProxy } from "../helpers/hawkbit-proxy.js";
import { startEmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  db: Database;
  postgres: EmbeddedPostgres;
  dir: string;
  port: number;
  count(sql: string, params?: unknown[]): Promise<number>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const tmp = await tempDir("aerie-bridge-pg-");
  const port = await freePort();
  const options = { dataDir: tmp.path, port, password: "test", database: "aerie" };
  let postgres = await startEmbeddedPostgres(options);
  await migrate(postgres.url);
  const pool = createPool(postgres.url, 5);
  const db = createDatabase(pool);
  const handle: TestDatabase = {
    url: postgres.url, pool, db, dir: tmp.path, port,
    get postgres() {
      return postgres;
    },
    async count(sql, params) {
      return Number((await pool.query(sql, params)).rows[0].n);
    },
    async restart() {
      await postgres.stop();
      postgres = await startEmbeddedPostgres(options);
    },
    async stop() {
      await db.$disconnect().catch(() => undefined);
      await closePool(pool).catch(() => undefined);
      await postgres.stop();
      await tmp.remove();
    },
  };
  return handle;
}

export async function startTestMosquitto(opts: Partial<MosquittoOptions> = {}): Promise<Mosquitto & { dir: string; remove(): Promise<void> }> {
  const tmp = await tempDir("aerie-mosquitto-");
  const broker = await startMosquitto({ dir: tmp.path, port: await freePort(), ...opts });
  return { ...broker, dir: tmp.path, remove: async () => { await broker.stop(); await tmp.remove(); } };
}

export interface InProcessBridge {
  bridge: FleetBridge;
  metrics: AerieMetrics;
  management: HawkbitManagementClient;
  stop(): Promise<void>;
}

/** A bridge in this process against the stand-in; S3 is never contacted (presigning is local). */
export async function startInProcessBridge(
  database: TestDatabase,
  standin: ConformantStandin,
  options: Omit<BridgeOptions, "baseTopic"> & { baseTopic?: string },
  { ddiUrl, ...settings }: { syncIntervalMs?: number; idleSyncIntervalMs?: number; heartbeatMs?: number; /** DDI through a proxy, say. */ ddiUrl?: string } = {},
): Promise<InProcessBridge> {
  const metrics = new AerieMetrics();
  const management = new HawkbitManagementClient({ baseUrl: standin.url, username: CREDENTIALS.username, password: CREDENTIALS.password });
  const channel = new DdiChannel({ baseUrl: ddiUrl ?? standin.url, tenant: CREDENTIALS.tenant, gatewayToken: CREDENTIALS.gatewayToken });
  const store = new ArtifactStore({ endpoint: "http://127.0.0.1:9", region: "us-east-1", bucket: "test", accessKeyId: "x", secretAccessKey: "y" });
  const bridge = new FleetBridge(
    { db: database.db, pool: database.pool, databaseUrl: database.url, metrics, store, hawkbit: management, channel, syncIntervalMs: 200, idleSyncIntervalMs: 1000, ...settings },
    { baseTopic: "aerie/v1", leaderRetryMs: 500, ...options },
  );
  await bridge.start();
  return { bridge, metrics, management, stop: () => bridge.stop() };
}

export interface BridgeChild {
  process: ChildProcess;
  output: () => string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** A bridge in its own process (test/bridge/fixtures/bridge-process.ts), so that it can be killed -9. */
export async function spawnBridge(env: Record<string, string>): Promise<BridgeChild> {
  const script = join(import.meta.dirname, "fixtures", "bridge-process.ts");
  const child = spawn(process.execPath, ["--import", "tsx", script], { env: { ...process.env, AERIE_LOG_LEVEL: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => void (output = (output + c.toString()).slice(-20000)));
  child.stderr!.on("data", (c: Buffer) => void (output = (output + c.toString()).slice(-20000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  for (let i = 0; !output.includes("BRIDGE READY"); i++) {
    if (child.exitCode !== null) throw new Error(`bridge process exited: ${output}`);
    if (i > 600) throw new Error(`bridge process did not start: ${output}`);
    await sleep(50);
  }
  return {
    process: child,
    output: () => output,
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(15000).then(() => child.kill("SIGKILL"))]);
      await exited;
    },
  };
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
      last = value;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(everyMs);
  }
}

/** An in-process bridge on an embedded broker whose DDI calls pass a proxy (outages, held requests). */
export interface BridgeBehindProxy {
  database: TestDatabase;
  standin: ConformantStandin;
  proxy: HawkbitProxy;
  brokerUrl: string;
  bridge: InProcessBridge;
  stop(): Promise<void>;
}

export async function startBridgeBehindProxy(clientId: string): Promise<BridgeBehindProxy> {
  const database = await startTestDatabase();
  const standin = await startConformantStandin({ schedulerIntervalMs: 50 });
  const proxy = await startHawkbitProxy(standin.url);
  const broker = await startEmbeddedBroker({ host: "127.0.0.1", port: await freePort() });
  const bridge = await startInProcessBridge(database, standin, { mqttUrl: broker.url, clientId }, { ddiUrl: proxy.url });
  return {
    database, standin, proxy, brokerUrl: broker.url, bridge,
    async stop() {
      await bridge.stop();
      await broker.stop();
      await proxy.close();
      await standin.dispose();
      await database.stop();
    },
  };
}
