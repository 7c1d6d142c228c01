// Turns raw MQTT messages on device topics into validated bus events. Anything malformed (wrong
// topic, not JSON, schema violation) becomes a dead letter; nothing here can throw into mqtt.js.
// The returned promise settles when the message is fully handled, which is when it may be acked.
// Every telemetry message passes here, so the path is synchronous up to the bus (no async layers, plain
// tallies for the counters): at full load the bridge's CPU per message is what limits ingest.
import { isUtf8 } from "node:buffer";
import type { BridgeContext } from "./extension.js";
import type { TelemetryEvent } from "./extensions/telemetry.js";
import { DEFAULT_PAYLOAD_LIMITS, type PayloadLimits } from "./protocol/limits.js";
import { CONTROLLER_ID, describeErrors, validators, type Telemetry } from "./protocol/schemas.js";

/** JSON's \u0000 escape cannot be stored in jsonb/text: reject it here instead of failing a batch. */
const NUL_ESCAPE = /\\u0000/;

export class Dispatcher {
  constructor(private readonly ctx: BridgeContext, private readonly limits: PayloadLimits = DEFAULT_PAYLOAD_LIMITS) {}

  handle(topic: string, payload: Buffer): Promise<void> {
    try {
      return this.route(topic, payload).catch((error) => this.failed(topic, error));
    } catch (error) {
      this.failed(topic, error);
      return Promise.resolve();
    }
  }

  /** A bug in a listener must not take the bridge down, nor stall the acknowledgement. */
  private failed(topic: string, error: unknown): void {
    this.ctx.log.error({ topic, err: (error as Error).message }, "message handling failed");
  }

  private route(topic: string, payload: Buffer): Promise<void> {
    const { deadLetters, topics, bus } = this.ctx;
    const parsed = topics.parse(topic);
    if (!parsed || !CONTROLLER_ID.test(parsed.controllerId)) {
      this.ctx.metrics.countDeviceMessage("invalid", payload.length);
      return deadLetters.record(topic, "bad-topic", "not a device upstream topic of protocol v1", payload);
    }
    this.ctx.metrics.countDeviceMessage(parsed.kind, payload.length);
    // An empty retained message only clears a retained topic; it carries nothing to process.
    if (payload.length === 0) return Promise.resolve();
    // Checked before anything reads the payload: an oversized one is never parsed (bridge/protocol/limits.ts).
    const limit = this.limits[parsed.kind];
    if (payload.length > limit) {
      return deadLetters.record(topic, "too-large", `${payload.length} bytes, ${parsed.kind} takes at most ${limit} (AERIE_MQTT_PAYLOAD_LIMITS)`, payload, parsed.controllerId);
    }
    // Payloads are UTF-8 JSON: invalid bytes would otherwise be replaced by U+FFFD and stored as if sent.
    if (!isUtf8(payload)) return deadLetters.record(topic, "not-json", "payload is not valid UTF-8", payload, parsed.controllerId);
    let body: unknown;
    const text = payload.toString("utf8");
    try {
      body = JSON.parse(text);
    } catch (error) {
      return deadLetters.record(topic, "not-json", (error as Error).message, payload, parsed.controllerId);
    }
    const validate = validators[parsed.kind];
    if (!validate(body)) return deadLetters.record(topic, "schema", describeErrors(validate), payload, parsed.controllerId);
    if (NUL_ESCAPE.test(text)) return deadLetters.record(topic, "schema", "strings must not contain U+0000", payload, parsed.controllerId);
    if (parsed.kind === "telemetry") {
      // Telemetry keeps its validated text: the writer stores it as is instead of re-serialising it.
      const telemetry: TelemetryEvent = { controllerId: parsed.controllerId, payload: body as Telemetry, receivedAt: new Date(), bytes: payload.length, json: text };
      return bus.dispatch("telemetry", telemetry);
    }
    const event = { controllerId: parsed.controllerId, payload: body as never, receivedAt: new Date(), bytes: payload.length };
    if (parsed.kind === "request") return bus.dispatch("request", { ...event, name: parsed.name! });
    return bus.dispatch(parsed.kind, event);
  }
}
