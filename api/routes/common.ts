import type { Request } from "express";
import { badRequest } from "../http-error.js";

/** Who made the request, for the audit trail. Authentication of operators comes with its own issue. */
export function actorOf(req: Request): string {
  const user = req.header("x-aerie-user");
  return user && /^[\w.@-]{1,64}$/.test(user) ? `user:${user}` : "user:anonymous";
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function uuidParam(value: string, what: string): string {
  if (!UUID.test(value)) throw badRequest(`${what} must be a UUID`);
  return value;
}

/** JSON for API answers: BigInt sizes become numbers (artifacts stay far below 2^53 bytes). */
export function present<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? Number(v) : v)));
}
