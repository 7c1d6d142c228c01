// hawkBit load of an idle fleet: requests hawkBit receives per idle device-hour, everything counted.
//   npm run bench:hawkbit-load
//   BENCH_DEVICES=1000 BENCH_SCALE=600 BENCH_PERIODS=1 BENCH_BROKER=mosquitto|aedes BENCH_CHANNELS=ddi,dmf npm run bench:hawkbit-load
// Each hawkBit channel runs on the same fleet size, one after the other: DDI, then DMF (a RabbitMQ of its own,
// HAWKBIT_DMF_URL), where hawkBit pushes every action and the bridge neither polls devices nor lists actions
// while nothing is open. AMQP messages are not HTTP requests and are not counted.
// The whole stack runs in this process with a counting HTTP proxy between Aerie and the hawkBit stand-in
// (lib/counting-proxy.ts): every request of the bridge, the API and the campaign monitor passes through it.
// N devices (LightDevice connections in worker processes) register, then stay connected and silent.
//
// Time is compressed by BENCH_SCALE: the bridge runs with AERIE_BRIDGE_HEARTBEAT_MS = 24 h / S and
// AERIE_BRIDGE_IDLE_SYNC_MS = 5 min / S (the defaults divided by S), and the window lasts BENCH_PERIODS
// heartbeat periods of 24 h / S. Why that is the same load as the defaults over BENCH_PERIODS days:
// - Sync: one pass per idle interval, each one Management API request while no action exists (a page of
//   nothing), so the count per window is window / interval, the same number at any S. An idle fleet's bridge
//   is past its 5-minute "quick" phase (a constant in action-sync.ts, not scaled); AERIE_BRIDGE_SYNC_MS is set
//   to the idle value too, so the compressed run is in the idle regime from its first second instead of
//   after 5 real minutes. A pass takes a few ms, added to each interval: at S=600 (500 ms) that lowers the
//   sync count by a few per cent, shown below as the measured mean interval.
// - Heartbeat: one DDI poll per online device whose last contact is older than the period, with at most
//   ceil(online × tick / period) per tick; in steady state every device is polled once per period whatever
//   the tick. Freshly registered devices all have their contact "now" (nothing due for a whole period), so
//   before the window the contacts are spread uniformly over the last period, as in a fleet that has been
//   online for days: each device then falls due exactly once per period of the window.
// Registration itself (one DDI poll and one attributes upload per new device) is outside the window.
// Last line: requests per idle device-hour over the last channel run (DMF by default).
import { cpus } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { SETTINGS } from "../../core/config.js";
import { setLogLevel } from "../../core/log.js";
import { startBenchStack, stopOnSignals, type BenchStack, type BrokerKind } from "./lib/bench-stack.js";
import { startFleet, type Fleet } from "./lib/fleet.js";
import { until } from "./lib/stats.js";

setLogLevel(process.env.AERIE_LOG_LEVEL ?? "warn");
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const SCALE = Number(process.env.BENCH_SCALE ?? 600);
const PERIODS = Number(process.env.BENCH_PERIODS ?? 1);
const BROKER = (process.env.BENCH_BROKER as BrokerKind | undefined) ?? "mosquitto";
const CHANNELS = (process.env.BENCH_CHANNELS ?? "ddi,dmf").split(",").map((c) => c.trim()) as ("ddi" | "dmf")[];
const HEARTBEAT_MS = SETTINGS.bridgeHeartbeatMs.default!;
const IDLE_SYNC_MS = SETTINGS.bridgeIdleSyncIntervalMs.default!;
const human = (ms: number) => (ms % 3600_000 === 0 ? `${ms / 3600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);
const heartbeatMs = Math.round(HEARTBEAT_MS / SCALE);
const idleSyncMs = Math.round(IDLE_SYNC_MS / SCALE);
const windowMs = PERIODS * heartbeatMs;

const mgmtCount = (counts: { byKind: Record<string, number | undefined> }) => counts.byKind.mgmt ?? 0;

async function run(channel: "ddi" | "dmf"): Promise<string> {
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
    stack = await startBenchStack({
      broker: BROKER,
      countHawkbit: true,
      dmf: channel === "dmf",
      env: { AERIE_BRIDGE_HEARTBEAT_MS: String(heartbeatMs), AERIE_BRIDGE_IDLE_SYNC_MS: String(idleSyncMs), AERIE_BRIDGE_SYNC_MS: String(idleSyncMs) },
    });
    const proxy = stack.proxy!;
    fleet = await startFleet({ mqttUrl: stack.mqttUrl, count: DEVICES, prefix: "idle", workers: Math.min(4, Math.ceil(DEVICES / 500)), pool: stack.pool });
    await until("every device registered", async () =>
      Number((await stack!.pool.query("SELECT count(*) AS n FROM device_presence WHERE online AND hawkbit_contact_at IS NOT NULL")).rows[0].n) >= DEVICES, 15 * 60_000, 500);
    const registration = proxy.counts();
    console.log(`[${channel}] ${DEVICES} devices online and registered (${registration.total} hawkBit requests for registration: ${JSON.stringify(registration.byKind)})`);

    // A fleet online for days: last contacts spread uniformly over the last heartbeat period.
    await stack.pool.query("UPDATE device_presence SET hawkbit_contact_at = now() - random() * make_interval(secs => $1::double precision / 1000) WHERE online", [heartbeatMs]);
    proxy.reset();
    const started = Date.now();
    await sleep(windowMs);
    const elapsed = Date.now() - started;
    const counts = proxy.counts();
    const online = Number((await stack.pool.query("SELECT count(*) AS n FROM device_presence WHERE online")).rows[0].n);

    const equivalentHours = (elapsed * SCALE) / 3600_000;
    const deviceHours = online * equivalentHours;
    const perDeviceHour = counts.total / deviceHours;
    // Each pass adds its own duration (and timer lateness) to the interval: a few % of 500 ms, nothing of 5 min. At the
    // defaults the bridge would make this many sync requests in the same equivalent time:
    const overheadMs = Math.max(0, elapsed / Math.max(1, counts.byKind.mgmt ?? 0) - idleSyncMs);
    // No pass at all (DMF with nothing open): nothing to correct.
    const syncAtDefaults = mgmtCount(counts) === 0 ? 0 : (equivalentHours * 3600_000) / (IDLE_SYNC_MS + overheadMs);
    const corrected = ((counts.byKind.ddi ?? 0) + syncAtDefaults + (counts.byKind.other ?? 0)) / deviceHours;
    const mgmt = counts.byKind.mgmt ?? 0;
    const ddi = counts.byKind.ddi ?? 0;
    console.log(`scale 1:${SCALE}: heartbeat ${heartbeatMs} ms (${human(HEARTBEAT_MS)}), idle sync ${idleSyncMs} ms (${human(IDLE_SYNC_MS)}); window ${(elapsed / 1000).toFixed(1)} s = ${equivalentHours.toFixed(1)} h at the defaults`);
    console.log(`requests in the window: ${counts.total} (mgmt ${mgmt}, ddi ${ddi}, other ${counts.byKind.other ?? 0})`);
    for (const [route, n] of Object.entries(counts.byRoute).sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(7)}  ${route}`);
    console.log(`heartbeat: ${(ddi / online / (equivalentHours / 24)).toFixed(3)} DDI polls per device per 24 h (expected ${channel === "ddi" ? "1" : "0: DMF needs no polling"})`);
    console.log(`sync: ${(mgmt / equivalentHours).toFixed(1)} Management API requests per hour for the fleet (${3600_000 / IDLE_SYNC_MS} at a ${human(IDLE_SYNC_MS)} interval; ${mgmt === 0 ? "no pass asked hawkBit anything" : `measured mean interval ${(elapsed / mgmt).toFixed(1)} ms vs ${idleSyncMs} ms configured`})`);
    console.log(`  = ${(ddi / deviceHours).toFixed(4)} (heartbeat) + ${(mgmt / deviceHours).toFixed(4)} (sync, fixed per fleet: ${3600_000 / IDLE_SYNC_MS}/N) per device-hour`);
    console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}); ${BROKER}; ${channel}; ${online} idle online devices`);
    console.log(`as counted: ${perDeviceHour.toFixed(4)} per device-hour; ${syncAtDefaults === 0 ? "no sync request to correct" : `with the sync count corrected for the pass overhead (${overheadMs.toFixed(1)} ms per pass, ${syncAtDefaults.toFixed(0)} passes at ${human(IDLE_SYNC_MS)})`}: ${corrected.toFixed(4)}`);
    return `hawkBit HTTP requests per idle device-hour over ${channel.toUpperCase()} (${online} devices, defaults ${human(HEARTBEAT_MS)} heartbeat / ${human(IDLE_SYNC_MS)} idle sync): ${corrected.toFixed(3)}`;
  } finally {
    await stopAll();
  }
}

const figures: string[] = [];
for (const channel of CHANNELS) {
  figures.push(await run(channel));
  console.log(figures.at(-1));
}
// Side by side, the last channel's figure last.
for (const figure of figures) console.log(figure);
