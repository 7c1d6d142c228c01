import { Router } from "express";
import type { Database } from "../../core/db/prisma.js";
import { allow } from "../auth/allow.js";
import { notFound } from "../http-error.js";
import { present } from "./common.js";

export function deviceRoutes(db: Database): Router {
  const router = Router();
  router.get("/", allow("read"), async (req, res) => {
    const limit = Math.min(Number(req.query.limit ?? 100) || 100, 500);
    const offset = Math.max(Number(req.query.offset ?? 0) || 0, 0);
    const [total, devices] = await Promise.all([
      db.device.count(),
      db.device.findMany({ orderBy: { controllerId: "asc" }, take: limit, skip: offset, include: { identifiers: true } }),
    ]);
    res.json(present({ total, offset, limit, devices }));
  });
  router.get("/:controllerId", allow("read"), async (req, res) => {
    const device = await db.device.findUnique({
      where: { controllerId: req.params.controllerId },
      include: { identifiers: true, actions: { orderBy: { createdAt: "desc" }, take: 20 } },
    });
    if (!device) throw notFound(`device ${req.params.controllerId}`);
    res.json(present(device));
  });
  return router;
}
