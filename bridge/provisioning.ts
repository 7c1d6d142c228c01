// Device credentials: a random token per device, issued once and stored only as hashes. A 256-bit
// random token needs no slow hash against guessing, so Aerie's own check is a sha256 lookup; the
// PBKDF2 form is kept alongside only because mosquitto's password file requires it.
// The lead exposes these through the API/CLI (e.g. POST /api/v1/devices/{id}/credentials).
import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import type pg from "pg";
import { CONTROLLER_ID } from "./protocol/schemas.js";

export interface DeviceCredential {
  controllerId: string;
  /** Shown once; the device uses it as its MQTT password, with its controller id as username. */
  token: string;
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** Mosquitto 2.x password-file hash: `$7$<iterations>$<salt b64>$<pbkdf2-sha512 b64>`. */
export function mosquittoHash(password: string, iterations = 101): string {
  const salt = randomBytes(12);
  return `$7$${iterations}$${salt.toString("base64")}$${pbkdf2Sync(password, salt, iterations, 64, "sha512").toString("base64")}`;
}

/** The device has a live token already; replacing it must be asked for (rotate). */
export class CredentialsExistError extends Error {
  constructor(readonly controllerId: string) {
    super(`device ${controllerId} has a token already; rotate to replace it`);
  }
}

/**
 * Issues a token for a device. A device whose token is live keeps it unless `rotate` is set: replacing it
 * locks the real device out, so it must not happen by a repeated or mistaken call. The check and the write
 * are one statement, so two concurrent calls cannot both issue.
 */
export async function provisionDevice(pool: pg.Pool, controllerId: string, options: { rotate?: boolean } = {}): Promise<DeviceCredential> {
  if (!CONTROLLER_ID.test(controllerId)) throw new Error(`invalid controller id ${JSON.stringify(controllerId)}: ${CONTROLLER_ID.source}`);
  const token = randomBytes(32).toString("base64url");
  const result = await pool.query(
    `INSERT INTO device_credentials (controller_id, token_sha256, mosquitto_hash) VALUES ($1, $2, $3)
     ON CONFLICT (controller_id) DO UPDATE SET token_sha256 = EXCLUDED.token_sha256, mosquitto_hash = EXCLUDED.mosquitto_hash, created_at = now(), revoked_at = NULL
     WHERE $4::boolean OR device_credentials.revoked_at IS NOT NULL`,
    [controllerId, sha256Hex(token), mosquittoHash(token), options.rotate === true],
  );
  if ((result.rowCount ?? 0) === 0) throw new CredentialsExistError(controllerId);
  return { controllerId, token };
}

export async function revokeDevice(pool: pg.Pool, controllerId: string): Promise<boolean> {
  const result = await pool.query("UPDATE device_credentials SET revoked_at = now() WHERE controller_id = $1 AND revoked_at IS NULL", [controllerId]);
  return (result.rowCount ?? 0) > 0;
}

/** True when the token is the device's current, unrevoked one. */
export async function verifyDeviceToken(pool: pg.Pool, controllerId: string, token: string): Promise<boolean> {
  if (!CONTROLLER_ID.test(controllerId)) return false;
  const row = (await pool.query<{ token_sha256: string }>("SELECT token_sha256 FROM device_credentials WHERE controller_id = $1 AND revoked_at IS NULL", [controllerId])).rows[0];
  if (!row) return false;
  return timingSafeEqual(Buffer.from(row.token_sha256, "hex"), Buffer.from(sha256Hex(token), "hex"));
}
