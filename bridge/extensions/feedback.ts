// Device feedback → hawkBit DDI, with every report kept in Postgres. A report is accepted only for
// an action of that very device; a repeated message id is stored and relayed once.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Feedback } from "../protocol/schemas.js";
import { FINAL_STATUSES, toDdiFeedback, type DeviceActionStatus } from "./action-status.js";

export class FeedbackExtension implements Extension {
  readonly name = "feedback";
  private readonly onFeedback = (event: DeviceEvent<Feedback>) => {
    this.inFlight = this.inFlight.then(() => this.relay(event)).catch((error) => this.ctx.log.error({ err: (error as Error).message }, "feedback relay failed"));
  };
  /** Reports are relayed in arrival order so hawkBit never sees "closed" before "downloading". */
  private inFlight: Promise<void> = Promise.resolve();

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
    const action = await db.deviceAction.findUnique({ where: { hawkbitActionId: payload.actionId }, include: { device: true } });
    if (!action || action.device.controllerId !== controllerId) {
      await deadLetters.record(source, "unknown-action", `action ${payload.actionId} is not open for ${controllerId}`, Buffer.from(JSON.stringify(payload)), controllerId);
      return;
    }
    // Relayed before it is recorded: if hawkBit is unreachable the report stays unrecorded, and the
    // device's redelivery (same message id) is relayed again instead of being dropped as a duplicate.
    const duplicate = await db.actionFeedback.findUnique({ where: { actionId_messageId: { actionId: action.id, messageId: payload.messageId } } });
    if (duplicate) return;
    const ddi = toDdiFeedback(payload.status, payload.progress, payload.details ?? []);
    await channel.sendFeedback(controllerId, payload.actionId, ddi);
    await db.actionFeedback.create({
      data: { actionId: action.id, messageId: payload.messageId, execution: ddi.execution, result: ddi.finished, progress: payload.progress, details: payload.details ?? [], receivedAt },
    });
    metrics.feedbackRelayed.inc({ status: payload.status });
    const status = payload.status as DeviceActionStatus;
    await db.deviceAction.update({ where: { id: action.id }, data: { status, detail: payload.details?.join("; ") || null } });
    if (FINAL_STATUSES.has(status)) {
      metrics.updateDurationSeconds.observe({ result: status }, (receivedAt.getTime() - action.createdAt.getTime()) / 1000);
      this.ctx.mqtt.publish(topics.device(controllerId, "deployment"), "", { qos: 1, retain: true });
    }
  }
}
