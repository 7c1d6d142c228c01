// The largest payload Aerie accepts on each upstream leaf. The schemas bound every field already, so a
// valid message is far smaller than these; anything above is kept as a (truncated) dead letter without
// being parsed, so a device cannot make the bridge parse, validate or store megabytes of JSON. Telemetry
// gets the most room (64 KiB, as the issue asks); the rest carry a few short strings.
// AERIE_MQTT_PAYLOAD_LIMITS overrides any of them: `telemetry=131072,hello=32768` (bytes).
import { DEVICE_MESSAGE_KINDS, type DeviceMessageKind } from "./topics.js";

export type PayloadLimits = Record<DeviceMessageKind, number>;

const KIB = 1024;

export const DEFAULT_PAYLOAD_LIMITS: Readonly<PayloadLimits> = {
  hello: 16 * KIB,
  availability: 1 * KIB,
  telemetry: 64 * KIB,
  feedback: 32 * KIB,
  consent: 4 * KIB,
  health: 16 * KIB,
  request: 4 * KIB,
};

/** Parses `kind=bytes,…`; throws with the expected form on anything else. */
export function parsePayloadLimits(raw: string): PayloadLimits {
  const limits: PayloadLimits = { ...DEFAULT_PAYLOAD_LIMITS };
  for (const entry of raw.split(",").map((e) => e.trim()).filter(Boolean)) {
    const match = /^([a-z]+)=(\d+)$/.exec(entry);
    const kind = match?.[1] as DeviceMessageKind | undefined;
    if (!match || !kind || !DEVICE_MESSAGE_KINDS.includes(kind) || Number(match[2]) < 1) {
      throw new Error(`leaf=bytes pairs separated by commas, leaves: ${DEVICE_MESSAGE_KINDS.join(", ")} (got ${JSON.stringify(entry)})`);
    }
    limits[kind] = Number(match[2]);
  }
  return limits;
}

/** Dead letters keep at most this much of the payload: enough to see what was sent, never megabytes. */
export const DEAD_LETTER_PAYLOAD_BYTES = 4 * KIB;
