// Stopping a stack: reverse start order, and one part that never stops does not keep the others (the
// databases and brokers started first) running.
import { expect } from "chai";
import type { Logger } from "../../core/log.js";
import { ShutdownSequence } from "../../core/shutdown.js";

function recordingLog() {
  const errors: { part: unknown; msg: string }[] = [];
  const log = { error: (fields: { part?: unknown }, msg: string) => void errors.push({ part: fields.part, msg }) } as unknown as Logger;
  return { log, errors };
}

describe("shutdown sequence", () => {
  it("stops parts in reverse order, goes on past one that hangs or fails, and names it", async () => {
    const { log, errors } = recordingLog();
    const parts = new ShutdownSequence(log, 50);
    const stopped: string[] = [];
    parts.add("postgres", async () => void stopped.push("postgres"));
    parts.add("bridge", () => new Promise(() => stopped.push("bridge (hangs)")));
    parts.add("monitor", async () => {
      stopped.push("monitor (fails)");
      throw new Error("boom");
    });
    parts.add("api", async () => void stopped.push("api"));

    await parts.stopAll();

    expect(stopped).to.deep.equal(["api", "monitor (fails)", "bridge (hangs)", "postgres"]);
    expect(errors).to.deep.equal([
      { part: "monitor", msg: "error while stopping" },
      { part: "bridge", msg: "did not stop in time; stopping the rest" },
    ]);
  });

  it("stops each part once, however often stopAll is called", async () => {
    const parts = new ShutdownSequence(recordingLog().log);
    let stops = 0;
    parts.add("api", async () => void stops++);
    await Promise.all([parts.stopAll(), parts.stopAll()]);
    await parts.stopAll();
    expect(stops).to.equal(1);
  });
});
