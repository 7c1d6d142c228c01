// Aerie device protocol v1 topics. One subtree per device, so that an ACL can confine a device to
// `${base}/devices/${id}/…`. Device → cloud and cloud → device leaves are distinct, so the ACL can also
// say which direction each leaf goes (a device cannot forge its own deployment notice).
//
//   {base}/devices/{id}/hello            device → cloud  registration (hardware, client, versions, slots)
//   {base}/devices/{id}/availability     device → cloud  retained online/offline (last will)
//   {base}/devices/{id}/telemetry        device → cloud  measurements with a message id
//   {base}/devices/{id}/feedback         device → cloud  progress and result of a deployment or cancel
//   {base}/devices/{id}/consent          device → cloud  accept / defer / reject a deployment
//   {base}/devices/{id}/health           device → cloud  post-boot health after an update
//   {base}/devices/{id}/request/{name}   device → cloud  a query, with a correlation id
//   {base}/devices/{id}/deployment       cloud → device  what to install (QoS1, retained until done)
//   {base}/devices/{id}/cancel           cloud → device  stop an action (QoS1, retained until answered)
//   {base}/devices/{id}/response/{name}  cloud → device  the answer to request/{name}
//   {base}/operators/…                   operators and dashboards only; no device may use it
import { REQUEST_NAMES, type RequestName } from "./schemas.js";

export type DeviceMessageKind = "hello" | "availability" | "telemetry" | "feedback" | "consent" | "health" | "request";
export const DEVICE_MESSAGE_KINDS: readonly DeviceMessageKind[] = ["hello", "availability", "telemetry", "feedback", "consent", "health", "request"];
export type DownstreamLeaf = "deployment" | "cancel";
export const DOWNSTREAM_LEAVES: readonly DownstreamLeaf[] = ["deployment", "cancel"];

export interface ParsedTopic {
  controllerId: string;
  kind: DeviceMessageKind;
  /** The {name} of request/{name}. */
  name?: string;
}

export class Topics {
  constructor(readonly base: string) {}

  device(controllerId: string, leaf: Exclude<DeviceMessageKind, "request"> | DownstreamLeaf): string {
    return `${this.base}/devices/${controllerId}/${leaf}`;
  }

  request(controllerId: string, name: string): string {
    return `${this.base}/devices/${controllerId}/request/${name}`;
  }

  response(controllerId: string, name: string): string {
    return `${this.base}/devices/${controllerId}/response/${name}`;
  }

  get operators(): string {
    return `${this.base}/operators`;
  }

  /**
   * Subscriptions of the bridge: every device's upstream leaves. With a share group (MQTT v5), each
   * message goes to one bridge instance of the group.
   */
  bridgeSubscriptions(shareGroup?: string, kinds: readonly DeviceMessageKind[] = DEVICE_MESSAGE_KINDS): string[] {
    const filters = kinds.map((kind) => `${this.base}/devices/+/${kind}${kind === "request" ? "/+" : ""}`);
    return shareGroup ? filters.map((f) => `$share/${shareGroup}/${f}`) : filters;
  }

  /** Splits an incoming topic; undefined when it is not a device upstream topic. */
  parse(topic: string): ParsedTopic | undefined {
    const prefix = `${this.base}/devices/`;
    if (!topic.startsWith(prefix)) return undefined;
    const rest = topic.slice(prefix.length).split("/");
    if (!rest[0]) return undefined;
    const kind = rest[1] as DeviceMessageKind;
    if (kind === "request") {
      if (rest.length !== 3 || !REQUEST_NAMES.includes(rest[2] as RequestName)) return undefined;
      return { controllerId: rest[0], kind, name: rest[2] };
    }
    if (rest.length !== 2) return undefined;
    return DEVICE_MESSAGE_KINDS.includes(kind) ? { controllerId: rest[0], kind } : undefined;
  }
}
