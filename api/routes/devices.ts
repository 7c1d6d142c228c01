import { Router, type Request } from "express";
import type { Database } from "../../core/db/prisma.js";
import { allow } from "../auth/allow.js";
import { badRequest } from "../http-error.js";
import { DEVICE_SORTS, type DeviceSort, FleetService, parseAttributeFilters, parseTelemetryRange } from "../services/fleet.js";
import { present } from "./common.js";

function text(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined || value === "") return undefined;
  // A validator in front (express-openapi-validator) may have coerced it to a number or boolean already.
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value !== "string") throw badRequest(`${name} must be given once`);
  return value;
}

function integer(req: Request, name: string, min: number, max: number): number | undefined {
  const value = text(req, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

export function deviceRoutes(db: Database): Router {
  const router = Router();
  const fleet = new FleetService(db);
  router.get("/", allow("read"), async (req, res) => {
    const online = text(req, "online");
    if (online !== undefined && online !== "true" && online !== "false") throw badRequest("online must be true or false");
    const sort = text(req, "sort");
    if (sort !== undefined && !(sort in DEVICE_SORTS)) throw badRequest(`sort must be one of ${Object.keys(DEVICE_SORTS).join(", ")}`);
    const order = text(req, "order");
    if (order !== undefined && order !== "asc" && order !== "desc") throw badRequest("order must be asc or desc");
    const result = await fleet.list({
      search: text(req, "search"), online: online === undefined ? undefined : online === "true", hardware: text(req, "hardware"), version: text(req, "version"),
      attributes: parseAttributeFilters(req.query.attribute), sort: sort as DeviceSort | undefined, order: order as "asc" | "desc" | undefined,
      limit: integer(req, "limit", 1, 500), offset: integer(req, "offset", 0, Number.MAX_SAFE_INTEGER),
    });
    res.json(present(result));
  });
  router.get("/:controllerId/telemetry", allow("read"), async (req, res) => {
    const { from, to, step } = parseTelemetryRange(req.query as Record<string, unknown>);
    res.json(await fleet.telemetry(req.params.controllerId, from, to, step));
  });
  router.get("/:controllerId", allow("read"), async (req, res) => {
    res.json(present(await fleet.detail(req.params.controllerId)));
  });
  return router;
}
