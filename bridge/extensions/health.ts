// Post-boot health: what a device runs after an update (booted slot, version, checks). Kept on the
// device record, its presence (version gauge) and in the audit trail; the campaign health gate reads
// it from there.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Health } from "../protocol/schemas.js";

export class HealthExtension implements Extension {
  readonly name = "health";
  private readonly onHealth = (event: DeviceEvent<Health>) => this.record(event);

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.ctx.bus.on("health", this.onHealth);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("health", this.onHealth);
  }

  private async componentOf(actionId: number | undefined): Promise<string> {
    if (actionId === undefined) return "rootfs";
    const action = await this.ctx.db.deviceAction.findUnique({ where: { hawkbitActionId: actionId }, select: { campaign: { select: { release: { select: { versionComponent: true } } } } } });
    return action?.campaign?.release.versionComponent ?? "rootfs";
  }

  private async record({ controllerId, payload, receivedAt }: DeviceEvent<Health>): Promise<void> {
    const device = await this.ctx.db.device.findUnique({ where: { controllerId } });
    if (!device) {
      await this.ctx.deadLetters.record(this.ctx.topics.device(controllerId, "health"), "unknown-device", "health from a device that never said hello", Buffer.from(JSON.stringify(payload)), controllerId);
      return;
    }
    // The report says what runs now: the installed version of the component the update was for (the release's
    // versionComponent, rootfs without an action) follows it, so the registry never shows the old version next to it.
    const component = await this.componentOf(payload.actionId);
    const attributes: Record<string, unknown> = {
      ...(device.attributes as Record<string, unknown>), [`version.${component}`]: payload.runningVersion,
      runningVersion: payload.runningVersion, bootedSlot: payload.bootedSlot, healthy: String(payload.healthy),
    };
    await this.ctx.db.device.update({ where: { id: device.id }, data: { attributes: attributes as object, lastSeenAt: receivedAt } });
    await this.ctx.pool.query("UPDATE device_presence SET running_version = $2 WHERE controller_id = $1", [controllerId, payload.runningVersion]);
    await this.ctx.db.auditEvent.create({ data: { actor: `device:${controllerId}`, action: "device.health", subject: `device:${device.id}`, details: payload as object } });
  }
}
