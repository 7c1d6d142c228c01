// The fleet as operators look at it: devices with their presence (online, last seen), installed versions and
// secondary ids, filtered, searched and sorted in PostgreSQL, plus counts by version and hardware over the
// same filter. Telemetry is aggregated into time buckets in PostgreSQL (date_bin), never in Node.
import type { Database } from "../../core/db/prisma.js";
import { Prisma } from "../../core/db/prisma.js";
import { badRequest, notFound } from "../http-error.js";

export const DEVICE_SORTS = { controllerId: "d.controller_id", lastSeenAt: "d.last_seen_at", hardware: "d.hardware", createdAt: "d.created_at", version: "running_version" } as const;
export type DeviceSort = keyof typeof DEVICE_SORTS;

export interface DeviceQuery {
  /** Substring of the controller id, the name or any secondary id (VIN, serial), case-insensitive. */
  search?: string;
  online?: boolean;
  hardware?: string;
  /** The running version (health report, else the booted slot from hello). */
  version?: string;
  /** Exact device attributes, e.g. { "region": "eu" }. */
  attributes?: Record<string, string>;
  sort?: DeviceSort;
  order?: "asc" | "desc";
  limit?: number;
  offset?: number;
}

export interface DeviceRow {
  id: string;
  controllerId: string;
  name: string | null;
  hardware: string | null;
  updateClient: string | null;
  attributes: Record<string, unknown>;
  identifiers: Record<string, string>;
  online: boolean;
  lastSeenAt: string | null;
  createdAt: string;
  runningVersion: string | null;
  /** Installed version per component (attributes version.<component>), reconciled with health reports. */
  versions: Record<string, string>;
}

/** version.<component> attributes, with the running version of the last health report over the booted component. */
export function installedVersions(attributes: Record<string, unknown>): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith("version.") && typeof value === "string") versions[key.slice("version.".length)] = value;
  }
  return versions;
}

const ATTRIBUTE_KEY = /^[\w.:-]{1,64}$/;

/** Parses `key=value` (or `key:value`) attribute filters from the query string. */
export function parseAttributeFilters(raw: unknown): Record<string, string> {
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const out: Record<string, string> = {};
  for (const item of list) {
    if (typeof item !== "string") throw badRequest("attribute must be key=value");
    const match = /^([^=:]+)[=:](.*)$/.exec(item);
    if (!match || !ATTRIBUTE_KEY.test(match[1]!)) throw badRequest(`attribute must be key=value with a key of letters, digits, '.', ':', '_' or '-' (got ${JSON.stringify(item)})`);
    out[match[1]!] = match[2]!;
  }
  return out;
}

function where(q: DeviceQuery): Prisma.Sql {
  const terms: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (q.search) {
    const like = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    terms.push(Prisma.sql`(d.controller_id ILIKE ${like} OR d.name ILIKE ${like}
      OR EXISTS (SELECT 1 FROM device_identifiers i WHERE i.device_id = d.id AND i.value ILIKE ${like}))`);
  }
  if (q.online !== undefined) terms.push(Prisma.sql`COALESCE(p.online, false) = ${q.online}`);
  if (q.hardware) terms.push(Prisma.sql`d.hardware = ${q.hardware}`);
  if (q.version) terms.push(Prisma.sql`COALESCE(p.running_version, d.attributes->>'version.rootfs') = ${q.version}`);
  for (const [key, value] of Object.entries(q.attributes ?? {})) terms.push(Prisma.sql`d.attributes->>${key} = ${value}`);
  return Prisma.join(terms, " AND ");
}

const FROM = Prisma.sql`FROM devices d LEFT JOIN device_presence p ON p.controller_id = d.controller_id`;

interface RawDevice {
  id: string; controller_id: string; name: string | null; hardware: string | null; update_client: string | null;
  attributes: Record<string, unknown>; identifiers: Record<string, string> | null; online: boolean | null;
  last_seen_at: Date | null; created_at: Date; running_version: string | null;
}

function toRow(r: RawDevice): DeviceRow {
  return {
    id: r.id, controllerId: r.controller_id, name: r.name, hardware: r.hardware, updateClient: r.update_client,
    attributes: r.attributes, identifiers: r.identifiers ?? {}, online: r.online ?? false,
    lastSeenAt: r.last_seen_at?.toISOString() ?? null, createdAt: r.created_at.toISOString(),
    runningVersion: r.running_version, versions: installedVersions(r.attributes),
  };
}

export class FleetService {
  constructor(private readonly db: Database) {}

  async list(q: DeviceQuery) {
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 500);
    const offset = Math.max(q.offset ?? 0, 0);
    const sortColumn = Prisma.raw(DEVICE_SORTS[q.sort ?? "controllerId"]);
    const order = Prisma.raw(q.order === "desc" ? "DESC NULLS LAST" : "ASC NULLS LAST");
    const filter = where(q);
    const [rows, summary] = await Promise.all([
      this.db.$queryRaw<RawDevice[]>`
        SELECT d.id::text, d.controller_id, d.name, d.hardware, d.update_client, d.attributes, d.last_seen_at, d.created_at,
          p.online, COALESCE(p.running_version, d.attributes->>'version.rootfs') AS running_version,
          (SELECT jsonb_object_agg(i.kind, i.value) FROM device_identifiers i WHERE i.device_id = d.id) AS identifiers
        ${FROM} WHERE ${filter} ORDER BY ${sortColumn} ${order}, d.controller_id LIMIT ${limit} OFFSET ${offset}`,
      this.summary(filter),
    ]);
    return { total: summary.total, offset, limit, devices: rows.map(toRow), summary };
  }

  /** Counts over the filtered fleet: online/offline, by running version, by hardware. */
  private async summary(filter: Prisma.Sql) {
    const [row] = await this.db.$queryRaw<{ total: number; online: number; by_version: Record<string, number> | null; by_hardware: Record<string, number> | null }[]>`
      WITH f AS (SELECT COALESCE(p.online, false) AS online, COALESCE(p.running_version, d.attributes->>'version.rootfs', 'unknown') AS version,
                        COALESCE(d.hardware, 'unknown') AS hardware ${FROM} WHERE ${filter})
      SELECT (SELECT count(*)::int FROM f) AS total, (SELECT count(*)::int FROM f WHERE online) AS online,
        (SELECT jsonb_object_agg(version, n) FROM (SELECT version, count(*)::int AS n FROM f GROUP BY version) v) AS by_version,
        (SELECT jsonb_object_agg(hardware, n) FROM (SELECT hardware, count(*)::int AS n FROM f GROUP BY hardware) h) AS by_hardware`;
    return { total: row!.total, online: row!.online, offline: row!.total - row!.online, byVersion: row!.by_version ?? {}, byHardware: row!.by_hardware ?? {} };
  }

  /** One device with presence, versions and slots, its action history (with every feedback) and health reports. */
  async detail(controllerId: string) {
    const [row] = await this.db.$queryRaw<RawDevice[]>`
      SELECT d.id::text, d.controller_id, d.name, d.hardware, d.update_client, d.attributes, d.last_seen_at, d.created_at,
        p.online, COALESCE(p.running_version, d.attributes->>'version.rootfs') AS running_version,
        (SELECT jsonb_object_agg(i.kind, i.value) FROM device_identifiers i WHERE i.device_id = d.id) AS identifiers
      ${FROM} WHERE d.controller_id = ${controllerId}`;
    if (!row) throw notFound(`device ${controllerId}`);
    const device = toRow(row);
    const actions = await this.db.deviceAction.findMany({
      where: { deviceId: device.id }, orderBy: { createdAt: "desc" }, take: 50,
      include: { feedback: { orderBy: { id: "asc" }, select: { id: true, kind: true, status: true, execution: true, result: true, progress: true, details: true, receivedAt: true, relayedAt: true, relayError: true } }, campaign: { select: { id: true, name: true } } },
    });
    const health = await this.db.auditEvent.findMany({ where: { subject: `device:${device.id}`, action: "device.health" }, orderBy: { at: "desc" }, take: 50 });
    return { ...device, actions, healthReports: health.map((h) => ({ at: h.at, ...(h.details as object) })) };
  }

  /**
   * Numeric metrics in buckets of `stepSeconds` from `from` to `to`: avg, min, max and count per metric and bucket.
   * At most 2000 buckets, so one request cannot ask PostgreSQL for millions of rows.
   */
  async telemetry(controllerId: string, from: Date, to: Date, stepSeconds: number) {
    if (!(to > from)) throw badRequest("to must be after from");
    if ((to.getTime() - from.getTime()) / 1000 / stepSeconds > 2000) throw badRequest("step is too small for the range: at most 2000 buckets");
    const exists = await this.db.device.findUnique({ where: { controllerId }, select: { id: true } });
    if (!exists) throw notFound(`device ${controllerId}`);
    const rows = await this.db.$queryRaw<{ bucket: Date; metric: string; avg: number; min: number; max: number; count: number }[]>`
      SELECT date_bin(make_interval(secs => ${stepSeconds}::double precision), t.recorded_at, ${from}::timestamptz) AS bucket, m.key AS metric,
        avg(m.value::text::double precision) AS avg, min(m.value::text::double precision) AS min, max(m.value::text::double precision) AS max, count(*)::int AS count
      FROM telemetry t CROSS JOIN LATERAL jsonb_each(t.payload) m
      WHERE t.controller_id = ${controllerId} AND t.recorded_at >= ${from}::timestamptz AND t.recorded_at < ${to}::timestamptz AND jsonb_typeof(m.value) = 'number'
      GROUP BY 1, 2 ORDER BY 1, 2`;
    const series: Record<string, { t: string; avg: number; min: number; max: number; count: number }[]> = {};
    for (const r of rows) (series[r.metric] ??= []).push({ t: r.bucket.toISOString(), avg: Number(r.avg), min: Number(r.min), max: Number(r.max), count: r.count });
    return { controllerId, from: from.toISOString(), to: to.toISOString(), step: stepSeconds, series };
  }
}

/** `from`/`to` as RFC 3339 or epoch milliseconds; `step` as seconds or 30s/5m/1h/1d. */
export function parseTelemetryRange(query: Record<string, unknown>, now = new Date()): { from: Date; to: Date; step: number } {
  const time = (name: string, fallback: Date): Date => {
    const raw = query[name];
    if (raw === undefined || raw === "") return fallback;
    const date = typeof raw === "string" && /^\d+$/.test(raw) ? new Date(Number(raw)) : new Date(String(raw));
    if (Number.isNaN(date.getTime())) throw badRequest(`${name} must be an RFC 3339 time or epoch milliseconds`);
    return date;
  };
  const to = time("to", now);
  const from = time("from", new Date(to.getTime() - 3600_000));
  const rawStep = query.step === undefined || query.step === "" ? undefined : String(query.step);
  let step = Math.max(1, Math.ceil((to.getTime() - from.getTime()) / 1000 / 200));
  if (rawStep !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(rawStep);
    if (!m) throw badRequest("step must be seconds or a duration such as 30s, 5m, 1h");
    step = Number(m[1]) * ({ s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s" | "m" | "h" | "d"] ?? 1);
    if (!(step >= 1)) throw badRequest("step must be at least 1 second");
  }
  return { from, to, step };
}
