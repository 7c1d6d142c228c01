// Device feedback → hawkBit DDI, with every report kept in Postgres. A report is accepted only for
// an action of that very device; a repeated message id is stored and relayed once. Answers to a cancel
// notice (canceled, cancel-rejected) go to hawkBit's cancelAction feedback instead.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Feedback } from "../protocol/schemas.js";
import { CANCEL_ANSWERS, FINAL_STATUSES, toDdiFeedback, type DeviceActionStatus } from "./action-status.js";
import { withRelayRetry } from "./relay-retry.js";

export class FeedbackExtension implements Extension {
  readonly name = "feedback";
  /** Reports are relayed in arrival order so hawkBit never sees "closed" before "downloading". */
  private inFlight: Promise<void> = Promise.resolve();
  private readonly onFeedback = (event: DeviceEvent<Feedback>) => {
    const done = this.inFlight.then(() => this.relay(event));
    this.inFlight = done.catch(() => undefined);
    return done;
  };

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.ctx.bus.on("feedback", this.onFeedback);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("feedback", this.onFeedback);
    await this.inFlight;
  }

  private async relay({ controllerId, payload, receivedAt }: DeviceEvent<Feedback>): Promise<void> {
    const { db, channel, metrics, deadLetters, topics } = this.ctx;
    const source = topics.device(controllerId, "feedback");
    const raw = () => Buffer.from(JSON.stringify(payload));
    const action = await db.deviceAction.findUnique({ where: { hawkbitActionId: payload.actionId }, include: { device: true } });
    if (!action || action.device.controllerId !== controllerId) {
      await deadLetters.record(source, "unknown-action", `action ${payload.actionId} is not open for ${controllerId}`, raw(), controllerId);
      return;
    }
    const isCancelAnswer = CANCEL_ANSWERS.has(payload.status);
    if (isCancelAnswer && action.status !== "canceling") {
      await deadLetters.record(source, "unknown-action", `action ${payload.actionId} has no cancel pending`, raw(), controllerId);
      return;
    }
    // Relayed before it is recorded: if hawkBit is unreachable the report stays unrecorded, and the
    // device's redelivery (same message id) is relayed again instead of being dropped as a duplicate.
    const duplicate = await db.actionFeedback.findUnique({ where: { actionId_messageId: { actionId: action.id, messageId: payload.messageId } } });
    if (duplicate) return;
    const ddi = toDdiFeedback(payload.status, payload.progress, payload.details ?? [], payload.code);
    const relayed = await withRelayRetry(this.ctx, () =>
      isCancelAnswer ? channel.sendCancelFeedback(controllerId, payload.actionId, ddi) : channel.sendFeedback(controllerId, payload.actionId, ddi));
    if (!relayed.ok) {
      await deadLetters.record(source, "relay-failed", relayed.error, raw(), controllerId);
      return;
    }
    await db.actionFeedback.create({
      data: { actionId: action.id, messageId: payload.messageId, execution: ddi.execution, result: ddi.finished, progress: payload.progress, details: payload.details ?? [], receivedAt },
    });
    metrics.feedbackRelayed.inc({ status: payload.status });
    // A refused cancel leaves the action running where it was; anything else is its new state.
    const status: DeviceActionStatus = payload.status === "cancel-rejected" ? "notified" : payload.status;
    await db.deviceAction.update({ where: { id: action.id }, data: { status, detail: payload.details?.join("; ") || null } });
    if (payload.status === "cancel-rejected" || FINAL_STATUSES.has(status)) this.ctx.publish(topics.device(controllerId, "cancel"), "", { qos: 1, retain: true });
    if (FINAL_STATUSES.has(status)) {
      metrics.updateDurationSeconds.observe({ result: status }, (receivedAt.getTime() - action.createdAt.getTime()) / 1000);
      this.ctx.publish(topics.device(controllerId, "deployment"), "", { qos: 1, retain: true });
    }
  }
}
