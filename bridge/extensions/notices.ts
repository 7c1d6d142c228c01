// Re-delivery of what a device must act on, from Postgres and hawkBit (never from broker memory):
// after every hello its open deployment (fresh presigned URLs) or pending cancel is published again,
// and `request/deployment` answers with the same. Runs on every instance, whoever got the hello.
import type { BridgeContext, Extension } from "../extension.js";
import { FINAL_STATUSES } from "./action-status.js";

export class NoticesExtension implements Extension {
  readonly name = "notices";
  private readonly onRegistered = (devices: { controllerId: string; deviceId: string }[]) => this.reannounce(devices);

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.ctx.bus.on("devicesRegistered", this.onRegistered);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("devicesRegistered", this.onRegistered);
  }

  /** One query for a whole batch of hellos (a reconnecting fleet sends thousands at once; most have nothing open). */
  private async reannounce(devices: { controllerId: string; deviceId: string }[]): Promise<void> {
    const controllerIds = new Map(devices.map((d) => [d.deviceId, d.controllerId]));
    const open = await this.ctx.db.deviceAction.findMany({ where: { deviceId: { in: [...controllerIds.keys()] }, status: { notIn: [...FINAL_STATUSES] } }, orderBy: { hawkbitActionId: "asc" } });
    for (const action of open) {
      const controllerId = controllerIds.get(action.deviceId)!;
      try {
        if (action.status === "canceling") {
          this.ctx.publish(this.ctx.topics.device(controllerId, "cancel"), JSON.stringify({ actionId: action.hawkbitActionId, issuedAt: new Date().toISOString() }), { qos: 1, retain: true });
          continue;
        }
        const notice = await this.ctx.notices.build({ actionId: action.hawkbitActionId, controllerId, consentRequired: action.status === "awaiting-consent" });
        this.ctx.publish(this.ctx.topics.device(controllerId, "deployment"), JSON.stringify(notice), { qos: 1, retain: true });
        this.ctx.metrics.deploymentsSent.inc();
      } catch (error) {
        this.ctx.metrics.bridgeErrors.inc({ stage: "notice" });
        this.ctx.log.warn({ controllerId, actionId: action.hawkbitActionId, err: (error as Error).message }, "could not re-announce a deployment");
      }
    }
  }
}
