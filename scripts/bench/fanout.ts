// Deployment notice fan-out: how long after a rollout starts do 10,000 MQTT devices each hold their notice?
//   npm run bench:fanout
//   BENCH_DEVICES=10000 BENCH_BROKER=mosquitto|aedes|both BENCH_WORKERS=4 BENCH_WAKE=0|1 BENCH_CHANNELS=ddi,dmf npm run bench:fanout
// Each broker runs once per hawkBit channel, DDI then DMF (a RabbitMQ of its own, HAWKBIT_DMF_URL), on the same
// fleet size, one after the other in this run. The DMF run turns on hawkBit's batch.assignments.enabled, its mode for
// mass assignment (one BATCH_DOWNLOAD_AND_INSTALL per 1,000 actions); BENCH_DMF_BATCH=0 keeps one message per device.
// The whole stack runs in this process as `aerie start` runs it (embedded PostgreSQL, S3, Vault, the hawkBit
// stand-in; Debian mosquitto on a free loopback port, or the embedded aedes), with default bridge intervals.
// The devices are one MQTT connection each (LightDevice, a bare mqtt-packet client), spread over worker
// processes; each subscribes to its own deployment topic, so the bridge publishes one notice per device.
// They register with hello, as real devices do. Then a release and a one-group campaign over all of them:
// T0 is the rollout start in hawkBit: the creation time of its first action (the campaign is created, then started); each device's latency is its receipt of
// the notice minus T0, and also minus its hawkBit action's createdAt (the rollout start in hawkBit).
// BENCH_WAKE=1 additionally sends `NOTIFY aerie_bridge_wake` when the benchmark sees the rollout started (the
// campaign monitor already sends it after starting the rollout, and again when hawkBit reports it running).
// BENCH_CPU_PROF=/tmp/fanout also writes a V8 CPU profile of this process (Aerie) over each fan-out window.
// Each run also prints the CPU of every process it started, per device, from the start request to the last notice.
// Last line: the p95 from T0 over DMF (the last channel run).
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { cpus, totalmem } from "node:os";
import { setLogLevel } from "../../core/log.js";
import { WAKE_CHANNEL } from "../../bridge/wake.js";
import { startBenchStack, stopOnSignals, type BenchStack, type BrokerKind } from "./lib/bench-stack.js";
import { startFleet, type Fleet } from "./lib/fleet.js";
import { seconds, summary, until } from "./lib/stats.js";
import { cpuReport, cpuSnapshot, type CpuReport } from "./lib/cpu.js";

setLogLevel(process.env.AERIE_LOG_LEVEL ?? "warn");
const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const WAKE = process.env.BENCH_WAKE === "1";
const brokers: BrokerKind[] = process.env.BENCH_BROKER === "both" ? ["mosquitto", "aedes"] : [(process.env.BENCH_BROKER as BrokerKind | undefined) ?? "mosquitto"];
/** hawkBit's tenant setting batch.assignments.enabled for the DMF run (on unless BENCH_DMF_BATCH=0). */
const DMF_BATCH = process.env.BENCH_DMF_BATCH !== "0";
/** Writes a .cpuprofile of this process (Aerie's bridge and API) over each fan-out window: BENCH_CPU_PROF=/tmp/fanout */
const CPU_PROF = process.env.BENCH_CPU_PROF;
const CHANNELS = (process.env.BENCH_CHANNELS ?? "ddi,dmf").split(",").map((c) => c.trim()) as ("ddi" | "dmf")[];

/** Which part of the benchmark a process is, from its command line (all are descendants of this process). */
function partOf(commandLine: string, pid: number): string {
  if (pid === process.pid) return "Aerie (and this benchmark)";
  if (commandLine.includes("hawkbit-standin/")) return "hawkBit stand-in";
  if (commandLine.includes("fleet-worker")) return "devices (load generator)";
  if (/(^|\/)mosquitto\b/.test(commandLine)) return "mosquitto";
  if (/beam\.smp|rabbitmq|epmd|erl_child_setup|inet_gethost/.test(commandLine)) return "RabbitMQ";
  if (commandLine.includes("s3-child")) return "S3";
  if (/(^|\/)postgres\b|^postgres:/.test(commandLine)) return "PostgreSQL";
  return "other";
}

/** The V8 sampling profiler of this process, over a window of the run (what `node --cpu-prof` gives for a whole run). */
async function startProfiler(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return {
    async stop(file) {
      const { profile } = await session.post("Profiler.stop");
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`CPU profile of this process over the fan-out: ${file}`);
    },
  };
}

interface Result {
  broker: BrokerKind;
  channel: "ddi" | "dmf";
  received: number;
  cpu: CpuReport;
  fromStart: ReturnType<typeof summary>;
  fromAction: ReturnType<typeof summary>;
}

async function run(broker: BrokerKind, channel: "ddi" | "dmf"): Promise<Result> {
  let stack: BenchStack | undefined;
  let fleet: Fleet | undefined;
  const stopAll = async () => {
    await fleet?.stop();
    fleet = undefined;
    await stack?.stop();
    stack = undefined;
  };
  stopOnSignals(stopAll);
  try {
    const bootStarted = Date.now();
    stack = await startBenchStack({ broker, countHawkbit: true, logHawkbit: true, dmf: channel === "dmf" });
    const bridgeStartedAt = Date.now();
    console.log(`[${broker}/${channel}] stack up in ${seconds(bridgeStartedAt - bootStarted)} (${stack.mqttUrl})`);
    if (channel === "dmf" && DMF_BATCH) {
      // hawkBit's own mass-assignment mode for DMF: one message per 1,000 assignments instead of one each.
      await stack.hawkbit.setTenantConfig("batch.assignments.enabled", true);
      console.log(`[${broker}/${channel}] hawkBit batch.assignments.enabled = true (BENCH_DMF_BATCH=0 for one message per device)`);
    }
    const count = async (sql: string) => Number((await stack!.pool.query(sql)).rows[0].n);

    // Registration: every device connects, subscribes, says online and hello; the bridge registers it in
    // Postgres and as a hawkBit target.
    const registerStarted = Date.now();
    fleet = await startFleet({ mqttUrl: stack.mqttUrl, count: DEVICES, prefix: "fan", workers: WORKERS, concurrencyPerWorker: 100, pool: stack.pool });
    console.log(`[${broker}/${channel}] ${DEVICES} devices connected in ${fleet.connectSeconds.toFixed(1)} s (${WORKERS} worker processes)`);
    let lastReport = Date.now();
    await until("every device registered in Aerie and hawkBit", async () => {
      const n = await count("SELECT count(*) AS n FROM device_presence WHERE online AND hawkbit_contact_at IS NOT NULL");
      if (Date.now() - lastReport > 30_000) {
        lastReport = Date.now();
        console.log(`[${broker}/${channel}]   ${n} registered after ${seconds(Date.now() - registerStarted)}`);
      }
      return n >= DEVICES;
    }, 20 * 60_000, 1000);
    const registerSeconds = (Date.now() - registerStarted) / 1000;
    console.log(`[${broker}/${channel}] ${DEVICES} devices registered in ${registerSeconds.toFixed(1)} s (${Math.round(DEVICES / registerSeconds)} devices/s)`);

    // A release and a one-group campaign over the whole fleet, created and then started: the campaign monitor
    // starts the rollout in hawkBit. Waited for through Postgres and hawkBit only:
    // GET /campaigns/{id} lists every device (paging hawkBit's group targets), too heavy to poll at 10,000.
    const image = randomBytes(4096);
    const artifact = await stack.api.uploadArtifact("fanout-2.0.0.swu", image, image.length);
    await stack.api.signArtifact(artifact.id);
    const release = await stack.api.createRelease({ name: "fanout-os", version: "2.0.0", artifacts: [artifact.id] });
    fleet.receipts.length = 0;
    const idleFor = Date.now() - bridgeStartedAt;
    const campaignAt = Date.now();
    // Created, then started, as from the dashboard: the creation's answer lists the group's 10,000 devices (paged from
    // hawkBit), which is the campaign's cost, not the fan-out's; with start: true it ran during the fan-out.
    const campaign = await stack.api.createCampaign({ name: `fanout-${Date.now()}`, releaseId: release.id, targetFilter: "controllerId==fan-*", groups: 1 });
    // CPU of every process of the run over the fan-out: from the start request to the last notice.
    const cpuBefore = await cpuSnapshot(partOf);
    const profiler = CPU_PROF ? await startProfiler() : undefined;
    await stack.api.request("POST", `/api/v1/campaigns/${campaign.id}/start`);
    const rolloutId = await until("the rollout created in hawkBit", async () =>
      (await stack!.pool.query("SELECT hawkbit_rollout_id AS id FROM campaigns WHERE id = $1", [campaign.id])).rows[0]?.id as number | null ?? undefined, 5 * 60_000, 50);
    // T0: the first moment hawkBit reports the rollout started (polled every 50 ms).
    const rollout = await until("the rollout started in hawkBit", async () => {
      const r = await stack!.hawkbit.getRollout(rolloutId);
      return r.status === "starting" || r.status === "running" ? r : undefined;
    }, 5 * 60_000, 50);
    const seenRunningAt = Date.now();
    console.log(`[${broker}/${channel}] rollout ${rollout.id} with ${rollout.totalTargets} targets (one group) seen started in hawkBit ${seconds(seenRunningAt - campaignAt)} after the campaign was created`);
    if (rollout.totalTargets !== DEVICES) throw new Error(`the rollout has ${rollout.totalTargets} targets, expected ${DEVICES}`);
    if (WAKE) await stack.pool.query(`NOTIFY ${WAKE_CHANNEL}`);
    const t0 = seenRunningAt;
    const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? 180_000);
    // Counted as receipts arrive (this process also runs the Aerie being measured: no rescans of the whole list).
    const holders = new Set<string>();
    let counted = 0;
    await until(`${DEVICES} notices`, async () => {
      for (; counted < fleet!.receipts.length; counted++) holders.add(fleet!.receipts[counted]!.controllerId);
      return holders.size >= DEVICES;
    }, timeoutMs, 100).catch((error) => console.log(`[${broker}/${channel}] ${(error as Error).message}`));
    const cpu = cpuReport(cpuBefore, await cpuSnapshot(partOf), DEVICES, cpus().length);
    if (profiler) await profiler.stop(`${CPU_PROF}-${broker}-${channel}.cpuprofile`);

    // Each device's own action, with its creation time in hawkBit.
    const createdAt = new Map<number, number>();
    for (let offset = 0; ; offset += 500) {
      const page = await stack.hawkbit.listActions({ q: `rollout.id==${rolloutId}`, offset, limit: 500 }).catch(() => stack!.hawkbit.listActions({ offset, limit: 500 }));
      for (const action of page.content) if (action.createdAt) createdAt.set(action.id, action.createdAt);
      if (page.content.length < 500) break;
    }
    const first = new Map<string, { actionId: number; at: number }>();
    for (const r of fleet.receipts) if (!first.has(r.controllerId)) first.set(r.controllerId, r);
    const received = [...first.values()];
    // The rollout start in hawkBit: its actions are created by the start (one scheduler tick for all of them).
    const created0 = Math.min(...createdAt.values());
    const fromStart = summary(received.map((r) => r.at - created0));
    const fromSeen = summary(received.map((r) => r.at - t0));
    const fromAction = summary(received.filter((r) => createdAt.has(r.actionId)).map((r) => r.at - createdAt.get(r.actionId)!));
    console.log(`[${broker}/${channel}] bridge up ${seconds(idleFor)} before the campaign (quick polling for its first 5 min, idle after; woken by the campaign start); actions created ${seconds(created0 - campaignAt)} after the campaign, ${seconds(Math.max(...createdAt.values()) - created0)} apart; start seen by polling ${seconds(t0 - created0)} later${WAKE ? " (wake sent then)" : ""}`);
    console.log(`[${broker}/${channel}] notices received by ${received.length}/${DEVICES} devices (${fleet.receipts.length} notices in all)`);
    console.log(`[${broker}/${channel}] latency from rollout start:      p50 ${seconds(fromStart.p50)}  p95 ${seconds(fromStart.p95)}  max ${seconds(fromStart.max)}  (first ${seconds(fromStart.min)})`);
    console.log(`[${broker}/${channel}] latency from start seen by poll: p50 ${seconds(fromSeen.p50)}  p95 ${seconds(fromSeen.p95)}  max ${seconds(fromSeen.max)}`);
    const pages = stack.proxy!.log.filter((l) => l.route === "GET /rest/v1/actions" && l.at >= created0 - 1000);
    console.log(`[${broker}/${channel}] bridge's action listing after the start: ${pages.length} pages, ${seconds(pages.reduce((n, l) => n + l.ms, 0))} in hawkBit (max ${pages.reduce((n, l) => Math.max(n, l.ms), 0)} ms), first page at +${seconds((pages[0]?.at ?? created0) - created0)}, last done at +${seconds(Math.max(0, ...pages.map((l) => l.at + l.ms - created0)))}`);
    console.log(`[${broker}/${channel}] latency from action createdAt:  p50 ${seconds(fromAction.p50)}  p95 ${seconds(fromAction.p95)}  max ${seconds(fromAction.max)}  (first ${seconds(fromAction.min)})`);
    console.log(`[${broker}/${channel}] CPU from the start request to the last notice (${cpu.windowSeconds.toFixed(2)} s window, up to 100 ms late):`);
    for (const line of cpu.lines) console.log(`[${broker}/${channel}]   ${line.part.padEnd(28)} ${line.seconds.toFixed(2).padStart(6)} s  ${Math.round(line.microsPerUnit).toString().padStart(5)} µs per device`);
    console.log(`[${broker}/${channel}]   ${"all of them".padEnd(28)} ${cpu.totalSeconds.toFixed(2).padStart(6)} s  ${Math.round(cpu.totalMicrosPerUnit).toString().padStart(5)} µs per device; machine busy ${cpu.machineBusySeconds.toFixed(2)} s of ${cpu.capacitySeconds.toFixed(2)} (${cpus().length} cores)`);
    return { broker, channel, received: received.length, cpu, fromStart, fromAction };
  } finally {
    await stopAll();
  }
}

const results: Result[] = [];
for (const broker of brokers) for (const channel of CHANNELS) results.push(await run(broker, channel));
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB; load generator on the same cores`);
for (const r of results) console.log(`CPU per device, ${r.broker}/${r.channel}: ${Math.round(r.cpu.totalMicrosPerUnit)} µs (machine busy ${Math.round((100 * r.cpu.machineBusySeconds) / r.cpu.capacitySeconds)} % of ${cpus().length} cores over ${r.cpu.windowSeconds.toFixed(2)} s)`);
for (const r of results) {
  console.log(`deployment notice latency p95 (${DEVICES} devices, ${r.broker}, ${r.channel}${r.channel === "dmf" && DMF_BATCH ? " batch" : ""}${WAKE ? ", wake" : ""}): ${seconds(r.fromStart.p95)} (p50 ${seconds(r.fromStart.p50)}, max ${seconds(r.fromStart.max)}, ${r.received}/${DEVICES} received)`);
}
