// The registry's writes for a batch of hellos, one statement per table: a fleet that reconnects at once (a broker
// restart) sends thousands of hellos within a second, and one round trip per device and table kept registration
// at ~170 devices/s. Each batch arrives as one JSON array parameter, as telemetry does (telemetry-writer.ts).
//
// Several writers touch the same rows at once (a hello batch, hawkBit contacts, last-seen flushes, availability),
// each in batches formed in arrival order. Every statement takes its row locks in controller-id order (ORDER BY in
// the INSERT's SELECT; a MATERIALIZED ... FOR UPDATE step before an UPDATE ... FROM, whose join would otherwise lock
// in whatever order the plan reads): a 10,000-device re-hello once deadlocked them and dead-lettered its hellos.
import type pg from "pg";

export interface HelloRow {
  controllerId: string;
  hardware: string | null;
  updateClient: string;
  attributes: Record<string, string>;
  secondaryIds: Record<string, string>;
  runningVersion: string | null;
  receivedAt: Date;
}

export interface RegisteredRow {
  controllerId: string;
  deviceId: string;
  attributesSha256: string | null;
  hawkbitContactAt: Date | null;
}

// Prisma's @default(uuid()) and @updatedAt are set by Prisma's client, not the database: set here.
const UPSERT_DEVICES = `
INSERT INTO devices (id, controller_id, hardware, update_client, attributes, last_seen_at, updated_at)
SELECT gen_random_uuid(), r.c, r.h, r.u, r.a, to_timestamp(r.t / 1000.0), now()
FROM json_to_recordset($1::json) AS r(c text, h text, u text, a jsonb, t float8)
ORDER BY r.c
ON CONFLICT (controller_id) DO UPDATE SET
  hardware = EXCLUDED.hardware, update_client = EXCLUDED.update_client, attributes = EXCLUDED.attributes,
  last_seen_at = GREATEST(devices.last_seen_at, EXCLUDED.last_seen_at), updated_at = now()
RETURNING id, controller_id`;

const UPSERT_IDENTIFIERS = `
INSERT INTO device_identifiers (device_id, kind, value)
SELECT d.id, r.k, r.v FROM json_to_recordset($1::json) AS r(c text, k text, v text) JOIN devices d ON d.controller_id = r.c
ORDER BY r.c, r.k
ON CONFLICT (device_id, kind) DO UPDATE SET value = EXCLUDED.value`;

// A hello is handled more slowly than an availability message (it may wait for a batch), so it only marks the
// device online if no later availability (e.g. "offline" as the device left) was stored.
const UPSERT_PRESENCE = `
INSERT INTO device_presence (controller_id, online, changed_at, running_version)
SELECT r.c, true, to_timestamp(r.t / 1000.0), r.v FROM json_to_recordset($1::json) AS r(c text, t float8, v text)
ORDER BY r.c
ON CONFLICT (controller_id) DO UPDATE SET
  online = CASE WHEN device_presence.changed_at <= EXCLUDED.changed_at THEN true ELSE device_presence.online END,
  changed_at = GREATEST(device_presence.changed_at, EXCLUDED.changed_at),
  running_version = COALESCE(EXCLUDED.running_version, device_presence.running_version)
RETURNING controller_id, attributes_sha256, hawkbit_contact_at`;

/** unique_violation: a secondary id (kind, value) already belongs to another device. */
export function isIdentifierConflict(error: unknown): boolean {
  return (error as { code?: string }).code === "23505";
}

/**
 * Stores the batch in one transaction; throws with nothing stored (an identifier conflict included: the caller
 * then registers the batch's hellos one by one to find the culprit). At most one row per controller id.
 */
export async function writeHellos(pool: pg.Pool, rows: readonly HelloRow[]): Promise<RegisteredRow[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const devices = await client.query<{ id: string; controller_id: string }>(UPSERT_DEVICES, [
      JSON.stringify(rows.map((r) => ({ c: r.controllerId, h: r.hardware, u: r.updateClient, a: r.attributes, t: r.receivedAt.getTime() }))),
    ]);
    const identifiers = rows.flatMap((r) => Object.entries(r.secondaryIds).map(([k, v]) => ({ c: r.controllerId, k, v })));
    if (identifiers.length > 0) await client.query(UPSERT_IDENTIFIERS, [JSON.stringify(identifiers)]);
    const presence = await client.query<{ controller_id: string; attributes_sha256: string | null; hawkbit_contact_at: Date | null }>(UPSERT_PRESENCE, [
      JSON.stringify(rows.map((r) => ({ c: r.controllerId, t: r.receivedAt.getTime(), v: r.runningVersion }))),
    ]);
    await client.query("COMMIT");
    const ids = new Map(devices.rows.map((d) => [d.controller_id, d.id]));
    return presence.rows.map((p) => ({ controllerId: p.controller_id, deviceId: ids.get(p.controller_id)!, attributesSha256: p.attributes_sha256, hawkbitContactAt: p.hawkbit_contact_at }));
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Records what hawkBit now knows of these devices (their contact time, and the attributes it has). */
export async function markHawkbitContact(pool: pg.Pool, contacts: readonly { controllerId: string; attributesSha256?: string }[]): Promise<void> {
  if (contacts.length === 0) return;
  await pool.query(
    `WITH r AS (SELECT * FROM json_to_recordset($1::json) AS r(c text, s text)),
     locked AS MATERIALIZED (SELECT p.controller_id FROM device_presence p JOIN r ON p.controller_id = r.c ORDER BY p.controller_id FOR UPDATE OF p)
     UPDATE device_presence p SET hawkbit_contact_at = now(), attributes_sha256 = COALESCE(r.s, p.attributes_sha256)
     FROM r WHERE p.controller_id = r.c AND p.controller_id IN (SELECT controller_id FROM locked)`,
    [JSON.stringify(contacts.map((c) => ({ c: c.controllerId, s: c.attributesSha256 ?? null })))],
  );
}

export interface AvailabilityRow {
  controllerId: string;
  online: boolean;
  receivedAt: Date;
}

/** Presence from availability messages, the latest per device; a later state already stored wins. */
export async function writeAvailability(pool: pg.Pool, rows: readonly AvailabilityRow[]): Promise<void> {
  const latest = new Map<string, AvailabilityRow>();
  for (const row of rows) {
    const seen = latest.get(row.controllerId);
    if (!seen || seen.receivedAt <= row.receivedAt) latest.set(row.controllerId, row);
  }
  const json = JSON.stringify([...latest.values()].map((r) => ({ c: r.controllerId, o: r.online, t: r.receivedAt.getTime() })));
  // Availability can arrive before the first hello (retained message); presence is kept regardless.
  await pool.query(
    `INSERT INTO device_presence (controller_id, online, changed_at)
     SELECT r.c, r.o, to_timestamp(r.t / 1000.0) FROM json_to_recordset($1::json) AS r(c text, o boolean, t float8)
     ORDER BY r.c
     ON CONFLICT (controller_id) DO UPDATE SET online = EXCLUDED.online, changed_at = EXCLUDED.changed_at
     WHERE device_presence.changed_at <= EXCLUDED.changed_at`,
    [json],
  );
  await pool.query(
    `WITH r AS (SELECT * FROM json_to_recordset($1::json) AS r(c text, o boolean, t float8)),
     locked AS MATERIALIZED (SELECT d.id FROM devices d JOIN r ON d.controller_id = r.c ORDER BY d.controller_id FOR UPDATE OF d)
     UPDATE devices d SET last_seen_at = GREATEST(d.last_seen_at, to_timestamp(r.t / 1000.0))
     FROM r WHERE d.controller_id = r.c AND d.id IN (SELECT id FROM locked)`,
    [json],
  );
}
