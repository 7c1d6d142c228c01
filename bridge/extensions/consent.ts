// Consent → hawkBit's confirmation flow (DDI confirmationBase), queued like feedback (feedback-relay.ts relays it
// in order with the action's other reports). accept confirms the action; once hawkBit has it, the relay publishes
// the notice again with consentRequired false. defer denies it for now (hawkBit keeps it waiting, so the device or
// its user can accept later); reject denies it and ends it on Aerie's side at once, so the device is not asked again.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { DdiConfirmation } from "../../hawkbit/channel.js";
import type { Consent } from "../protocol/schemas.js";
import { queueReport } from "./feedback-relay.js";

export class ConsentExtension implements Extension {
  readonly name = "consent";
  private readonly onConsent = (event: DeviceEvent<Consent>) => this.store(event);

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.ctx.bus.on("consent", this.onConsent);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("consent", this.onConsent);
  }

  private async store({ controllerId, payload, receivedAt }: DeviceEvent<Consent>): Promise<void> {
    const { db, deadLetters, topics } = this.ctx;
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
    const confirmation: DdiConfirmation = { confirmation: payload.decision === "accept" ? "confirmed" : "denied", details, ...(payload.code === undefined ? {} : { code: payload.code }) };
    const queued = await queueReport(this.ctx, {
      actionId: action.id, messageId: payload.messageId, kind: "consent", status: payload.decision, ddi: confirmation as object,
      execution: confirmation.confirmation, result: "none", details, receivedAt,
      seq: payload.seq === undefined ? null : BigInt(payload.seq),
    });
    if (!queued) return;
    if (payload.decision === "reject") {
      await db.deviceAction.update({ where: { id: action.id }, data: { status: "rejected", detail: details.join("; ") } });
      this.ctx.publish(topics.device(controllerId, "deployment"), "", { qos: 1, retain: true });
    } else if (payload.decision === "defer") {
      await db.deviceAction.update({ where: { id: action.id }, data: { detail: details.join("; ") } });
    }
  }
}
