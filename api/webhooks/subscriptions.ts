// Webhook subscriptions: where to post which events. The secret is stored to sign with and is never returned or
// logged; deliveries are enqueued by database triggers (see the 20261122100100 migration), not here.
import type { Database } from "../../core/db/prisma.js";
import { audit } from "../audit.js";
import { redactUrl } from "../../core/redact.js";
import { badRequest, notFound } from "../http-error.js";
import { WebhookTargetPolicy, WebhookTargetRefused } from "./target-policy.js";
import { compile, parseBody } from "../validation.js";

export const WEBHOOK_EVENTS = [
  "campaign.created", "campaign.started", "campaign.paused", "campaign.resumed", "campaign.group.advanced", "campaign.finished",
  "campaign.stopped", "campaign.failed", "campaign.denied", "device.update.succeeded", "device.update.failed", "device.unhealthy",
] as const;

export interface WebhookInput {
  url: string;
  events: string[];
  secret: string;
}

export const webhookInputSchema = {
  type: "object",
  required: ["url", "events", "secret"],
  additionalProperties: false,
  properties: {
    url: { type: "string", format: "uri", pattern: "^https?://", maxLength: 2048 },
    events: {
      type: "array", minItems: 1, maxItems: 32, uniqueItems: true,
      items: { enum: [...WEBHOOK_EVENTS, "campaign.*", "device.*", "*"] },
      description: "Event names, or campaign.*, device.*, * for all.",
    },
    secret: { type: "string", minLength: 16, maxLength: 256, description: "HMAC-SHA256 key; never returned." },
  },
} as const;

const validate = compile<WebhookInput>(webhookInputSchema);

type Row = { id: string; url: string; events: string[]; createdBy: string; createdAt: Date; secret: string };

/** What the API shows of a subscription: everything but the secret, and the URL without credentials. */
function view({ secret: _secret, url, ...rest }: Row) {
  return { ...rest, url: redactUrl(url) };
}

export class WebhookService {
  constructor(private readonly db: Database, private readonly policy = new WebhookTargetPolicy()) {}

  async create(body: unknown, actor: string) {
    const input = parseBody(validate, body);
    try {
      await this.policy.checkUrl(input.url);
    } catch (error) {
      if (error instanceof WebhookTargetRefused) throw badRequest(`invalid request body: /url ${error.reason}`, [{ instancePath: "/url", message: error.reason }]);
      throw error;
    }
    const row = await this.db.webhookSubscription.create({ data: { url: input.url, events: input.events, secret: input.secret, createdBy: actor } });
    await audit(this.db, actor, "webhook.create", `webhook:${row.id}`, { url: redactUrl(row.url), events: row.events });
    return view(row);
  }

  async list() {
    return (await this.db.webhookSubscription.findMany({ orderBy: { createdAt: "asc" } })).map(view);
  }

  async get(id: string) {
    const row = await this.db.webhookSubscription.findUnique({ where: { id } });
    if (!row) throw notFound(`webhook ${id}`);
    const counts = await this.db.webhookDelivery.groupBy({ by: ["status"], where: { subscriptionId: id }, _count: true });
    return { ...view(row), deliveries: Object.fromEntries(counts.map((c) => [c.status, c._count])) };
  }

  async delete(id: string, actor: string): Promise<void> {
    const deleted = await this.db.webhookSubscription.deleteMany({ where: { id } });
    if (deleted.count === 0) throw notFound(`webhook ${id}`);
    await audit(this.db, actor, "webhook.delete", `webhook:${id}`);
  }
}
