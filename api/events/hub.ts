// Live events for GET /api/v1/events: one LISTEN connection per API process (opened with the first subscriber,
// closed with the last) fans PostgreSQL notifications out to every Server-Sent-Events subscriber. Action changes
// of a campaign also yield a "campaign.progress" event with the campaign's counts by status, computed at most
// once per `progressDebounceMs` per campaign however many devices report at once.
import pg from "pg";
import type { Database } from "../../core/db/prisma.js";
import { eventsOfNotification, LIVE_EVENTS_CHANNEL } from "../../core/db/live-events.js";
import { logger } from "../../core/log.js";
import type { Permission } from "../auth/permissions.js";

const log = logger("events");

/**
 * Every event type with the permission (api/auth/permissions.ts) a caller needs to receive it, declared once:
 * GET /api/v1/events streams only the types the caller's role may see and refuses (403) a request naming others.
 * webhook.delivery (an attempt to send a webhook: its target's origin, HTTP status, error) is for whoever manages
 * webhooks, as GET /api/v1/webhooks is.
 */
export const EVENT_PERMISSIONS = {
  campaign: "read",
  "campaign.progress": "read",
  action: "read",
  presence: "read",
  "webhook.delivery": "webhooks:manage",
} as const satisfies Record<string, Permission>;

export type EventType = keyof typeof EVENT_PERMISSIONS;
export const EVENT_TYPES = Object.keys(EVENT_PERMISSIONS) as readonly EventType[];

/** Announces a live event from code (triggers announce the others): heard by every API process at commit. */
export async function notifyEvent(db: Database, event: LiveEvent): Promise<void> {
  await db.$executeRaw`SELECT pg_notify(${LIVE_EVENTS_CHANNEL}, ${JSON.stringify(event)})`;
}

export interface LiveEvent {
  type: EventType;
  campaignId?: string | null;
  controllerId?: string;
  [key: string]: unknown;
}

export type Subscriber = (event: LiveEvent) => void;

const RECONNECT_MS = 1000;

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly progressTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly db: Database, private readonly connection: pg.ClientConfig, private readonly progressDebounceMs = 300) {}

  /** Resolves once notifications are listened to, so nothing committed after it is missed. */
  async subscribe(subscriber: Subscriber): Promise<() => void> {
    this.subscribers.add(subscriber);
    try {
      await this.listen();
    } catch (error) {
      this.subscribers.delete(subscriber);
      throw error;
    }
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) void this.disconnect();
    };
  }

  private listen(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new pg.Client(this.connection);
      client.on("notification", (message) => this.onNotification(message.payload));
      client.on("error", (error) => {
        log.warn({ err: error.message }, "events connection lost");
        if (this.client === client) this.client = undefined;
        if (this.subscribers.size > 0 && !this.closed) setTimeout(() => void this.listen().catch(() => undefined), RECONNECT_MS).unref();
      });
      await client.connect();
      await client.query(`LISTEN ${LIVE_EVENTS_CHANNEL}`);
      this.client = client;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const timer of this.progressTimers.values()) clearTimeout(timer);
    this.progressTimers.clear();
    await client?.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
    await this.connecting?.catch(() => undefined);
    await this.disconnect();
  }

  private onNotification(payload: string | undefined): void {
    for (const event of eventsOfNotification(payload) as LiveEvent[]) {
      this.publish(event);
      if (event.type === "action" && typeof event.campaignId === "string") this.scheduleProgress(event.campaignId);
    }
  }

  private publish(event: LiveEvent): void {
    for (const subscriber of this.subscribers) {
      try {
        subscriber(event);
      } catch (error) {
        log.warn({ err: (error as Error).message }, "event subscriber failed");
      }
    }
  }

  private scheduleProgress(campaignId: string): void {
    if (this.progressTimers.has(campaignId)) return;
    const timer = setTimeout(() => {
      this.progressTimers.delete(campaignId);
      void this.progress(campaignId).catch((error) => log.warn({ err: (error as Error).message, campaignId }, "campaign progress failed"));
    }, this.progressDebounceMs);
    timer.unref();
    this.progressTimers.set(campaignId, timer);
  }

  private async progress(campaignId: string): Promise<void> {
    if (this.subscribers.size === 0) return;
    // The latest action per device, as the campaign's own answer counts (a retry gives a device a second one).
    const rows = await this.db.$queryRaw<{ status: string; n: number }[]>`
      SELECT status, count(*)::int AS n FROM (
        SELECT DISTINCT ON (device_id) status FROM device_actions WHERE campaign_id = ${campaignId}::uuid ORDER BY device_id, created_at DESC
      ) latest GROUP BY status`;
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const devices = rows.reduce((n, r) => n + r.n, 0);
    this.publish({ type: "campaign.progress", campaignId, devices, byStatus, at: new Date().toISOString() });
  }
}
