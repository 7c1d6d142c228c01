// Registration under a reconnect storm: how many devices per second does Aerie register when a whole fleet says
// hello at once? Two phases per hawkBit channel, DDI then DMF, side by side in one run on Debian mosquitto:
//   first hello  every device connects and says hello at once; registered = in Aerie's registry (PostgreSQL) and
//                a target in hawkBit (device_presence.hawkbit_contact_at set; over DDI the attributes follow, one
//                request per device). Measured from the first connection, the connections included.
//   re-hello     every connected device says the same hello again, as after a broker restart; registered = its
//                presence row stored again. hawkBit requests during this phase are counted (target: none).
//   npm run bench:register
//   BENCH_DEVICES=10000 BENCH_WORKERS=4 BENCH_CHANNELS=ddi,dmf npm run bench:register
// Last line: the slower of first hello and re-hello over DMF (devices/s), the target being ≥ 2,000/s.
import { cpus, totalmem } from "node:os";
import { setLogLevel } from "../../core/log.js";
import { startBenchStack, stopOnSignals, type BenchStack } from "./lib/bench-stack.js";
import { startFleet, type Fleet } from "./lib/fleet.js";
import { seconds, until } from "./lib/stats.js";

setLogLevel(process.env.AERIE_LOG_LEVEL ?? "warn");
const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const CHANNELS = (process.env.BENCH_CHANNELS ?? "ddi,dmf").split(",").map((c) => c.trim()) as ("ddi" | "dmf")[];

interface Result {
  channel: "ddi" | "dmf";
  first: number;
  again: number;
  againHawkbitRequests: number;
}

async function run(channel: "ddi" | "dmf"): Promise<Result> {
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
    stack = await startBenchStack({ broker: "mosquitto", countHawkbit: true, dmf: channel === "dmf" });
    const count = async (sql: string, params: unknown[] = []) => Number((await stack!.pool.query(sql, params)).rows[0].n);

    fleet = await startFleet({ mqttUrl: stack.mqttUrl, count: DEVICES, prefix: "reg", workers: WORKERS, concurrencyPerWorker: 200, pool: stack.pool });
    // From the first connection (the fleet's tokens are provisioned before it, and not counted).
    const started = Date.now() - fleet.connectSeconds * 1000;
    console.log(`[${channel}] ${DEVICES} devices connected and said hello in ${fleet.connectSeconds.toFixed(1)} s (${WORKERS} worker processes)`);
    await until("every device registered in Aerie and hawkBit", async () =>
      (await count("SELECT count(*) AS n FROM device_presence WHERE online AND hawkbit_contact_at IS NOT NULL")) >= DEVICES, 20 * 60_000, 100);
    const firstSeconds = (Date.now() - started) / 1000;
    const targets = (await stack.hawkbit.listTargets({ limit: 1 })).total ?? 0;
    console.log(`[${channel}] first hello: ${DEVICES} registered in ${seconds(firstSeconds * 1000)} = ${Math.round(DEVICES / firstSeconds)} devices/s (${targets} targets in hawkBit)`);

    // Let follow-up work (attributes, contacts) settle so the re-hello phase starts quiet.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const before = stack.proxy!.counts();
    const rehelloAt = new Date();
    const againStarted = Date.now();
    await fleet.helloAll();
    await until("every hello stored again", async () => (await count("SELECT count(*) AS n FROM device_presence WHERE changed_at >= $1", [rehelloAt])) >= DEVICES, 20 * 60_000, 50);
    const againSeconds = (Date.now() - againStarted) / 1000;
    const after = stack.proxy!.counts();
    const againHawkbitRequests = after.total - before.total;
    console.log(`[${channel}] re-hello: ${DEVICES} registered again in ${seconds(againSeconds * 1000)} = ${Math.round(DEVICES / againSeconds)} devices/s; hawkBit HTTP requests meanwhile: ${againHawkbitRequests}`);
    return { channel, first: DEVICES / firstSeconds, again: DEVICES / againSeconds, againHawkbitRequests };
  } finally {
    await stopAll();
  }
}

const results: Result[] = [];
for (const channel of CHANNELS) results.push(await run(channel));
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB; the fleet runs on the same cores`);
for (const r of results) {
  console.log(`registration (${DEVICES} devices, ${r.channel}): first hello ${Math.round(r.first)}/s, re-hello ${Math.round(r.again)}/s (${r.againHawkbitRequests} hawkBit requests)`);
}
const last = results.find((r) => r.channel === "dmf") ?? results[results.length - 1]!;
console.log(`registration devices/s (${DEVICES} devices, ${last.channel}, slower of first hello and re-hello): ${Math.round(Math.min(last.first, last.again))}`);
