// A featherweight MQTT device for benchmarks: one TCP connection per device speaking just enough MQTT 3.1.1
// (mqtt-packet, the codec under MQTT.js) to do what a device of Aerie's protocol does after connecting —
// subscribe to its own deployment and cancel leaves, publish availability (retained) and hello — and then
// to record each deployment notice it receives. MQTT.js clients cost tens of kB and timers each; this one
// costs a socket and a parser, so 10,000 of them fit in a few processes on a 2-core machine.
import { connect, type Socket } from "node:net";
import * as mqttPacket from "mqtt-packet";

export interface Receipt {
  controllerId: string;
  actionId: number;
  /** Date.now() when the PUBLISH was parsed. */
  at: number;
}

export interface LightDeviceOptions {
  host: string;
  port: number;
  controllerId: string;
  /** The device's provisioned MQTT token (username = client id = controller id). */
  token?: string;
  baseTopic?: string;
  version?: string;
  onNotice?: (receipt: Receipt) => void;
}

export class LightDevice {
  private socket: Socket | undefined;
  private nextId = 1;
  private readonly pendingAcks = new Map<number, () => void>();
  noticeCount = 0;

  constructor(private readonly opts: LightDeviceOptions) {}

  private topic(leaf: string): string {
    return `${this.opts.baseTopic ?? "aerie/v1"}/devices/${this.opts.controllerId}/${leaf}`;
  }

  private send(packet: mqttPacket.Packet): void {
    this.socket?.write(mqttPacket.generate(packet));
  }

  /** Resolves once connected, subscribed, and availability and hello are acknowledged by the broker. */
  async start(): Promise<void> {
    const { host, port, controllerId } = this.opts;
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const connacked = new Promise<void>((resolve, reject) => {
      parser.on("packet", (packet: mqttPacket.Packet) => {
        switch (packet.cmd) {
          case "connack":
            if (packet.returnCode) reject(new Error(`${controllerId}: CONNACK ${packet.returnCode}`));
            else resolve();
            break;
          case "suback":
          case "puback":
            this.pendingAcks.get(packet.messageId!)?.();
            this.pendingAcks.delete(packet.messageId!);
            break;
          case "publish":
            this.onPublish(packet);
            break;
          default:
            break;
        }
      });
      parser.on("error", reject);
    });
    const socket = connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk) => parser.parse(chunk));
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.on("error", () => undefined);
    this.send({
      cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, clientId: controllerId, keepalive: 0,
      ...(this.opts.token ? { username: controllerId, password: Buffer.from(this.opts.token) } : {}),
      will: { topic: this.topic("availability"), payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true },
    } as mqttPacket.IConnectPacket);
    await connacked;
    await this.acked({ cmd: "subscribe", messageId: 0, subscriptions: [{ topic: this.topic("deployment"), qos: 1 }, { topic: this.topic("cancel"), qos: 1 }] });
    await this.publish("availability", { state: "online" }, true);
    await this.hello();
  }

  async hello(): Promise<void> {
    const version = this.opts.version ?? "1.0.0";
    await this.publish("hello", {
      messageId: `${this.opts.controllerId}-hello-${Date.now()}`, updateClient: "swupdate", hardware: "bench-board", compatible: "bench-board",
      versions: { rootfs: version }, slots: [{ name: "rootfs.0", bootname: "A", state: "booted", version }, { name: "rootfs.1", bootname: "B", state: "inactive" }],
    });
  }

  publish(leaf: string, body: object, retain = false): Promise<void> {
    return this.acked({ cmd: "publish", messageId: 0, topic: this.topic(leaf), payload: Buffer.from(JSON.stringify(body)), qos: 1, retain, dup: false });
  }

  private acked(packet: mqttPacket.IPublishPacket | mqttPacket.ISubscribePacket): Promise<void> {
    const messageId = this.nextId;
    this.nextId = (this.nextId % 65535) + 1;
    return new Promise<void>((resolve) => {
      this.pendingAcks.set(messageId, resolve);
      this.send({ ...packet, messageId });
    });
  }

  private onPublish(packet: mqttPacket.IPublishPacket): void {
    const at = Date.now();
    if (packet.qos === 1) this.send({ cmd: "puback", messageId: packet.messageId! });
    const payload = packet.payload as Buffer;
    if (payload.length === 0 || !packet.topic.endsWith("/deployment")) return;
    try {
      const notice = JSON.parse(payload.toString("utf8")) as { actionId: number };
      this.noticeCount++;
      this.opts.onNotice?.({ controllerId: this.opts.controllerId, actionId: notice.actionId, at });
    } catch {
      // not a notice
    }
  }

  /** Publishes availability offline and DISCONNECTs (graceful), or just drops the socket. */
  async stop(graceful = true): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    if (graceful && !socket.destroyed) {
      const offline = this.publish("availability", { state: "offline" }, true);
      await Promise.race([offline, new Promise((resolve) => setTimeout(resolve, 2000))]);
      this.send({ cmd: "disconnect" });
    }
    this.socket = undefined;
    socket.end();
    socket.destroy();
  }
}
