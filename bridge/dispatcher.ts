// Turns raw MQTT messages on device topics into validated bus events. Anything malformed (wrong
// topic, not JSON, schema violation) becomes a dead letter; nothing here can throw into mqtt.js.
import type { BridgeContext } from "./extension.js";
import { CONTROLLER_ID, describeErrors, validators } from "./protocol/schemas.js";

export class Dispatcher {
  constructor(private readonly ctx: BridgeContext) {}

  handle(topic: string, payload: Buffer): void {
    const { metrics, deadLetters, topics, bus } = this.ctx;
    metrics.mqttBytes.inc(payload.length);
    const parsed = topics.parse(topic);
    if (!parsed || !CONTROLLER_ID.test(parsed.controllerId)) {
      void deadLetters.record(topic, "bad-topic", "not a device upstream topic", payload);
      return;
    }
    metrics.mqttMessages.inc({ kind: parsed.kind });
    // An empty retained message only clears a retained topic; it carries nothing to process.
    if (payload.length === 0) return;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString("utf8"));
    } catch (error) {
      void deadLetters.record(topic, "not-json", (error as Error).message, payload, parsed.controllerId);
      return;
    }
    const validate = validators[parsed.kind];
    if (!validate(body)) {
      void deadLetters.record(topic, "schema", describeErrors(validate), payload, parsed.controllerId);
      return;
    }
    const event = { controllerId: parsed.controllerId, payload: body as never, receivedAt: new Date() };
    bus.emit(parsed.kind, event);
  }
}
