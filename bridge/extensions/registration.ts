// hello → the device in Aerie's registry (Postgres) and as a target in hawkBit with its attributes.
// availability → last seen and the fleet's online gauge.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Availability, Hello } from "../protocol/schemas.js";
import { Prisma } from "../../core/db/prisma.js";

export class RegistrationExtension implements Extension {
  readonly name = "registration";
  private readonly online = new Set<string>();
  private readonly onHello = (event: DeviceEvent<Hello>) => void this.register(event);
  private readonly onAvailability = (event: DeviceEvent<Availability>) => void this.markAvailability(event);

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.ctx.bus.on("hello", this.onHello);
    this.ctx.bus.on("availability", this.onAvailability);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("hello", this.onHello);
    this.ctx.bus.off("availability", this.onAvailability);
  }

  /** Attributes as hawkBit stores them: flat strings, the versions and identity included. */
  private attributesOf(hello: Hello): Record<string, string> {
    const attributes: Record<string, string> = { ...hello.attributes, updateClient: hello.updateClient };
    if (hello.hardware) attributes.hardware = hello.hardware;
    if (hello.compatible) attributes.compatible = hello.compatible;
    for (const [component, version] of Object.entries(hello.versions ?? {})) attributes[`version.${component}`] = version;
    return attributes;
  }

  private async register({ controllerId, payload, receivedAt }: DeviceEvent<Hello>): Promise<void> {
    const { db, channel, log, bus, deadLetters } = this.ctx;
    const attributes = this.attributesOf(payload);
    let deviceId: string;
    try {
      const device = await db.device.upsert({
        where: { controllerId },
        create: { controllerId, hardware: payload.hardware, updateClient: payload.updateClient, attributes, lastSeenAt: receivedAt },
        update: { hardware: payload.hardware, updateClient: payload.updateClient, attributes, lastSeenAt: receivedAt },
      });
      deviceId = device.id;
      for (const [kind, value] of Object.entries(payload.secondaryIds ?? {})) {
        await db.deviceIdentifier.upsert({ where: { deviceId_kind: { deviceId, kind } }, create: { deviceId, kind, value }, update: { value } });
      }
    } catch (error) {
      const conflict = error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
      await deadLetters.record(this.ctx.topics.device(controllerId, "hello"), conflict ? "conflict" : "schema", conflict ? "a secondary id belongs to another device" : (error as Error).message, Buffer.from(JSON.stringify(payload)), controllerId);
      return;
    }
    try {
      // Polling the controller base with the gateway token creates the target in hawkBit.
      await channel.pollController(controllerId);
      await channel.sendConfigData(controllerId, attributes, "replace");
    } catch (error) {
      log.warn({ controllerId, err: (error as Error).message }, "device registered in Aerie, hawkBit not reachable yet");
    }
    bus.emit("deviceRegistered", { controllerId, deviceId });
  }

  private async markAvailability({ controllerId, payload, receivedAt }: DeviceEvent<Availability>): Promise<void> {
    if (payload.state === "online") this.online.add(controllerId);
    else this.online.delete(controllerId);
    this.ctx.metrics.devicesOnline.set(this.online.size);
    await this.ctx.db.device.updateMany({ where: { controllerId }, data: { lastSeenAt: receivedAt } });
  }
}
