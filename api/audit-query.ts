// Reading the audit trail: filters (actor, action, subject, time), paging, and the compliance report of one
// campaign (who created, started, approved and changed it; which devices it reached with what result). Every
// query parameter is checked here and a bad one is a 400 naming it.
import type { Prisma } from "../core/db/prisma.js";
import type { Database } from "../core/db/prisma.js";
import { badRequest, notFound } from "./http-error.js";

export interface AuditFilter {
  actor?: string;
  /** Exact, or a prefix when it ends with * (campaign.*). */
  action?: string;
  subject?: string;
  from?: Date;
  to?: Date;
  limit: number;
  offset: number;
}

export const MAX_PAGE = 10_000;

function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string") throw badRequest(`${name} must be given once, as text`);
  if (value.length > 500) throw badRequest(`${name} must be at most 500 characters`);
  return value;
}

function date(query: Record<string, unknown>, name: string): Date | undefined {
  const value = single(query, name);
  if (value === undefined) return undefined;
  const parsed = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(parsed.getTime())) throw badRequest(`${name} must be an ISO 8601 date or date-time`);
  return parsed;
}

function integer(query: Record<string, unknown>, name: string, min: number, max: number, fallback: number): number {
  const value = single(query, name);
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) throw badRequest(`${name} must be a whole number from ${min} to ${max}`);
  return Number(value);
}

export function parseAuditFilter(query: Record<string, unknown>): AuditFilter {
  const filter: AuditFilter = {
    actor: single(query, "actor"), action: single(query, "action"), subject: single(query, "subject"),
    from: date(query, "from"), to: date(query, "to"),
    limit: integer(query, "limit", 1, MAX_PAGE, 100), offset: integer(query, "offset", 0, 100_000_000, 0),
  };
  if (filter.from && filter.to && filter.from > filter.to) throw badRequest("from must not be after to");
  return filter;
}

function where(filter: AuditFilter): Prisma.AuditEventWhereInput {
  const action = filter.action?.endsWith("*") ? { startsWith: filter.action.slice(0, -1) } : filter.action;
  return {
    actor: filter.actor, action, subject: filter.subject,
    at: filter.from || filter.to ? { gte: filter.from, lte: filter.to } : undefined,
  };
}

export interface AuditEventView {
  id: number;
  at: Date;
  actor: string;
  action: string;
  subject: string;
  details: unknown;
}

export async function listAudit(db: Database, filter: AuditFilter): Promise<{ total: number; offset: number; limit: number; events: AuditEventView[] }> {
  const [total, rows] = await Promise.all([
    db.auditEvent.count({ where: where(filter) }),
    db.auditEvent.findMany({ where: where(filter), orderBy: { id: "asc" }, take: filter.limit, skip: filter.offset }),
  ]);
  return { total, offset: filter.offset, limit: filter.limit, events: rows.map((r) => ({ ...r, id: Number(r.id) })) };
}

/** The compliance report of a campaign, from Aerie's own records (no hawkBit call): it answers for past campaigns too. */
export async function campaignReport(db: Database, id: string) {
  const campaign = await db.campaign.findUnique({ where: { id }, include: { release: { select: { id: true, name: true, version: true } } } });
  if (!campaign) throw notFound(`campaign ${id}`);
  const [trail, actions] = await Promise.all([
    db.auditEvent.findMany({ where: { subject: `campaign:${id}` }, orderBy: { id: "asc" } }),
    db.deviceAction.findMany({ where: { campaignId: id }, orderBy: { createdAt: "asc" }, include: { device: { select: { controllerId: true } } } }),
  ]);
  // A retry gives a device a second action: the latest one is its result, the count says how many it had.
  const latest = new Map<string, { action: (typeof actions)[number]; attempts: number }>();
  for (const action of actions) latest.set(action.device.controllerId, { action, attempts: (latest.get(action.device.controllerId)?.attempts ?? 0) + 1 });
  const byStatus: Record<string, number> = {};
  for (const { action } of latest.values()) byStatus[action.status] = (byStatus[action.status] ?? 0) + 1;
  const by = (action: string) => trail.find((e) => e.action === action)?.actor ?? null;
  return {
    campaign: {
      id: campaign.id, name: campaign.name, status: campaign.status, statusReason: campaign.statusReason, release: campaign.release,
      targetFilter: campaign.targetFilter, createdAt: campaign.createdAt, startedAt: campaign.startedAt, finishedAt: campaign.finishedAt,
      createdBy: by("campaign.create"), startedBy: by("campaign.start"), approvedBy: campaign.approvedBy, approvedAt: campaign.approvedAt,
    },
    summary: { devices: latest.size, byStatus },
    devices: [...latest.entries()].map(([controllerId, { action, attempts }]) => ({
      controllerId, status: action.status, detail: action.detail, actionId: action.hawkbitActionId, attempts, reachedAt: action.createdAt, updatedAt: action.updatedAt,
    })),
    trail: trail.map((e) => ({ id: Number(e.id), at: e.at, actor: e.actor, action: e.action, details: e.details })),
  };
}

/** RFC 4180 CSV; a cell starting with = + - @ is prefixed with ' so spreadsheets do not run it as a formula. */
export function toCsv(header: string[], rows: unknown[][]): string {
  const cell = (value: unknown): string => {
    let text = value === null || value === undefined ? "" : value instanceof Date ? value.toISOString() : typeof value === "object" ? JSON.stringify(value) : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [header, ...rows].map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
}
