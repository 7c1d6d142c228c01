// Stops the parts of a running stack in the reverse order of their start, each within a deadline. A part
// that does not finish in time (a request that never answers, a pass that never ends) is named in the log
// and the others still stop: the databases and brokers below it must not be left running, and the
// process must end so that a supervisor can restart it.
import type { Logger } from "./log.js";

export interface StoppablePart {
  name: string;
  stop: () => Promise<unknown>;
}

export class ShutdownSequence {
  private readonly parts: StoppablePart[] = [];

  constructor(private readonly log: Logger, private readonly deadlineMs = 30_000) {}

  /** Registers a started part; it is stopped before every part registered earlier. */
  add(name: string, stop: () => Promise<unknown>): void {
    this.parts.push({ name, stop });
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
