// The semaphore bounds work that shares one resource (DDI requests in flight, registrations ahead of their turn).
import { expect } from "chai";
import { Semaphore } from "../../core/semaphore.js";

describe("core: semaphore", () => {
  it("never runs more than its limit, with newcomers arriving while it is full, and starts waiters in order", async () => {
    const gate = new Semaphore(2);
    let active = 0;
    let most = 0;
    const started: number[] = [];
    const task = (n: number) => gate.run(async () => {
      started.push(n);
      most = Math.max(most, ++active);
      await new Promise((resolve) => setTimeout(resolve, 2));
      active--;
      // A newcomer asking while every slot is taken and others wait.
      if (n < 6) void Promise.resolve().then(() => all.push(task(n + 10)));
      return n;
    });
    const all = [0, 1, 2, 3, 4, 5].map(task);
    for (let i = 0; i < all.length; i++) await all[i];
    expect(most).to.equal(2);
    expect(started.slice(0, 6)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(started).to.have.length(12);
  });

  it("frees the slot of a task that failed", async () => {
    const gate = new Semaphore(1);
    const failure = await gate.run(async () => { throw new Error("boom"); }).catch((error: Error) => error.message);
    expect(failure).to.equal("boom");
    expect(await gate.run(async () => "next")).to.equal("next");
  });
});
