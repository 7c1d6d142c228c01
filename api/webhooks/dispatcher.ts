// Sends the webhook deliveries the database triggers enqueue. Everything lives in webhook_deliveries, so a restart
// loses nothing: a delivery is claimed with a lease (next_attempt_at pushed past the request's timeout) under
// SKIP LOCKED, so two Aerie processes never send it at once and one killed mid-request is retried after the lease.
// A failed attempt (non-2xx, timeout, refused connection) is retried with exponential backoff up to maxAttempts.
import type { Database } from "../../core/db/prisma.js";
import { logger } from "../../core/log.js";
import { notifyEvent } from "../events/hub.js";
import { PassLoop } from "../../core/pass-loop.js";
import { redactText } from "../../core/redact.js";
import { postWebhook } from "./post.js";
import { WebhookTargetPolicy, WebhookTargetRefused } from "./target-policy.js";
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign } from "./signature.js";

export interface WebhookDispatcherOptions {
  pollIntervalMs?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  timeoutMs?: number;
  batchSize?: number;
  /** Which targets may be posted to; default: public addresses only. */
  policy?: WebhookTargetPolicy;
}

interface Claimed {
  id: bigint;
  subscription_id: string;
  event: string;
  payload: Record<string, unknown>;
  attempts: number;
  url: string;
  secret: string;
}

/** Delay before attempt `n + 1` after `n` failed ones: base · 2^(n-1), capped, with up to 10 % jitter. */
export function backoffMs(failedAttempts: number, baseMs: number, maxMs: number): number {
  const delay = Math.min(maxMs, baseMs * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(delay * (1 + Math.random() * 0.1));
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "[unparseable url]";
  }
}

export class WebhookDispatcher {
  private readonly log = logger("webhooks");
  private readonly opts: Required<Omit<WebhookDispatcherOptions, "policy">>;
  private readonly policy: WebhookTargetPolicy;
  private stopping = new AbortController();
  private readonly loop = new PassLoop(
    // A full batch means more are due: go on at once.
    async () => ((await this.runOnce()) === this.opts.batchSize ? 0 : this.opts.pollIntervalMs),
    (error) => {
      this.log.warn({ err: (error as Error).message }, "webhook pass failed");
      return this.opts.pollIntervalMs;
    },
  );

  constructor(private readonly db: Database, opts: WebhookDispatcherOptions = {}) {
    this.policy = opts.policy ?? new WebhookTargetPolicy();
    this.opts = {
      pollIntervalMs: opts.pollIntervalMs ?? 1000, maxAttempts: opts.maxAttempts ?? 12, retryBaseMs: opts.retryBaseMs ?? 2000,
      retryMaxMs: opts.retryMaxMs ?? 3_600_000, timeoutMs: opts.timeoutMs ?? 10_000, batchSize: opts.batchSize ?? 20,
    };
  }

  start(): void {
    if (!this.loop.stopped) return;
    this.stopping = new AbortController();
    this.loop.start();
  }

  /** Stops polling and aborts requests in flight; their leases expire and they are sent again after a restart. */
  async stop(): Promise<void> {
    const stopped = this.loop.stop();
    this.stopping.abort();
    await stopped;
  }

  /** Sends one batch of due deliveries; returns how many it claimed. */
  async runOnce(): Promise<number> {
    const leaseSeconds = Math.ceil(this.opts.timeoutMs / 1000) + 30;
    const claimed = await this.db.$queryRaw<Claimed[]>`
      UPDATE "webhook_deliveries" d SET "next_attempt_at" = now() + make_interval(secs => ${leaseSeconds})
      FROM "webhook_subscriptions" s
      WHERE s."id" = d."subscription_id" AND d."id" IN (
        SELECT "id" FROM "webhook_deliveries" WHERE "status" = 'pending' AND "next_attempt_at" <= now()
        ORDER BY "next_attempt_at", "id" LIMIT ${this.opts.batchSize} FOR UPDATE SKIP LOCKED)
      RETURNING d."id", d."subscription_id", d."event", d."payload", d."attempts", s."url", s."secret"`;
    await Promise.all(claimed.map((d) => this.deliver(d)));
    return claimed.length;
  }

  private async deliver(delivery: Claimed): Promise<void> {
    const body = JSON.stringify({ id: String(delivery.id), ...delivery.payload });
    const timestamp = Math.floor(Date.now() / 1000);
    let status: number | undefined;
    let error: string | undefined;
    try {
      // Connected only to an address the target policy allows, checked again now (DNS rebinding).
      const timeout = AbortSignal.timeout(this.opts.timeoutMs);
      status = await postWebhook(delivery.url, body, {
        policy: this.policy,
        signal: AbortSignal.any([timeout, this.stopping.signal]),
        headers: {
          "content-type": "application/json", "user-agent": "Aerie-Webhooks/1",
          [SIGNATURE_HEADER]: sign(delivery.secret, timestamp, body), [TIMESTAMP_HEADER]: String(timestamp),
          [EVENT_HEADER]: delivery.event, [DELIVERY_HEADER]: String(delivery.id),
        },
      }).catch((e: unknown) => {
        throw timeout.aborted && !this.stopping.signal.aborted ? Object.assign(new Error("timeout"), { name: "TimeoutError" }) : e;
      });
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (e) {
      if (this.stopping.signal.aborted) return;
      const code = (e as NodeJS.ErrnoException).code;
      error =
        e instanceof WebhookTargetRefused ? `refused: ${e.reason}`.slice(0, 200)
        : (e as Error).name === "TimeoutError" ? "timeout"
        : redactText(code ?? (e as Error).message).slice(0, 200);
    }
    const attempts = delivery.attempts + 1;
    // Only the origin: webhook URLs often carry a token in their path or query.
    const target = originOf(delivery.url);
    if (!error) {
      await this.db.webhookDelivery.update({ where: { id: delivery.id }, data: { status: "delivered", attempts, lastStatus: status, lastError: null, deliveredAt: new Date() } });
      this.log.debug({ delivery: String(delivery.id), event: delivery.event, url: target, attempts }, "webhook delivered");
      await this.announce(delivery, target, "delivered", attempts, status);
      return;
    }
    const gaveUp = attempts >= this.opts.maxAttempts;
    await this.db.webhookDelivery.update({
      where: { id: delivery.id },
      data: {
        status: gaveUp ? "failed" : "pending", attempts, lastStatus: status ?? null, lastError: error,
        nextAttemptAt: new Date(Date.now() + (gaveUp ? 0 : backoffMs(attempts, this.opts.retryBaseMs, this.opts.retryMaxMs))),
      },
    });
    this.log.warn({ delivery: String(delivery.id), event: delivery.event, url: target, attempts, error, gaveUp }, "webhook delivery failed");
    await this.announce(delivery, target, gaveUp ? "failed" : "retrying", attempts, status, error);
  }

  /**
   * The attempt's outcome as a live event (GET /api/v1/events, type webhook.delivery: only for roles that manage
   * webhooks). The target's origin only, like the log; a lost announcement never fails the delivery.
   */
  private async announce(delivery: Claimed, target: string, status: "delivered" | "retrying" | "failed", attempts: number, httpStatus?: number, error?: string): Promise<void> {
    await notifyEvent(this.db, {
      type: "webhook.delivery", deliveryId: String(delivery.id), webhookId: delivery.subscription_id, event: delivery.event, target, status, attempts,
      httpStatus: httpStatus ?? null, error: error ?? null, at: new Date().toISOString(),
    }).catch((e: unknown) => this.log.debug({ err: (e as Error).message }, "webhook delivery event not announced"));
  }
}
