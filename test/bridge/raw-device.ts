// A device as a third party would write it (raw MQTT, JSON payloads, its own subtree), and a rollout started
// in hawkBit directly: the pieces of the bridge tests that drive the bridge only through its protocol.
import mqtt, { type MqttClient } from "mqtt";
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { isOpen } from "../../hawkbit/actions.js";
import { eventually } from "../helpers/hawkbit-conformance.js";
import { until } from "./helpers.js";

export const BASE = "aerie/v1";

/** A device as a third party would write it: raw MQTT, JSON payloads, its own subtree. */
export class RawDevice {
  readonly received: { topic: string; payload: string; retain: boolean }[] = [];
  private seq = 0;
  constructor(readonly id: string, readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => this.received.push({ topic, payload: payload.toString(), retain: packet.retain }));
  }

  static async connect(url: string, id: string, protocolVersion: 4 | 5 = 4): Promise<RawDevice> {
    const client = await mqtt.connectAsync(url, {
      // As the protocol says: the client id is the controller id.
      clientId: id, protocolVersion,
      will: { topic: `${BASE}/devices/${id}/availability`, payload: Buffer.from(JSON.stringify({ state: "offline" })), qos: 1, retain: true },
    });
    const device = new RawDevice(id, client);
    // Its downstream leaves only (the ACL refuses more on an authenticating broker).
    await client.subscribeAsync([`${BASE}/devices/${id}/deployment`, `${BASE}/devices/${id}/cancel`, `${BASE}/devices/${id}/response/+`], { qos: 1 });
    return device;
  }

  topic(leaf: string): string {
    return `${BASE}/devices/${this.id}/${leaf}`;
  }

  async send(leaf: string, body: object): Promise<void> {
    await this.client.publishAsync(this.topic(leaf), JSON.stringify(body), { qos: 1 });
  }

  messageId(): string {
    return `${this.id}-${++this.seq}`;
  }

  /** The next non-empty message on a leaf after `from` (an index into received). */
  async next<T>(leaf: string, from = 0, match: (body: T) => boolean = () => true): Promise<T> {
    return until(`${leaf} for ${this.id}`, async () => {
      for (const m of this.received.slice(from)) {
        if (m.topic === this.topic(leaf) && m.payload.length > 0) {
          const body = JSON.parse(m.payload) as T;
          if (match(body)) return body;
        }
      }
      return undefined;
    }, 20_000, 25);
  }
}

export async function startRollout(mgmt: HawkbitManagementClient, name: string, controllerId: string, confirmationRequired = false): Promise<number> {
  const sm = await mgmt.ensureSoftwareModule({ name: `os-${name}`, version: "1.0.0", type: "os", vendor: "aerie" });
  const ds = await mgmt.ensureDistributionSet({ name: `ds-${name}`, version: "1.0.0", type: "os", modules: [sm.id] });
  const rollout = await mgmt.createRollout({ name, targetFilterQuery: `controllerId==${controllerId}`, distributionSetId: ds.id, amountGroups: 1, type: "forced", confirmationRequired });
  await eventually(() => mgmt.getRollout(rollout.id), (r) => r.status === "ready");
  await mgmt.startRollout(rollout.id);
  const actions = await eventually(() => mgmt.listTargetActions(controllerId), (page) => page.content.some((a) => a.rollout === rollout.id && isOpen(a)));
  return actions.content.find((a) => a.rollout === rollout.id)!.id;
}
