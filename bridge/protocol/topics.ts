// Aerie device protocol v1 topics. One subtree per device, so that an ACL can confine a device to
// `${base}/devices/${id}/#`. Device → cloud and cloud → device topics are distinct leaves.
//
//   {base}/devices/{id}/hello          device → cloud  registration (hardware, client, versions)
//   {base}/devices/{id}/availability   device → cloud  retained "online"/"offline" (last will)
//   {base}/devices/{id}/telemetry      device → cloud  measurements with a message id
//   {base}/devices/{id}/feedback       device → cloud  progress and result of a deployment
//   {base}/devices/{id}/health         device → cloud  post-boot health after an update
//   {base}/devices/{id}/deployment     cloud → device  what to install (QoS1, retained until done)

export type DeviceMessageKind = "hello" | "availability" | "telemetry" | "feedback" | "health";
export const DEVICE_MESSAGE_KINDS: readonly DeviceMessageKind[] = ["hello", "availability", "telemetry", "feedback", "health"];

export class Topics {
  constructor(readonly base: string) {}

  device(controllerId: string, leaf: DeviceMessageKind | "deployment"): string {
    return `${this.base}/devices/${controllerId}/${leaf}`;
  }

  /** Subscriptions of the bridge: every device's upstream leaves. */
  bridgeSubscriptions(): string[] {
    return DEVICE_MESSAGE_KINDS.map((kind) => `${this.base}/devices/+/${kind}`);
  }

  /** Splits an incoming topic; undefined when it is not a device upstream topic. */
  parse(topic: string): { controllerId: string; kind: DeviceMessageKind } | undefined {
    const prefix = `${this.base}/devices/`;
    if (!topic.startsWith(prefix)) return undefined;
    const rest = topic.slice(prefix.length).split("/");
    if (rest.length !== 2 || !rest[0]) return undefined;
    const kind = rest[1] as DeviceMessageKind;
    return DEVICE_MESSAGE_KINDS.includes(kind) ? { controllerId: rest[0], kind } : undefined;
  }
}
