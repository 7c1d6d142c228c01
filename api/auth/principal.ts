// Who is calling: set on the request by authenticate(), read by allow(), the routes (audit actor) and the
// dashboard. `id` is what the audit trail records: "token:<uuid>" or "oidc:<subject>", never a header.
import type { Request } from "express";
import { type Permission, PERMISSIONS, type Role } from "./permissions.js";

export interface Principal {
  /** The audit actor: "token:<token id>" or "oidc:<sub>". */
  id: string;
  kind: "token" | "oidc";
  /** Human-readable: the token's name, or the JWT's preferred_username / email / sub. */
  name: string;
  roles: Role[];
  /** When the credential stops being valid, if known. */
  expiresAt?: Date;
}

declare module "express-serve-static-core" {
  interface Request {
    principal?: Principal;
  }
}

export function can(principal: Principal | undefined, permission: Permission): boolean {
  if (!principal) return false;
  const holders: readonly Role[] = PERMISSIONS[permission];
  return principal.roles.some((role) => holders.includes(role));
}

/** The authenticated caller; routes behind authenticate() always have one. */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new Error("no principal on the request: authenticate() is not in front of this route");
  return req.principal;
}
