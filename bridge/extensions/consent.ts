// Consent → hawkBit's confirmation flow (DDI confirmationBase). accept confirms the action, after
// which the action sync publishes the notice again with consentRequired false; defer denies it for now
// (hawkBit keeps it waiting, so the device or its user can accept later); reject denies it and ends
// it on Aerie's side, so the device is not asked again.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Consent } from "../protocol/schemas.js";
import { withRelayRetry } from "./relay-retry.js";

export class ConsentExtension implements Extension {
  readonly name = "consent";
  private readonly onConsent = (event: DeviceEvent<Consent>) => this.relay(event);

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.ctx.bus.on("consent", this.onConsent);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("consent", this.onConsent);
  }

  private async relay({ controllerId, payload }: DeviceEvent<Consent>): Promise<void> {
    const { db, channel, deadLetters, topics, metrics } = this.ctx;
    const source = topics.device(controllerId, "consent");
    const action = await db.deviceAction.findUnique({ where: { hawkbitActionId: payload.actionId }, include: { device: true } });
    if (!action || action.device.controllerId !== controllerId || action.status !== "awaiting-consent") {
      await deadLetters.record(source, "unknown-action", `action ${payload.actionId} does not wait for ${controllerId}'s consent`, Buffer.from(JSON.stringify(payload)), controllerId);
      return;
    }
    const details = [
      `${payload.decision} by device`,
      ...(payload.deferUntil ? [`deferred until ${payload.deferUntil}`] : []),
      ...(payload.details ?? []),
    ];
    const confirmation = payload.decision === "accept" ? "confirmed" : "denied";
    const relayed = await withRelayRetry(this.ctx, () => channel.sendConfirmation(controllerId, payload.actionId, { confirmation, details, code: payload.code }));
    if (!relayed.ok) {
      await deadLetters.record(source, "relay-failed", relayed.error, Buffer.from(JSON.stringify(payload)), controllerId);
      return;
    }
    metrics.consentDecisions.inc({ decision: payload.decision });
    if (payload.decision === "accept") {
      await db.deviceAction.update({ where: { id: action.id }, data: { status: "notified", detail: "consent given" } });
      // The action is running in hawkBit now; announce it at once rather than at the next sync.
      const notice = await this.ctx.notices.build({ actionId: payload.actionId, controllerId, consentRequired: false });
      this.ctx.publish(topics.device(controllerId, "deployment"), JSON.stringify(notice), { qos: 1, retain: true });
      metrics.deploymentsSent.inc();
    } else if (payload.decision === "reject") {
      await db.deviceAction.update({ where: { id: action.id }, data: { status: "rejected", detail: details.join("; ") } });
      this.ctx.publish(topics.device(controllerId, "deployment"), "", { qos: 1, retain: true });
    } else {
      await db.deviceAction.update({ where: { id: action.id }, data: { detail: details.join("; ") } });
    }
  }
}
