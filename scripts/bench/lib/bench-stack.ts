// The whole Aerie stack for a benchmark, in a temp folder on free loopback ports: embedded PostgreSQL, S3 and
// Vault, Aerie's hawkBit stand-in started here (so that a counting proxy can sit in front of it), and the
// broker — Debian mosquitto (infrastructure/mosquitto/launcher.ts) or the embedded aedes. Everything it starts
// is stopped by stop(), also when the start fails half-way.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { HawkbitManagementClient } from "../../../hawkbit/management-client.js";
import { loadConfig } from "../../../core/config.js";
import { closePool, createPool } from "../../../core/db/prisma.js";
import { freePort } from "../../../core/ports.js";
import { startAerie, type AerieStack } from "../../../core/stack.js";
import { startMosquitto } from "../../../infrastructure/mosquitto/launcher.js";
import { AerieClient } from "../../lib/aerie-client.js";
import { startCountingProxy, type CountingProxy } from "./counting-proxy.js";
import { startRabbitMq } from "../../../infrastructure/rabbitmq/launcher.js";

const STANDIN_MAIN = new URL("../../../infrastructure/hawkbit-standin/main.ts", import.meta.url).pathname;

/**
 * The hawkBit stand-in in a process of its own, as hawkBit is a server of its own: its work (serving 10,000
 * devices, writing a state file of several MB in the background) must not share the event loop of the Aerie
 * under test.
 */
async function startStandinProcess(opts: { dataDir: string; port: number; username: string; password: string; gatewayToken: string; tenant: string; dmfUrl?: string }): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", STANDIN_MAIN], {
    env: {
      ...process.env, AERIE_LOG_LEVEL: "warn", HAWKBIT_STANDIN_HOST: "127.0.0.1", HAWKBIT_STANDIN_PORT: String(opts.port), HAWKBIT_STANDIN_DATA_DIR: opts.dataDir,
      HAWKBIT_STANDIN_TENANT: opts.tenant, HAWKBIT_STANDIN_USERNAME: opts.username, HAWKBIT_STANDIN_PASSWORD: opts.password, HAWKBIT_STANDIN_GATEWAY_TOKEN: opts.gatewayToken,
      ...(opts.dmfUrl ? { HAWKBIT_STANDIN_DMF_URL: opts.dmfUrl } : {}),
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-4000)));
  // A benchmark that crashes (an uncaught error skips its cleanups) must not leave the stand-in behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const exited = new Promise<void>((resolve) => child.once("exit", () => {
    process.off("exit", killOnExit);
    resolve();
  }));
  const url = `http://127.0.0.1:${opts.port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };
  const auth = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString("base64")}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`hawkBit stand-in exited: ${stderr}`);
    const ok = await fetch(`${url}/rest/v1/softwaremoduletypes?limit=1`, { headers: { authorization: auth } }).then((r) => r.ok, () => false);
    if (ok) return { url, stop };
    if (i > 300) {
      await stop();
      throw new Error(`hawkBit stand-in did not answer: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export type BrokerKind = "mosquitto" | "aedes";

export interface BenchStack {
  aerie: AerieStack;
  api: AerieClient;
  mqttUrl: string;
  pool: pg.Pool;
  hawkbit: HawkbitManagementClient;
  /** Set when started with countHawkbit. */
  proxy?: CountingProxy;
  stop(): Promise<void>;
}

/** With `dmf`, a RabbitMQ of its own: the stand-in speaks DMF on it and Aerie uses it (HAWKBIT_DMF_URL) instead of DDI. */
export async function startBenchStack(opts: { broker: BrokerKind; countHawkbit?: boolean; logHawkbit?: boolean; env?: Record<string, string>; dmf?: boolean }): Promise<BenchStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error) => console.error(`cleanup: ${(error as Error).message}`));
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), "aerie-bench-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // Embedded PostgreSQL runs as user postgres when we are root: it must be able to enter.
    await chmod(dir, 0o755);
    const credentials = { username: "bench", password: randomBytes(12).toString("hex"), gatewayToken: randomBytes(12).toString("hex"), tenant: "DEFAULT" };
    let dmfUrl: string | undefined;
    if (opts.dmf) {
      const rabbit = await startRabbitMq({ dir: join(dir, "rabbitmq"), vhost: "hawkbit" });
      cleanups.push(() => rabbit.stop());
      dmfUrl = rabbit.url;
    }
    const standin = await startStandinProcess({ ...credentials, dataDir: join(dir, "hawkbit"), port: await freePort(), dmfUrl });
    cleanups.push(() => standin.stop());
    let hawkbitUrl = standin.url;
    let proxy: CountingProxy | undefined;
    if (opts.countHawkbit) {
      proxy = await startCountingProxy(standin.url, { log: opts.logHawkbit });
      cleanups.push(() => proxy!.close());
      hawkbitUrl = proxy.url;
    }
    let mqttUrl: string | undefined;
    if (opts.broker === "mosquitto") {
      const broker = await startMosquitto({ dir, port: await freePort() });
      cleanups.push(() => broker.stop());
      mqttUrl = broker.url;
    }
    const config = loadConfig({
      AERIE_DATA_DIR: join(dir, "aerie"),
      AERIE_LOG_LEVEL: process.env.AERIE_LOG_LEVEL ?? "warn",
      AERIE_POSTGRES_PORT: String(await freePort()),
      AERIE_API_PORT: String(await freePort()),
      AERIE_MQTT_PORT: String(await freePort()),
      AERIE_S3_PORT: String(await freePort()),
      AERIE_VAULT_PORT: String(await freePort()),
      HAWKBIT_URL: hawkbitUrl,
      HAWKBIT_USERNAME: credentials.username,
      HAWKBIT_PASSWORD: credentials.password,
      HAWKBIT_GATEWAY_TOKEN: credentials.gatewayToken,
      HAWKBIT_TENANT: credentials.tenant,
      ...(mqttUrl ? { MQTT_URL: mqttUrl } : {}),
      ...(dmfUrl ? { HAWKBIT_DMF_URL: dmfUrl } : {}),
      ...opts.env,
    });
    const aerie = await startAerie(config);
    cleanups.push(() => aerie.stop());
    const pool = createPool(aerie.databaseUrl, 2);
    cleanups.push(() => closePool(pool));
    return {
      aerie, api: new AerieClient(aerie.endpoints.api, aerie.adminToken), mqttUrl: aerie.endpoints.mqtt, pool, proxy,
      // Straight to the stand-in: the benchmark's own look-ups are not counted.
      hawkbit: new HawkbitManagementClient({ baseUrl: standin.url, username: credentials.username, password: credentials.password }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Stops `stop` on SIGINT/SIGTERM too, so an interrupted benchmark leaves no process behind. */
export function stopOnSignals(stop: () => Promise<void>): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`${signal}: stopping`);
      void stop().finally(() => process.exit(130));
    });
  }
}
