// hello → the device in Aerie's registry (Postgres) and as a target in hawkBit with its attributes.
// availability → the device's presence (online gauge, heartbeat candidates).
// hawkBit hears about a hello only when it tells hawkBit something new (first contact, changed
// attributes) or the last contact is older than half a heartbeat period: a fleet reconnecting after a
// broker restart must not turn into a DDI storm.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Availability, Hello } from "../protocol/schemas.js";
import { sha256Hex } from "../provisioning.js";
import { Prisma } from "../../core/db/prisma.js";

// A hello is handled more slowly than an availability message (it may call hawkBit first), so it only
// marks the device online if no later availability (e.g. "offline" as the device left) was stored.
const UPSERT_PRESENCE = `
INSERT INTO device_presence (controller_id, online, changed_at, running_version) VALUES ($1, true, $2, $3)
ON CONFLICT (controller_id) DO UPDATE SET
  online = CASE WHEN device_presence.changed_at <= EXCLUDED.changed_at THEN true ELSE device_presence.online END,
  changed_at = GREATEST(device_presence.changed_at, EXCLUDED.changed_at),
  running_version = COALESCE(EXCLUDED.running_version, device_presence.running_version)
RETURNING attributes_sha256, hawkbit_contact_at`;

export class RegistrationExtension implements Extension {
  readonly name = "registration";
  private readonly onHello = (event: DeviceEvent<Hello>) => this.register(event);
  private readonly onAvailability = (event: DeviceEvent<Availability>) => this.markAvailability(event);

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

  private runningVersion(hello: Hello): string | undefined {
    const booted = hello.slots?.find((s) => s.state === "booted")?.version;
    return booted ?? hello.versions?.rootfs ?? Object.values(hello.versions ?? {})[0];
  }

  private async register({ controllerId, payload, receivedAt }: DeviceEvent<Hello>): Promise<void> {
    const { db, pool, channel, log, bus, deadLetters, metrics } = this.ctx;
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
      if (!conflict) metrics.bridgeErrors.inc({ stage: "registration" });
      await deadLetters.record(this.ctx.topics.device(controllerId, "hello"), conflict ? "conflict" : "schema", conflict ? "a secondary id belongs to another device" : (error as Error).message, Buffer.from(JSON.stringify(payload)), controllerId);
      return;
    }
    const attributesHash = sha256Hex(JSON.stringify(Object.entries(attributes).sort()));
    const presence = (await pool.query<{ attributes_sha256: string | null; hawkbit_contact_at: Date | null }>(UPSERT_PRESENCE, [controllerId, receivedAt, this.runningVersion(payload) ?? null])).rows[0];
    const stale = !presence?.hawkbit_contact_at || Date.now() - presence.hawkbit_contact_at.getTime() > this.ctx.heartbeatMs / 2;
    const changed = presence?.attributes_sha256 !== attributesHash;
    if (stale || changed) {
      try {
        // Polling the controller base with the gateway token creates the target in hawkBit.
        await channel.pollController(controllerId);
        if (changed) await channel.sendConfigData(controllerId, attributes, "replace");
        await pool.query("UPDATE device_presence SET hawkbit_contact_at = now(), attributes_sha256 = $2 WHERE controller_id = $1", [controllerId, attributesHash]);
      } catch (error) {
        metrics.bridgeErrors.inc({ stage: "registration" });
        log.warn({ controllerId, err: (error as Error).message }, "device registered in Aerie, hawkBit not reachable yet");
      }
    }
    await bus.dispatch("deviceRegistered", { controllerId, deviceId });
  }

  private async markAvailability({ controllerId, payload, receivedAt }: DeviceEvent<Availability>): Promise<void> {
    const online = payload.state === "online";
    // Availability can arrive before the first hello (retained message); presence is kept regardless.
    await this.ctx.pool.query(
      `INSERT INTO device_presence (controller_id, online, changed_at) VALUES ($1, $2, $3)
       ON CONFLICT (controller_id) DO UPDATE SET online = EXCLUDED.online, changed_at = EXCLUDED.changed_at
       WHERE device_presence.changed_at <= EXCLUDED.changed_at`,
      [controllerId, online, receivedAt],
    );
    await this.ctx.db.device.updateMany({ where: { controllerId }, data: { lastSeenAt: receivedAt } });
  }
}
