// The message router inside the embedded aedes broker. aedes routes every message through an mqemitter;
// when its concurrency limit makes messages queue (a burst: 10,000 devices disconnecting at once, each
// with a last will), mqemitter drains the queue by recursion (a delivery that completes synchronously
// starts the next one from inside its own callback), and a queue of thousands overflows the stack. That
// crashed Aerie at the end of a 10,000-device benchmark. This emitter is mqemitter with that recursion cut
// every MAX_DEPTH nested deliveries by continuing on a fresh stack (setImmediate). Order is kept: the
// deferred message is counted against the concurrency limit before it waits, so later messages still
// queue behind it.
import mqemitter from "mqemitter";

const MAX_DEPTH = 500;

interface MqEmitterInternals {
  current: number;
  _doing: boolean;
  _matcher: { match(topic: string): unknown[] };
  _parallel: (that: unknown, matches: unknown[], message: unknown, callback: unknown) => void;
  _do: (message: { topic: string }, callback: unknown) => unknown;
}

export function boundedDepthEmitter(options: { concurrency: number }): mqemitter.MQEmitter {
  // Like aedes' own: empty topic levels match wildcards [MQTT-4.7.1-3].
  const mq = mqemitter({ concurrency: options.concurrency, matchEmptyLevels: true });
  const internals = mq as unknown as MqEmitterInternals;
  if (typeof internals._do !== "function" || typeof internals._parallel !== "function" || !internals._matcher) {
    throw new Error("mqemitter's internals changed: check infrastructure/embedded/mq-emitter.ts against the installed version");
  }
  let depth = 0;
  const deliver = (matches: unknown[], message: unknown, callback: unknown) => {
    depth++;
    try {
      internals._parallel(mq, matches, message, callback);
    } finally {
      depth--;
    }
  };
  internals._do = (message, callback) => {
    internals._doing = true;
    const matches = internals._matcher.match(message.topic);
    internals.current++;
    if (depth >= MAX_DEPTH) setImmediate(deliver, matches, message, callback);
    else deliver(matches, message, callback);
    return mq;
  };
  return mq;
}
