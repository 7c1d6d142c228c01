// allow(permission): the one permission a route needs. A caller without it gets 403 (audited by the
// error handler in api/server.ts, as every 403 is).
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { HttpError } from "../http-error.js";
import type { Permission } from "./permissions.js";
import { can } from "./principal.js";

export const forbidden = (message: string, code = "forbidden", details?: unknown) => new HttpError(403, code, message, details);

// Loosely typed on purpose: a typed params dictionary here would override Express's inference of the
// route's own path parameters in the handlers that follow.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AllowHandler = RequestHandler<any> & { permission: Permission };

export function allow(permission: Permission): AllowHandler {
  const handler = (req: Request, _res: Response, next: NextFunction) => {
    if (!req.principal) throw new HttpError(401, "unauthorized", "authentication required");
    if (!can(req.principal, permission)) {
      throw forbidden(`${req.principal.roles.join(", ") || "no role"} may not do this: it needs permission ${permission}`, "forbidden", { permission });
    }
    next();
  };
  return Object.assign(handler, { permission });
}
