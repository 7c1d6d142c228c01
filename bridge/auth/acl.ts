// Who may use which topic. A device is confined to its own subtree and, inside it, to the direction of
// each leaf: it publishes only upstream leaves and subscribes only to its downstream ones (deployment,
// cancel, response/…), so it neither forges notices nor hears its own upstream traffic echoed back.
// Services (the bridge) may do anything; operators (dashboards) only read device availability and
// telemetry and the operators subtree, where no device may go: only the bridge publishes there and on
// downstream leaves. The same rules are written into mosquitto's ACL file (mosquitto-files.ts).
import { DEVICE_MESSAGE_KINDS, DOWNSTREAM_LEAVES } from "../protocol/topics.js";

export type Identity = { role: "device"; controllerId: string } | { role: "service"; name: string } | { role: "operator"; name: string };

/**
 * Topics outside Aerie's tree one operator account may also use, e.g. Home Assistant's: read its discovery prefix
 * (`homeassistant/#`) and publish its birth message (`homeassistant/status`).
 */
export type OperatorGrants = Record<string, { read: readonly string[]; write: readonly string[] }>;

function matches(filter: string[], topic: string[]): boolean {
  for (let i = 0; i < filter.length; i++) {
    if (filter[i] === "#") return true;
    if (i >= topic.length) return false;
    if (filter[i] !== "+" && filter[i] !== topic[i]) return false;
  }
  return filter.length === topic.length;
}

/** True when every topic matched by `inner` is matched by `outer` (wildcards included). */
function covers(outer: string[], inner: string[]): boolean {
  for (let i = 0; i < outer.length; i++) {
    if (outer[i] === "#") return true;
    if (i >= inner.length) return false;
    if (inner[i] === "#") return false;
    if (outer[i] !== "+" && (inner[i] === "+" || outer[i] !== inner[i])) return false;
  }
  return outer.length === inner.length;
}

export class TopicAcl {
  private readonly base: string[];

  constructor(baseTopic: string, private readonly grants: OperatorGrants = {}) {
    this.base = baseTopic.split("/");
  }

  canPublish(identity: Identity, topic: string): boolean {
    if (identity.role === "service") return true;
    const levels = topic.split("/");
    if (identity.role === "operator") return (this.grants[identity.name]?.write ?? []).some((allowed) => matches(allowed.split("/"), levels));
    return DEVICE_MESSAGE_KINDS.some((kind) =>
      matches([...this.base, "devices", identity.controllerId, kind, ...(kind === "request" ? ["+"] : [])], levels));
  }

  canSubscribe(identity: Identity, filter: string): boolean {
    if (identity.role === "service") return true;
    const levels = filter.split("/");
    if (levels[0] === "$share") return false;
    if (identity.role === "operator") {
      return [["operators", "#"], ["devices", "+", "availability"], ["devices", "+", "telemetry"]].some((allowed) => covers([...this.base, ...allowed], levels))
        || (this.grants[identity.name]?.read ?? []).some((allowed) => covers(allowed.split("/"), levels));
    }
    const own = [...this.base, "devices", identity.controllerId];
    return [...DOWNSTREAM_LEAVES.map((leaf) => [...own, leaf]), [...own, "response", "+"]].some((allowed) => covers(allowed, levels));
  }
}
