// A simulated fleet spread over worker processes (fleet-worker.ts), each holding a few thousand LightDevice
// connections: the load generator stays off the event loop of the process under test, and no single
// process needs more than a few thousand file descriptors.
import type pg from "pg";
import { provisionDevice } from "../../../bridge/provisioning.js";
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { Receipt } from "./light-device.js";
import type { WorkerCommand, WorkerReport } from "./fleet-worker.js";

export interface Fleet {
  ids: string[];
  /** Every deployment notice received so far, by any device. */
  receipts: Receipt[];
  connectSeconds: number;
  /** Publishes hello again from every device (as after a reconnect). */
  helloAll(): Promise<void>;
  stop(): Promise<void>;
}

function waitFor(child: ChildProcess, type: WorkerReport["type"]): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const onMessage = (report: WorkerReport) => {
      if (report.type !== type) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolve(report);
    };
    const onExit = (code: number | null) => reject(new Error(`fleet worker exited (${code}) while waiting for ${type}`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

export async function startFleet(opts: { mqttUrl: string; count: number; prefix: string; workers?: number; concurrencyPerWorker?: number; pool: pg.Pool }): Promise<Fleet> {
  const url = new URL(opts.mqttUrl);
  const ids = Array.from({ length: opts.count }, (_, i) => `${opts.prefix}-${String(i).padStart(5, "0")}`);
  // Every device logs in with its own token, as on a real fleet (the embedded broker admits no anonymous client).
  const tokens: Record<string, string> = {};
  for (const id of ids) tokens[id] = (await provisionDevice(opts.pool, id, { rotate: true })).token;
  const workerCount = Math.max(1, Math.min(opts.workers ?? 4, opts.count));
  const receipts: Receipt[] = [];
  const children: ChildProcess[] = [];
  const stopAll = async () => {
    await Promise.all(children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      if (child.connected) child.send({ type: "stop" } satisfies WorkerCommand);
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }));
  };
  try {
    for (let w = 0; w < workerCount; w++) {
      const child = fork(join(import.meta.dirname, "fleet-worker.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
      child.on("message", (report: WorkerReport) => {
        if (report.type === "receipts") receipts.push(...report.receipts);
      });
      children.push(child);
    }
    await Promise.all(children.map((child) => waitFor(child, "ready")));
    const started = Date.now();
    const reports = await Promise.all(children.map((child, w) => {
      const share = ids.filter((_, i) => i % workerCount === w);
      const done = waitFor(child, "started");
      child.send({ type: "start", host: url.hostname, port: Number(url.port), ids: share, tokens: Object.fromEntries(share.map((id) => [id, tokens[id]!])), concurrency: opts.concurrencyPerWorker ?? 100 } satisfies WorkerCommand);
      return done;
    }));
    const failed = reports.flatMap((r) => (r.type === "started" ? r.failed : []));
    if (failed.length > 0) throw new Error(`${failed.length} devices could not connect (e.g. ${failed.slice(0, 3).join(", ")})`);
    return {
      ids, receipts, connectSeconds: (Date.now() - started) / 1000,
      async helloAll() {
        await Promise.all(children.map((child) => {
          const done = waitFor(child, "helloed");
          child.send({ type: "hello" } satisfies WorkerCommand);
          return done;
        }));
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
