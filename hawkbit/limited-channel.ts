// Bounds how many DDI requests the bridge has in flight at once (a reconnect storm of thousands of
// devices must not become thousands of parallel HTTP requests to hawkBit) and counts them.
import type { AerieMetrics } from "../core/metrics.js";
import type { HawkbitDeviceChannel } from "./channel.js";

export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** The same channel, with at most `concurrency` requests in flight, each counted as api="ddi". */
export function limitedChannel(inner: HawkbitDeviceChannel, concurrency: number, metrics: AerieMetrics): HawkbitDeviceChannel {
  // DMF sends no HTTP request: nothing to bound, and a wait for a pushed action must not hold a slot.
  if (inner.transport === "dmf") return inner;
  const gate = new Semaphore(concurrency);
  const wrap = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A): Promise<R> =>
    gate.run(() => {
      metrics.hawkbitRequests.inc({ api: "ddi" });
      return fn.apply(inner, args);
    });
  return {
    pollController: wrap(inner.pollController),
    getDeployment: wrap(inner.getDeployment),
    sendFeedback: wrap(inner.sendFeedback),
    sendConfigData: wrap(inner.sendConfigData),
    getCancelAction: wrap(inner.getCancelAction),
    sendCancelFeedback: wrap(inner.sendCancelFeedback),
    getConfirmation: wrap(inner.getConfirmation),
    sendConfirmation: wrap(inner.sendConfirmation),
  };
}
