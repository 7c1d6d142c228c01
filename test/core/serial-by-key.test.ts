import { expect } from "chai";
import { SerialByKey } from "../../core/serial-by-key.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("SerialByKey", () => {
  it("runs the work of one key one at a time, in call order", async () => {
    const serial = new SerialByKey();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const first = serial.run("a", async () => {
      log.push("first begins");
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      log.push("first ends");
      return 1;
    });
    const second = serial.run("a", async () => {
      log.push("second");
      return 2;
    });
    await tick();
    expect(log).to.deep.equal(["first begins"]);
    releaseFirst();
    expect([await first, await second]).to.deep.equal([1, 2]);
    expect(log).to.deep.equal(["first begins", "first ends", "second"]);
  });

  it("runs different keys side by side", async () => {
    const serial = new SerialByKey();
    let releaseA!: () => void;
    const a = serial.run("a", () => new Promise<string>((resolve) => (releaseA = () => resolve("a"))));
    const b = await serial.run("b", async () => "b");
    expect(b).to.equal("b");
    releaseA();
    expect(await a).to.equal("a");
  });

  it("gives a failure to its own caller only, and forgets idle keys", async () => {
    const serial = new SerialByKey();
    const failed = serial.run("a", async () => {
      throw new Error("boom");
    });
    const next = serial.run("a", async () => "after");
    let error: Error | undefined;
    await failed.catch((e: Error) => (error = e));
    expect(error?.message).to.equal("boom");
    expect(await next).to.equal("after");
    await tick();
    expect(serial.busyKeys).to.equal(0);
  });
});
