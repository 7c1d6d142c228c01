// Stored device reports → hawkBit DDI, on the leading instance: feedback (deploymentBase), answers to a cancel
// (cancelAction) and consent (confirmationBase). Each action's reports go in the device's order, so hawkBit never
// sees "closed" before "downloading"; different actions go side by side (as many as the DDI channel's concurrency
// allows). An accepted consent is announced to the device only once hawkBit has it.
//
// The device's order is its report counter (`seq`) when it sends one, else the order the rows were stored. With
// several bridge instances (shared subscriptions) a device's reports can reach two instances and be stored out of
// order: a report is relayed at once only when it directly follows the last one relayed for its action; otherwise
// it waits up to reorderWindowMs for the reports before it to be stored. One that arrives after a later one was
// relayed is kept with relay_error "superseded" (hawkBit takes no step back).
//
//   stored ──relayed──→ relayed_at set
//     │  └─hawkBit down, 5xx, time-out──→ stays queued; the relay tries again after 0.5 s, doubling to 30 s
//     └─hawkBit refuses it (4xx: action closed or unknown)──→ relay_error set, and a dead letter
//
// New reports wake the relay at once, except while it waits out a failure: then hawkBit is not asked again
// per incoming message. Reports stored by other instances are found by the next pass (every second at most).
import { actionStatus, isOpen } from "../../hawkbit/actions.js";
import { HawkbitError } from "../../hawkbit/errors.js";
import type { Prisma } from "../../core/db/prisma.js";
import { PassLoop } from "../../core/pass-loop.js";
import type { DdiConfirmation, DdiFeedback } from "../../hawkbit/channel.js";
import type { BridgeContext, Extension } from "../extension.js";

const BATCH = 500;
const IDLE_PASS_MS = 1000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

type ReportKind = "feedback" | "cancel-answer" | "consent";

interface PendingReport {
  id: string;
  status: string;
  kind: ReportKind;
  ddi: DdiFeedback | DdiConfirmation;
  message_id: string | null;
  hawkbit_action_id: number;
  controller_id: string;
  /** bigint columns arrive as strings. */
  seq: string | null;
  relayed_seq: string | null;
  device_action_id: string;
  age_ms: number;
}

const PENDING = `
SELECT f.id, f.status, f.kind, f.ddi, f.message_id, a.hawkbit_action_id, d.controller_id, f.seq, a.relayed_seq, a.id AS device_action_id,
       (extract(epoch FROM clock_timestamp() - f.received_at) * 1000)::float8 AS age_ms
FROM action_feedback f
JOIN device_actions a ON a.id = f.action_id
JOIN devices d ON d.id = a.device_id
WHERE f.relayed_at IS NULL AND f.relay_error IS NULL
ORDER BY f.id
LIMIT $1`;

type Outcome = "relayed" | "refused" | "failed" | { waitMs: number };

/** Puts a device's report in the relay's queue; false when its message id was queued before (a redelivery). */
export async function queueReport(ctx: BridgeContext, report: Prisma.ActionFeedbackCreateManyInput): Promise<boolean> {
  const stored = await ctx.db.actionFeedback.createMany({ data: [report], skipDuplicates: true });
  if (stored.count === 0) return false;
  ctx.bus.emit("reportQueued");
  return true;
}

export class FeedbackRelayExtension implements Extension {
  readonly name = "feedback-relay";
  readonly leaderOnly = true;
  private failures = 0;
  private readonly loop = new PassLoop(
    () => this.pass(),
    (error) => {
      this.ctx.log.warn({ err: (error as Error).message }, "feedback relay pass failed");
      return this.retryDelay();
    },
  );
  private readonly onQueued = () => {
    if (this.failures === 0) this.loop.wake();
  };

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.ctx.bus.on("reportQueued", this.onQueued);
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("reportQueued", this.onQueued);
    await this.loop.stop();
  }

  private retryDelay(): number {
    this.failures++;
    return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.failures - 1));
  }

  private async pass(): Promise<number> {
    for (;;) {
      const pending = (await this.ctx.pool.query<PendingReport>(PENDING, [BATCH])).rows;
      if (pending.length === 0) {
        this.ctx.metrics.feedbackPending.set(0);
        this.failures = 0;
        return IDLE_PASS_MS;
      }
      const byAction = new Map<number, PendingReport[]>();
      for (const report of pending) {
        const queue = byAction.get(report.hawkbit_action_id);
        if (queue) queue.push(report);
        else byAction.set(report.hawkbit_action_id, [report]);
      }
      const outcomes = await Promise.all([...byAction.values()].map((queue) => this.relayInOrder(queue)));
      const failed = outcomes.some((o) => o === "failed");
      this.ctx.metrics.feedbackPending.set(Number((await this.ctx.pool.query("SELECT count(*) AS n FROM action_feedback WHERE relayed_at IS NULL AND relay_error IS NULL")).rows[0].n));
      if (failed) return this.retryDelay();
      this.failures = 0;
      const waits = outcomes.flatMap((o) => (typeof o === "object" ? [o.waitMs] : []));
      // Reports waiting for their predecessors: come back when the first wait is over, not sooner.
      if (waits.length > 0) return Math.max(50, Math.min(IDLE_PASS_MS, ...waits));
      if (pending.length < BATCH) return IDLE_PASS_MS;
    }
  }

  /** One action's reports in the device's order; a failure or a gap leaves it and everything after it for later. */
  private async relayInOrder(queue: PendingReport[]): Promise<Outcome> {
    const counted = queue.every((r) => r.seq !== null);
    if (counted) queue.sort((a, b) => Number(BigInt(a.seq!) - BigInt(b.seq!)));
    let relayedSeq = queue[0]?.relayed_seq === null || queue[0] === undefined ? undefined : BigInt(queue[0].relayed_seq);
    for (const report of queue) {
      if (counted) {
        const seq = BigInt(report.seq!);
        if (relayedSeq !== undefined && seq <= relayedSeq) {
          await this.ctx.pool.query("UPDATE action_feedback SET relay_error = $2 WHERE id = $1", [report.id, `superseded: report ${relayedSeq} of the device was relayed first`]);
          continue;
        }
        const follows = relayedSeq !== undefined && seq === relayedSeq + 1n;
        const window = this.ctx.reorderWindowMs ?? 0;
        if (!follows && report.age_ms < window) return { waitMs: window - report.age_ms };
      }
      const outcome = await this.relay(report);
      if (outcome === "failed") return outcome;
      if (counted && outcome === "relayed") {
        relayedSeq = BigInt(report.seq!);
        await this.ctx.pool.query("UPDATE device_actions SET relayed_seq = GREATEST(relayed_seq, $2::bigint) WHERE id = $1", [report.device_action_id, report.seq]);
      }
    }
    return "relayed";
  }

  private async relay(report: PendingReport): Promise<Outcome> {
    const { channel, pool, metrics, deadLetters, topics, log } = this.ctx;
    const { controller_id: controllerId, hawkbit_action_id: actionId } = report;
    try {
      if (report.kind === "consent" && report.status === "reject") await this.relayRejection(controllerId, actionId, report.ddi as DdiConfirmation);
      else if (report.kind === "consent") await channel.sendConfirmation(controllerId, actionId, report.ddi as DdiConfirmation);
      else if (report.kind === "cancel-answer") await channel.sendCancelFeedback(controllerId, actionId, report.ddi as DdiFeedback);
      else await channel.sendFeedback(controllerId, actionId, report.ddi as DdiFeedback);
    } catch (error) {
      metrics.bridgeErrors.inc({ stage: "relay" });
      const status = error instanceof HawkbitError ? error.status : undefined;
      const message = (error as Error).message;
      if (status !== undefined && status >= 400 && status < 500) {
        const reason = `hawkBit answered ${status}: ${message}`;
        await pool.query("UPDATE action_feedback SET relay_error = $2, relay_attempts = relay_attempts + 1 WHERE id = $1", [report.id, reason]);
        const stored = { messageId: report.message_id, actionId: report.hawkbit_action_id, status: report.status, ddi: report.ddi };
        await deadLetters.record(topics.device(controllerId, report.kind === "consent" ? "consent" : "feedback"), "relay-failed", reason, Buffer.from(JSON.stringify(stored)), report.controller_id);
        return "refused";
      }
      await pool.query("UPDATE action_feedback SET relay_attempts = relay_attempts + 1 WHERE id = $1", [report.id]);
      // Once per outage, not once per report.
      if (this.failures === 0) log.warn({ err: message, controllerId, actionId }, "relay of a device report to hawkBit failed; kept and tried again");
      return "failed";
    }
    await pool.query("UPDATE action_feedback SET relayed_at = now(), relay_attempts = relay_attempts + 1 WHERE id = $1", [report.id]);
    if (report.kind === "consent") await this.consentRelayed(report);
    else metrics.feedbackRelayed.inc({ status: report.status });
    return "relayed";
  }

  /**
   * A rejected consent ends the action. hawkBit keeps a denied action waiting for confirmation for ever
   * (JpaConfirmationManagement.denyAction: "Action will stay in confirmation pending state"), which would hold its
   * rollout group and the campaign: after relaying the denial (hawkBit's history keeps the device's reason), the
   * action is cancelled and force-quit (DeploymentManagement.cancelAction, then forceQuitAction, which needs
   * CANCELING), so it closes as canceled; Aerie counts it as rejected. Each step is taken only if the action is still
   * before it, so a retry after a failure resumes where it stopped.
   */
  private async relayRejection(controllerId: string, actionId: number, denial: DdiConfirmation): Promise<void> {
    const { channel, hawkbit } = this.ctx;
    let action;
    try {
      action = await hawkbit.getTargetAction(controllerId, actionId);
    } catch (error) {
      if (error instanceof HawkbitError && error.kind === "not-found") return;
      throw error;
    }
    if (!isOpen(action)) return;
    const status = actionStatus(action);
    if (status === "wait_for_confirmation") await channel.sendConfirmation(controllerId, actionId, denial);
    if (status !== "canceling") await hawkbit.cancelAction(controllerId, actionId);
    await hawkbit.cancelAction(controllerId, actionId, { force: true });
  }

  private async consentRelayed({ status: decision, controller_id: controllerId, hawkbit_action_id: actionId }: PendingReport): Promise<void> {
    const { db, metrics, notices, topics } = this.ctx;
    metrics.consentDecisions.inc({ decision });
    if (decision !== "accept") return;
    // Unless something else moved it on meanwhile (a cancel, an end in hawkBit).
    const moved = await db.deviceAction.updateMany({ where: { hawkbitActionId: actionId, status: "awaiting-consent" }, data: { status: "notified", detail: "consent given" } });
    if (moved.count === 0) return;
    // The action is running in hawkBit now; announced at once rather than at the next sync, which also sees the
    // action leave wait_for_confirmation and announces it if this fails.
    try {
      const notice = await notices.build({ actionId, controllerId, consentRequired: false });
      this.ctx.publish(topics.device(controllerId, "deployment"), JSON.stringify(notice), { qos: 1, retain: true });
      metrics.deploymentsSent.inc();
    } catch (error) {
      this.ctx.log.warn({ controllerId, actionId, err: (error as Error).message }, "consent relayed; the notice follows with the next action sync");
    }
  }
}
