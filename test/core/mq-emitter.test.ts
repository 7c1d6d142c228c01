// The embedded broker's message router under a burst: thousands of messages queued behind the
// concurrency limit drain without overflowing the stack, in order.
import { expect } from "chai";
import mqemitter from "mqemitter";
import { boundedDepthEmitter } from "../../infrastructure/embedded/mq-emitter.js";

/** Holds the first delivery so that the next `count` messages queue, then releases it. */
function burst(mq: mqemitter.MQEmitter, count: number): { delivered: number[]; release: () => void; done: Promise<void> } {
  const delivered: number[] = [];
  let held: (() => void) | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  mq.on("devices/+/availability", (message, callback) => {
    delivered.push(message.n as number);
    if (message.n === 0) held = callback;
    else callback();
    if (delivered.length === count + 1) finish();
  });
  for (let n = 0; n <= count; n++) mq.emit({ topic: `devices/d${n}/availability`, n });
  return { delivered, release: () => held!(), done };
}

describe("embedded broker: message router", () => {
  it("drains a burst of 20,000 queued messages in order", async () => {
    const { delivered, release, done } = burst(boundedDepthEmitter({ concurrency: 1 }), 20_000);
    expect(delivered).to.deep.equal([0]);
    release();
    await done;
    expect(delivered.length).to.equal(20_001);
    expect(delivered.every((n, i) => n === i)).to.equal(true);
  });

  it("is needed: plain mqemitter overflows its stack on the same burst", () => {
    // If a new mqemitter stops recursing, this fails: then boundedDepthEmitter can go.
    const { release } = burst(mqemitter({ concurrency: 1 }), 20_000);
    expect(release).to.throw(RangeError, /call stack/);
  });
});
