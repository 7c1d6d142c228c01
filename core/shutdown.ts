// Stops the parts of a running stack in the reverse order of their start, each within a deadline. A part
// that does not finish in time (a request that never answers, a pass that never ends) is named in the log
// and the others still stop: the databases and brokers below it must not be left running, and the
// process must end so that a supervisor can restart it.
import type { Logger } from "./log.js";

export interface StoppablePart {
  name: string;
  stop: () => Promise<unknown>;
}

export class StartAbortedError extends Error {
  constructor() {
    super("start-up interrupted by a signal");
  }
}

/** `promise`, or a StartAbortedError as soon as `signal` fires (the promise is left to settle unobserved). */
export function unlessAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new StartAbortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new StartAbortedError());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export class ShutdownSequence {
  private readonly parts: StoppablePart[] = [];

  constructor(private readonly log: Logger, private readonly deadlineMs = 30_000, private readonly signal?: AbortSignal) {}

  /**
   * Registers a started part; it is stopped before every part registered earlier. With a signal that
   * has fired (SIGTERM during start-up), throws StartAbortedError after registering, so the start
   * goes no further and its catch stops what has started.
   */
  add(name: string, stop: () => Promise<unknown>): void {
    this.parts.push({ name, stop });
    if (this.signal?.aborted) throw new StartAbortedError();
  }

  async stopAll(): Promise<void> {
    for (const part of this.parts.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), this.deadlineMs)));
      const stopped = Promise.resolve()
        .then(part.stop)
        .then(
          () => "stopped" as const,
          (error) => {
            this.log.error({ part: part.name, err: (error as Error).message }, "error while stopping");
            return "failed" as const;
          },
        );
      const outcome = await Promise.race([stopped, deadline]);
      clearTimeout(timer);
      if (outcome === "late") this.log.error({ part: part.name, deadlineMs: this.deadlineMs }, "did not stop in time; stopping the rest");
    }
  }
}
