// GET /api/v1/audit (filters, paging, format=csv|json export) and GET /api/v1/audit/campaigns/{id} (the
// compliance report of a campaign, format=csv for its devices).
import { Router } from "express";
import type { Database } from "../../core/db/prisma.js";
import { campaignReport, listAudit, parseAuditFilter, toCsv } from "../audit-query.js";
import { allow } from "../auth/allow.js";
import { badRequest } from "../http-error.js";
import { present, uuidParam } from "./common.js";

function format(query: Record<string, unknown>): "json" | "csv" | undefined {
  const value = query.format;
  if (value === undefined || value === "") return undefined;
  if (value !== "json" && value !== "csv") throw badRequest("format must be csv or json");
  return value;
}

export function auditRoutes(db: Database): Router {
  const router = Router();
  router.get("/", allow("audit:read"), async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const as = format(query);
    const page = await listAudit(db, parseAuditFilter(query));
    res.set("Cache-Control", "no-store");
    if (as === "csv") {
      res.type("text/csv").attachment("aerie-audit.csv").set("X-Total-Count", String(page.total));
      res.send(toCsv(["id", "at", "actor", "action", "subject", "details"], page.events.map((e) => [e.id, e.at, e.actor, e.action, e.subject, e.details])));
      return;
    }
    if (as === "json") res.attachment("aerie-audit.json");
    res.json(present(page));
  });
  router.get("/campaigns/:id", allow("audit:read"), async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const as = format(query);
    const report = await campaignReport(db, uuidParam(req.params.id, "campaign id"));
    res.set("Cache-Control", "no-store");
    if (as === "csv") {
      res.type("text/csv").attachment(`aerie-campaign-${report.campaign.id}.csv`);
      res.send(toCsv(
        ["campaign", "release", "controllerId", "status", "detail", "actionId", "attempts", "reachedAt", "updatedAt"],
        report.devices.map((d) => [report.campaign.name, `${report.campaign.release.name} ${report.campaign.release.version}`, d.controllerId, d.status, d.detail, d.actionId, d.attempts, d.reachedAt, d.updatedAt]),
      ));
      return;
    }
    if (as === "json") res.attachment(`aerie-campaign-${report.campaign.id}.json`);
    res.json(present(report));
  });
  return router;
}
