import type { Request } from "express";
import { principalOf } from "../auth/principal.js";
import { CONTROLLER_ID } from "../../bridge/protocol/schemas.js";
import { badRequest } from "../http-error.js";

/** Who made the request, for the audit trail: the authenticated principal (api/auth), never a header. */
export function actorOf(req: Request): string {
  return principalOf(req).id;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function uuidParam(value: string, what: string): string {
  if (!UUID.test(value)) throw badRequest(`${what} must be a UUID`);
  return value;
}

export function controllerIdParam(value: string): string {
  if (!CONTROLLER_ID.test(value)) throw badRequest(`controllerId must match ${CONTROLLER_ID.source}`);
  return value;
}

/** JSON for API answers: BigInt sizes become numbers (artifacts stay far below 2^53 bytes). */
export function present<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? Number(v) : v)));
}
