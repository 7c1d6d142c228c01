// A child process that holds a share of a simulated fleet (LightDevice connections) for a benchmark, and
// reports every deployment notice its devices receive to the parent (scripts/bench/lib/fleet.ts) over IPC.
import { LightDevice, type Receipt } from "./light-device.js";

export type WorkerCommand =
  | { type: "start"; host: string; port: number; ids: string[]; tokens: Record<string, string>; concurrency: number }
  | { type: "hello" }
  | { type: "stop" };
export type WorkerReport =
  | { type: "started"; connected: number; failed: string[]; seconds: number }
  | { type: "receipts"; receipts: Receipt[] }
  | { type: "helloed" }
  | { type: "stopped" }
  | { type: "ready" };

const send = (report: WorkerReport) => process.send?.(report);
const devices: LightDevice[] = [];
let buffer: Receipt[] = [];
const flusher = setInterval(() => {
  if (buffer.length === 0) return;
  send({ type: "receipts", receipts: buffer });
  buffer = [];
}, 100);

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

process.on("message", async (command: WorkerCommand) => {
  if (command.type === "start") {
    const started = Date.now();
    const failed: string[] = [];
    await pool(command.ids, command.concurrency, async (controllerId) => {
      const device = new LightDevice({ host: command.host, port: command.port, controllerId, token: command.tokens[controllerId], onNotice: (r) => buffer.push(r) });
      try {
        await device.start();
        devices.push(device);
      } catch {
        failed.push(controllerId);
        await device.stop(false);
      }
    });
    send({ type: "started", connected: devices.length, failed, seconds: (Date.now() - started) / 1000 });
  } else if (command.type === "hello") {
    await pool(devices, 50, (d) => d.hello());
    send({ type: "helloed" });
  } else if (command.type === "stop") {
    await pool(devices, 200, (d) => d.stop(true));
    clearInterval(flusher);
    if (buffer.length > 0) send({ type: "receipts", receipts: buffer });
    send({ type: "stopped" });
    process.disconnect?.();
    setTimeout(() => process.exit(0), 100).unref();
  }
});
// The parent went away (crashed or killed): do not linger with thousands of sockets.
process.on("disconnect", () => {
  for (const d of devices) void d.stop(false);
  process.exit(0);
});
send({ type: "ready" });
