// Telemetry ingest benchmark: msgs/s stored in PostgreSQL by the bridge (QoS1, ack after commit,
// COPY batches, de-dup) as a ratio to a bare QoS1 subscriber on the same mosquitto, same load, same run.
//   npm run bench:ingest            BENCH_MESSAGES=200000 BENCH_CLIENTS=10 npm run bench:ingest
// Last line: ingest ratio.
import { mkdtemp, rm } from "node:fs/promises";
import { chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { FleetBridge } from "../../bridge/index.js";
import { HawkbitManagementClient } from "../../api/hawkbit/management-client.js";
import { DdiChannel } from "../../bridge/hawkbit/ddi-channel.js";
import { migrate } from "../../core/db/migrator.js";
import { createDatabase, createPool } from "../../core/db/prisma.js";
import { setLogLevel } from "../../core/log.js";
import { AerieMetrics } from "../../core/metrics.js";
import { freePort } from "../../core/ports.js";
import { ArtifactStore } from "../../core/storage/artifact-store.js";
import { startEmbeddedPostgres } from "../../infrastructure/embedded/postgres.js";
import { startMosquitto } from "../../infrastructure/mosquitto/launcher.js";
import { publishTelemetry } from "../../test/bridge/load.js";

setLogLevel(process.env.AERIE_LOG_LEVEL ?? "warn");
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10);
const perClient = Math.ceil(MESSAGES / CLIENTS);
const total = perClient * CLIENTS;

const dir = await mkdtemp(join(tmpdir(), "aerie-bench-ingest-"));
await chmod(dir, 0o755);
const postgres = await startEmbeddedPostgres({ dataDir: join(dir, "pg"), port: await freePort(), password: "bench", database: "aerie" });
const broker = await startMosquitto({ dir, port: await freePort() });
try {
  await migrate(postgres.url);

  // 1. Bare subscriber: QoS1, acknowledges on receipt, stores nothing.
  const bare = await mqtt.connectAsync(broker.url, { clientId: "bare-subscriber", protocolVersion: 5 });
  let received = 0;
  let firstAt = 0;
  let lastAt = 0;
  bare.on("message", () => {
    if (received++ === 0) firstAt = Date.now();
    lastAt = Date.now();
  });
  await bare.subscribeAsync("bare/v1/devices/+/telemetry", { qos: 1 });
  const bareLoad = publishTelemetry({ url: broker.url, clients: CLIENTS, perClient, prefix: "bare", topicBase: "bare/v1" });
  await bareLoad;
  while (received < total) await new Promise((r) => setTimeout(r, 20));
  const bareRate = total / ((lastAt - firstAt) / 1000 || 1);
  await bare.endAsync();
  console.log(`bare subscriber:  ${total} msgs in ${((lastAt - firstAt) / 1000).toFixed(2)} s = ${Math.round(bareRate)} msgs/s`);

  // 2. The bridge: telemetry only, to PostgreSQL.
  const pool = createPool(postgres.url, 4);
  const metrics = new AerieMetrics();
  const bridge = new FleetBridge(
    {
      db: createDatabase(pool), pool, databaseUrl: postgres.url, metrics,
      store: new ArtifactStore({ endpoint: "http://127.0.0.1:9", region: "us-east-1", bucket: "b", accessKeyId: "x", secretAccessKey: "y" }),
      hawkbit: new HawkbitManagementClient({ baseUrl: "http://127.0.0.1:9", username: "x", password: "y" }),
      channel: new DdiChannel({ baseUrl: "http://127.0.0.1:9", tenant: "DEFAULT", gatewayToken: "x" }),
    },
    { mqttUrl: broker.url, baseTopic: "aerie/v1", clientId: "bench-bridge", protocolVersion: 5, extensions: ["telemetry"], maxInFlight: Number(process.env.BENCH_MAX_INFLIGHT ?? 2000) },
  );
  await bridge.start();
  const count = async () => Number((await pool.query("SELECT count(*) AS n FROM telemetry")).rows[0].n);
  const started = Date.now();
  const load = publishTelemetry({ url: broker.url, clients: CLIENTS, perClient, prefix: "ingest" });
  let firstRowAt = 0;
  for (;;) {
    const n = await count();
    if (n > 0 && !firstRowAt) firstRowAt = Date.now();
    if (n >= total) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (Date.now() - (firstRowAt || started)) / 1000;
  await load;
  const ingestRate = total / seconds;
  console.log(`bridge → Postgres: ${total} rows in ${seconds.toFixed(2)} s = ${Math.round(ingestRate)} msgs/s (unique rows: ${await count()})`);
  await bridge.stop();
  await pool.end();
  console.log(`machine: ${(await import("node:os")).cpus().length} cores, ${(await import("node:os")).cpus()[0]?.model}; mosquitto QoS1, ${CLIENTS} publishers`);
  console.log(`ingest ratio (bridge/bare, QoS1, mosquitto): ${(ingestRate / bareRate).toFixed(2)}`);
} finally {
  await broker.stop();
  await postgres.stop();
  await rm(dir, { recursive: true, force: true });
}
