// Turns raw MQTT messages on device topics into validated bus events. Anything malformed (wrong
// topic, not JSON, schema violation) becomes a dead letter; nothing here can throw into mqtt.js.
// The returned promise settles when the message is fully handled, which is when it may be acked.
import type { BridgeContext } from "./extension.js";
import type { TelemetryEvent } from "./extensions/telemetry.js";
import { CONTROLLER_ID, describeErrors, validators, type Telemetry } from "./protocol/schemas.js";

/** JSON's \u0000 escape cannot be stored in jsonb/text: reject it here instead of failing a batch. */
const NUL_ESCAPE = /\\u0000/;

export class Dispatcher {
  constructor(private readonly ctx: BridgeContext) {}

  async handle(topic: string, payload: Buffer): Promise<void> {
    try {
      await this.route(topic, payload);
    } catch (error) {
      // A bug in a listener must not take the bridge down, nor stall the acknowledgement.
      this.ctx.log.error({ topic, err: (error as Error).message }, "message handling failed");
    }
  }

  private async route(topic: string, payload: Buffer): Promise<void> {
    const { metrics, deadLetters, topics, bus } = this.ctx;
    const parsed = topics.parse(topic);
    if (!parsed || !CONTROLLER_ID.test(parsed.controllerId)) {
      metrics.mqttBytes.inc({ kind: "invalid" }, payload.length);
      await deadLetters.record(topic, "bad-topic", "not a device upstream topic of protocol v1", payload);
      return;
    }
    metrics.mqttMessages.inc({ kind: parsed.kind });
    metrics.mqttBytes.inc({ kind: parsed.kind }, payload.length);
    // An empty retained message only clears a retained topic; it carries nothing to process.
    if (payload.length === 0) return;
    let body: unknown;
    const text = payload.toString("utf8");
    try {
      body = JSON.parse(text);
    } catch (error) {
      await deadLetters.record(topic, "not-json", (error as Error).message, payload, parsed.controllerId);
      return;
    }
    const validate = validators[parsed.kind];
    if (!validate(body)) {
      await deadLetters.record(topic, "schema", describeErrors(validate), payload, parsed.controllerId);
      return;
    }
    if (NUL_ESCAPE.test(text)) {
      await deadLetters.record(topic, "schema", "strings must not contain U+0000", payload, parsed.controllerId);
      return;
    }
    if (parsed.kind === "telemetry") {
      // Telemetry keeps its validated text: the writer stores it as is instead of re-serialising it.
      const telemetry: TelemetryEvent = { controllerId: parsed.controllerId, payload: body as Telemetry, receivedAt: new Date(), bytes: payload.length, json: text };
      await bus.dispatch("telemetry", telemetry);
      return;
    }
    const event = { controllerId: parsed.controllerId, payload: body as never, receivedAt: new Date(), bytes: payload.length };
    if (parsed.kind === "request") await bus.dispatch("request", { ...event, name: parsed.name! });
    else await bus.dispatch(parsed.kind, event);
  }
}
