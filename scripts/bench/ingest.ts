// Telemetry ingest benchmark: msgs/s stored in PostgreSQL by the bridge (QoS1, ack after commit,
// batched INSERT with de-dup) as a ratio to a bare QoS1 subscriber on the same mosquitto, same load,
// same run. The publishers run in a process of their own (test/bridge/fixtures/publisher-process.ts),
// the bridge in another (test/bridge/fixtures/bridge-process.ts, as in the ingest tests); the bare
// subscriber is this process. It also prints the CPU each process used during each phase, which
// shows what limits the ratio on a small machine where all of them share the cores. The two phases
// alternate for BENCH_ROUNDS rounds (default 3) and the figure is the median of the rounds' ratios,
// so that a burst of other work on a shared machine skews one round, not the figure.
//   npm run bench:ingest            BENCH_MESSAGES=200000 BENCH_CLIENTS=10 BENCH_ROUNDS=5 BENCH_MAX_INFLIGHT=2000 npm run bench:ingest
//   BENCH_CPU_PROF=/tmp/prof npm run bench:ingest     (also writes a .cpuprofile of the bridge process)
//   BENCH_ECHO=1 npm run bench:ingest                 (also copies the child processes' output to stderr)
//   BENCH_BARE=mqtt-packet npm run bench:ingest       (bare subscriber on MQTT.js' codec alone instead of MQTT.js)
//   BENCH_PRELOAD_ROWS=10000000 npm run bench:ingest  (after the rounds on an empty table, loads that many rows
//                                                      spread over the past 30 days and runs the rounds again:
//                                                      PostgreSQL's CPU per stored row on both, side by side)
// Last line: ingest ratio.
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "node:net";
import mqtt from "mqtt";
import * as mqttPacket from "mqtt-packet";
import pg from "pg";
import { migrate } from "../../core/db/migrator.js";
import { setLogLevel } from "../../core/log.js";
import { freePort } from "../../core/ports.js";
import { startEmbeddedPostgres } from "../../infrastructure/embedded/postgres.js";
import { startMosquitto } from "../../infrastructure/mosquitto/launcher.js";
import { cpuSeconds, postgresCpu } from "./lib/cpu.js";

setLogLevel(process.env.AERIE_LOG_LEVEL ?? "warn");
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10);
const MAX_INFLIGHT = process.env.BENCH_MAX_INFLIGHT;
const CPU_PROF = process.env.BENCH_CPU_PROF;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BARE = process.env.BENCH_BARE ?? "mqtt.js";
const PRELOAD_ROWS = Number(process.env.BENCH_PRELOAD_ROWS ?? 0);
const PRELOAD_DAYS = 30;
const perClient = Math.ceil(MESSAGES / CLIENTS);
const total = perClient * CLIENTS;
const fixtures = join(import.meta.dirname, "../../test/bridge/fixtures");

interface Child {
  process: ChildProcess;
  waitFor(line: string): Promise<string>;
}

function spawnNode(script: string, env: Record<string, string>, nodeArgs: string[] = []): Child {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", join(fixtures, script)], { env: { ...process.env, AERIE_LOG_LEVEL: "warn", ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => { output += c.toString(); if (process.env.BENCH_ECHO) process.stderr.write(c); });
  child.stderr!.on("data", (c: Buffer) => void (output += c.toString()));
  return {
    process: child,
    async waitFor(line) {
      for (;;) {
        const at = output.indexOf(line);
        if (at >= 0) return output.slice(at).split("\n")[0]!;
        if (child.exitCode !== null) throw new Error(`${script} exited: ${output.slice(-2000)}`);
        await sleep(10);
      }
    },
  };
}

type Usage = Record<string, number>;

const dir = await mkdtemp(join(tmpdir(), "aerie-bench-ingest-"));
await chmod(dir, 0o755);
const postgres = await startEmbeddedPostgres({ dataDir: join(dir, "pg"), port: await freePort(), password: "bench", database: "aerie" });
const brokerPort = await freePort();
const broker = await startMosquitto({ dir, port: brokerPort });
const children: ChildProcess[] = [];

async function usage(pids: Record<string, number | undefined>): Promise<Usage> {
  const result: Usage = { mosquitto: await cpuSeconds(broker.pid), postgres: await postgresCpu(postgres.pid), "this process": await cpuSeconds(process.pid) };
  for (const [name, pid] of Object.entries(pids)) result[name] = await cpuSeconds(pid);
  return result;
}

/** Returns the PostgreSQL CPU per message in µs. */
function report(phase: string, before: Usage, after: Usage, seconds: number): number {
  const used = (name: string) => after[name]! - (before[name] ?? 0);
  const parts = Object.keys(after).map((name) => `${name} ${(used(name) / seconds).toFixed(2)} (${Math.round((used(name) / total) * 1e6)} µs/msg)`);
  const busy = Object.keys(after).reduce((sum, name) => sum + used(name), 0);
  console.log(`  CPU during ${phase}, in cores: ${parts.join(", ")}; total ${(busy / seconds).toFixed(2)} of ${cpus().length} (${Math.round((busy / total) * 1e6)} µs/msg)`);
  return (used("postgres") / total) * 1e6;
}

/** Rows as the bridge writes them, spread evenly over the past PRELOAD_DAYS days (each day its own partition, as in production). */
async function preload(url: string, rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = Date.now();
    await client.query(`SELECT aerie_telemetry_partition((current_date - d)::date) FROM generate_series(0, ${PRELOAD_DAYS}) AS d`);
    const chunk = 500_000;
    for (let from = 0; from < rows; from += chunk) {
      const to = Math.min(rows, from + chunk) - 1;
      await client.query(
        `INSERT INTO telemetry (controller_id, message_id, recorded_at, received_at, payload)
         SELECT 'preload-' || (i % 10000), 'p-' || i, t, t, '{"cpu":{"load1":0.5},"mem":{"usedPct":41}}'::jsonb
         FROM generate_series($1::bigint, $2::bigint) AS i, LATERAL (SELECT now() - (i::float8 / $3) * interval '${PRELOAD_DAYS} days' AS t) AS at`,
        [from, to, rows],
      );
      process.stdout.write(`\r  preloading telemetry: ${to + 1} of ${rows} rows`);
    }
    await client.query("VACUUM ANALYZE telemetry");
    console.log(`\n  preloaded ${rows} rows over ${PRELOAD_DAYS} days in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await client.end();
  }
}

async function startLoad(prefix: string, topicBase: string): Promise<{ pid: number; go(): Promise<string>; end(): void }> {
  const load = spawnNode("publisher-process.ts", { MQTT_URL: broker.url, LOAD_CLIENTS: String(CLIENTS), LOAD_PER_CLIENT: String(perClient), LOAD_PREFIX: prefix, LOAD_TOPIC_BASE: topicBase });
  children.push(load.process);
  await load.waitFor("LOAD READY");
  return {
    pid: load.process.pid!,
    go: () => {
      load.process.stdin!.write("go\n");
      return load.waitFor("LOAD DONE");
    },
    end: () => void load.process.stdin!.end(),
  };
}

const BARE_TOPIC = "bare/v1/devices/+/telemetry";

async function mqttJsSubscriber(url: string, topic: string, onMessage: () => void): Promise<{ end(): Promise<void> }> {
  const client = await mqtt.connectAsync(url, { clientId: "bare-subscriber", protocolVersion: 5 });
  client.on("message", onMessage);
  await client.subscribeAsync(topic, { qos: 1 });
  return { end: () => client.endAsync() };
}

/** BENCH_BARE=mqtt-packet: MQTT.js' codec alone, PUBACKs written in batches; shows what MQTT.js itself costs. */
async function rawSubscriber(port: number, topic: string, onMessage: () => void): Promise<{ end(): Promise<void> }> {
  const socket = connect(port, "127.0.0.1");
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  let subscribed!: () => void;
  const suback = new Promise<void>((resolve) => (subscribed = resolve));
  let corked = false;
  parser.on("packet", (packet: mqttPacket.Packet) => {
    if (packet.cmd === "suback") subscribed();
    if (packet.cmd !== "publish") return;
    onMessage();
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    if (packet.qos === 1) socket.write(mqttPacket.generate({ cmd: "puback", messageId: packet.messageId! }));
  });
  socket.on("data", (data) => parser.parse(data));
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, clientId: "bare-subscriber", keepalive: 600 }));
  socket.write(mqttPacket.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos: 1 }] }));
  await suback;
  return { end: async () => void socket.end() };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  await migrate(postgres.url);

  // The bare subscriber (this process): QoS1, acknowledges on receipt, stores nothing.
  let received = 0;
  let firstAt = 0;
  let lastAt = 0;
  const onBareMessage = () => {
    if (received++ === 0) firstAt = Date.now();
    lastAt = Date.now();
  };
  const bare = BARE === "mqtt-packet" ? await rawSubscriber(brokerPort, BARE_TOPIC, onBareMessage) : await mqttJsSubscriber(broker.url, BARE_TOPIC, onBareMessage);

  // The bridge (telemetry only, to PostgreSQL) in its own process, as in test/bridge/ingest.test.ts. It
  // reports its own commits (REPORT_ROWS): polling count(*) would load the PostgreSQL being measured.
  const bridge = spawnNode(
    "bridge-process.ts",
    { DATABASE_URL: postgres.url, MQTT_URL: broker.url, AERIE_BRIDGE_CLIENT_ID: "bench-bridge", MQTT_PROTOCOL_VERSION: "5", REPORT_ROWS: String(total), ...(MAX_INFLIGHT ? { AERIE_BRIDGE_MAX_INFLIGHT: MAX_INFLIGHT } : {}) },
    CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", CPU_PROF] : [],
  );
  children.push(bridge.process);
  await bridge.waitFor("BRIDGE READY");

  const ratios: number[] = [];
  const postgresPerRow: Record<string, number[]> = { empty: [] };
  const phases = PRELOAD_ROWS > 0 ? ["empty", `${PRELOAD_ROWS} rows`] : ["empty"];
  let round = 0;
  for (const table of phases) {
    if (table !== "empty") {
      await preload(postgres.url, PRELOAD_ROWS);
      postgresPerRow[table] = [];
    }
    for (let inPhase = 1; inPhase <= ROUNDS; inPhase++) {
      round++;
      console.log(`round ${inPhase} of ${ROUNDS}, telemetry table ${table === "empty" ? "empty at start" : `holding ${table}`}`);
      received = 0;
      const bareLoad = await startLoad(`bare${round}`, "bare/v1");
      let before = await usage({ publishers: bareLoad.pid });
      const bareStarted = Date.now();
      const bareDone = bareLoad.go();
      while (received < total) await sleep(20);
      const bareSeconds = (lastAt - firstAt) / 1000 || 0.001;
      report("bare", before, await usage({ publishers: bareLoad.pid }), (Date.now() - bareStarted) / 1000);
      await bareDone;
      bareLoad.end();
      const bareRate = total / bareSeconds;
      console.log(`  bare subscriber:  ${total} msgs in ${bareSeconds.toFixed(2)} s = ${Math.round(bareRate)} msgs/s`);

      const load = await startLoad(`ingest${round}`, "aerie/v1");
      const pids = { publishers: load.pid, bridge: bridge.process.pid };
      before = await usage(pids);
      const started = Date.now();
      const loadDone = load.go();
      const firstRowAt = Number((await bridge.waitFor(`ROWS FIRST ${round} `)).split(" ")[3]);
      const finishedAt = Number((await bridge.waitFor(`ROWS DONE ${round} `)).split(" ")[3]);
      const seconds = (finishedAt - firstRowAt) / 1000;
      postgresPerRow[table]!.push(report("bridge", before, await usage(pids), (Date.now() - started) / 1000));
      await loadDone;
      load.end();
      const ingestRate = total / seconds;
      console.log(`  bridge → Postgres: ${total} rows in ${seconds.toFixed(2)} s = ${Math.round(ingestRate)} msgs/s; ratio ${(ingestRate / bareRate).toFixed(2)}`);
      ratios.push(ingestRate / bareRate);
    }
  }
  await bare.end();
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  const rows = Number((await client.query("SELECT count(*) AS n FROM telemetry")).rows[0].n);
  await client.end();
  bridge.process.kill("SIGTERM");
  await bridge.waitFor("TELEMETRY ROWS");
  await new Promise((resolve) => (bridge.process.exitCode !== null ? resolve(undefined) : bridge.process.once("exit", resolve)));
  console.log(`unique rows stored: ${rows} of ${total * round + PRELOAD_ROWS} sent or preloaded`);
  for (const [table, values] of Object.entries(postgresPerRow)) {
    console.log(`PostgreSQL CPU per stored row, table ${table === "empty" ? "empty at start" : `holding ${table}`}: median ${median(values).toFixed(1)} µs (${values.map((v) => v.toFixed(1)).join(", ")})`);
  }
  if (PRELOAD_ROWS > 0) console.log(`PostgreSQL CPU per row, full table / empty table: ${(median(postgresPerRow[phases[1]!]!) / median(postgresPerRow.empty!)).toFixed(2)}`);
  console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model}; mosquitto QoS1, ${CLIENTS} publishers, bare subscriber ${BARE}, bridge max in-flight ${MAX_INFLIGHT ?? "default"}`);
  console.log(`ratios by round: ${ratios.map((r) => r.toFixed(2)).join(", ")}`);
  console.log(`ingest ratio (bridge/bare, QoS1, mosquitto, median of ${ratios.length}): ${median(ratios).toFixed(2)}`);
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await broker.stop();
  await postgres.stop();
  await rm(dir, { recursive: true, force: true });
}
