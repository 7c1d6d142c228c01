import { expect } from "chai";
import { PassLoop } from "../../core/pass-loop.js";

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("PassLoop", () => {
  it("runs passes one after another, goes on after a failure, and stop() waits for the pass under way", async () => {
    const events: string[] = [];
    let running = 0;
    let n = 0;
    const loop = new PassLoop(
      async () => {
        running++;
        expect(running, "passes overlap").to.equal(1);
        n++;
        events.push(`pass ${n}`);
        await tick(20);
        running--;
        if (n === 2) throw new Error("boom");
        return 5;
      },
      (error) => {
        events.push(`error ${(error as Error).message}`);
        return 5;
      },
    );
    expect(loop.stopped).to.equal(true);
    loop.start();
    await tick(120);
    await loop.stop();
    const after = events.length;
    expect(events.slice(0, 4)).to.deep.equal(["pass 1", "pass 2", "error boom", "pass 3"]);
    expect(events[events.length - 1]).to.match(/^pass \d+$/);
    await tick(60);
    expect(events.length, "no pass after stop()").to.equal(after);
  });

  it("wake() runs the next pass at once instead of after the pass's long delay", async () => {
    let passes = 0;
    const loop = new PassLoop(async () => {
      passes++;
      return 60_000;
    }, () => 60_000);
    loop.start();
    await tick(30);
    expect(passes).to.equal(1);
    loop.wake();
    await tick(30);
    expect(passes).to.equal(2);
    await loop.stop();
    loop.wake();
    await tick(30);
    expect(passes, "a stopped loop stays stopped").to.equal(2);
  });
});
