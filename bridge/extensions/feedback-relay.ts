// Stored device feedback → hawkBit DDI, on the leading instance. Each action's reports go in the order they
// arrived (row order), so hawkBit never sees "closed" before "downloading"; different actions go side by side
// (as many as the DDI channel's concurrency allows).
//
//   stored ──relayed──→ relayed_at set
//     │  └─hawkBit down, 5xx, time-out──→ stays queued; the relay tries again after 0.5 s, doubling to 30 s
//     └─hawkBit refuses it (4xx: action closed or unknown)──→ relay_error set, and a dead letter
//
// New reports wake the relay at once, except while it waits out a failure: then hawkBit is not asked again
// per incoming message. Reports stored by other instances are found by the next pass (every second at most).
import { HawkbitError } from "../../api/hawkbit/errors.js";
import { PassLoop } from "../../core/pass-loop.js";
import type { DdiFeedback } from "../hawkbit/channel.js";
import type { BridgeContext, Extension } from "../extension.js";

const BATCH = 500;
const IDLE_PASS_MS = 1000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

interface PendingReport {
  id: string;
  status: string | null;
  cancel_answer: boolean;
  ddi: DdiFeedback;
  message_id: string | null;
  hawkbit_action_id: number;
  controller_id: string;
}

const PENDING = `
SELECT f.id, f.status, f.cancel_answer, f.ddi, f.message_id, a.hawkbit_action_id, d.controller_id
FROM action_feedback f
JOIN device_actions a ON a.id = f.action_id
JOIN devices d ON d.id = a.device_id
WHERE f.relayed_at IS NULL AND f.relay_error IS NULL
ORDER BY f.id
LIMIT $1`;

type Outcome = "relayed" | "refused" | "failed";

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
  private readonly onStored = () => {
    if (this.failures === 0) this.loop.wake();
  };

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.ctx.bus.on("feedbackStored", this.onStored);
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("feedbackStored", this.onStored);
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
      if (pending.length < BATCH) return IDLE_PASS_MS;
    }
  }

  /** One action's reports, oldest first; a failure leaves it and everything after it for the next try. */
  private async relayInOrder(queue: PendingReport[]): Promise<Outcome> {
    for (const report of queue) {
      const outcome = await this.relay(report);
      if (outcome === "failed") return outcome;
    }
    return "relayed";
  }

  private async relay(report: PendingReport): Promise<Outcome> {
    const { channel, pool, metrics, deadLetters, topics, log } = this.ctx;
    try {
      if (report.cancel_answer) await channel.sendCancelFeedback(report.controller_id, report.hawkbit_action_id, report.ddi);
      else await channel.sendFeedback(report.controller_id, report.hawkbit_action_id, report.ddi);
    } catch (error) {
      metrics.bridgeErrors.inc({ stage: "relay" });
      const status = error instanceof HawkbitError ? error.status : undefined;
      const message = (error as Error).message;
      if (status !== undefined && status >= 400 && status < 500) {
        const reason = `hawkBit answered ${status}: ${message}`;
        await pool.query("UPDATE action_feedback SET relay_error = $2, relay_attempts = relay_attempts + 1 WHERE id = $1", [report.id, reason]);
        const stored = { messageId: report.message_id, actionId: report.hawkbit_action_id, status: report.status, ddi: report.ddi };
        await deadLetters.record(topics.device(report.controller_id, "feedback"), "relay-failed", reason, Buffer.from(JSON.stringify(stored)), report.controller_id);
        return "refused";
      }
      await pool.query("UPDATE action_feedback SET relay_attempts = relay_attempts + 1 WHERE id = $1", [report.id]);
      // Once per outage, not once per report.
      if (this.failures === 0) log.warn({ err: message, controllerId: report.controller_id, actionId: report.hawkbit_action_id }, "feedback relay to hawkBit failed; kept and tried again");
      return "failed";
    }
    await pool.query("UPDATE action_feedback SET relayed_at = now(), relay_attempts = relay_attempts + 1 WHERE id = $1", [report.id]);
    metrics.feedbackRelayed.inc({ status: report.status ?? report.ddi.execution });
    return "relayed";
  }
}
