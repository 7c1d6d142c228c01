// Device feedback → Postgres, where the leader's relay (feedback-relay.ts) takes it to hawkBit DDI. A report
// is accepted only for an action of that very device; a repeated message id is a redelivery, stored once.
// The device's QoS1 message is acknowledged once its report is stored, so a slow or unreachable hawkBit
// neither holds the device's messages nor turns its reports into dead letters. Answers to a cancel notice
// (canceled, cancel-rejected) are marked for hawkBit's cancelAction feedback. consent.ts queues the same way.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Feedback } from "../protocol/schemas.js";
import { CANCEL_ANSWERS, FINAL_STATUSES, toDdiFeedback, type DeviceActionStatus } from "./action-status.js";
import { queueReport } from "./feedback-relay.js";

export class FeedbackExtension implements Extension {
  readonly name = "feedback";
  /** Stored in arrival order: the relay sends each action's reports in the order of their rows. */
  private inFlight: Promise<void> = Promise.resolve();
  private readonly onFeedback = (event: DeviceEvent<Feedback>) => {
    const done = this.inFlight.then(() => this.store(event));
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

  private async store({ controllerId, payload, receivedAt }: DeviceEvent<Feedback>): Promise<void> {
    const { db, metrics, deadLetters, topics } = this.ctx;
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
    const ddi = toDdiFeedback(payload.status, payload.progress, payload.details ?? [], payload.code);
    const queued = await queueReport(this.ctx, {
      actionId: action.id, messageId: payload.messageId, kind: isCancelAnswer ? "cancel-answer" : "feedback", status: payload.status, ddi: ddi as object,
      execution: ddi.execution, result: ddi.finished, progress: payload.progress, details: payload.details ?? [], receivedAt,
      seq: payload.seq === undefined ? null : BigInt(payload.seq),
    });
    if (!queued) return;
    // A refused cancel leaves the action running where it was; anything else is its new state.
    const status: DeviceActionStatus = payload.status === "cancel-rejected" ? "notified" : payload.status;
    const data = { status, detail: payload.details?.join("; ") || null };
    if (payload.seq === undefined) {
      await db.deviceAction.update({ where: { id: action.id }, data });
    } else {
      // An earlier report stored after a later one (another bridge instance was slower) never moves the state back.
      const seq = BigInt(payload.seq);
      const moved = await db.deviceAction.updateMany({ where: { id: action.id, OR: [{ appliedSeq: null }, { appliedSeq: { lt: seq } }] }, data: { ...data, appliedSeq: seq } });
      if (moved.count === 0) return;
    }
    if (payload.status === "cancel-rejected" || FINAL_STATUSES.has(status)) this.ctx.publish(topics.device(controllerId, "cancel"), "", { qos: 1, retain: true });
    if (FINAL_STATUSES.has(status)) {
      metrics.updateDurationSeconds.observe({ result: status }, (receivedAt.getTime() - action.createdAt.getTime()) / 1000);
      this.ctx.publish(topics.device(controllerId, "deployment"), "", { qos: 1, retain: true });
    }
  }
}
