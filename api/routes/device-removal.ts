// DELETE /api/v1/devices/{controllerId}: decommissioning a device (see services/device-removal.ts), audited.
import { Router } from "express";
import type { Database } from "../../core/db/prisma.js";
import { allow } from "../auth/allow.js";
import { audit } from "../audit.js";
import { type DeviceRemovalDeps, removeDevice } from "../services/device-removal.js";
import { actorOf, controllerIdParam } from "./common.js";

export function deviceRemovalRoutes(db: Database, deps: DeviceRemovalDeps): Router {
  const router = Router();
  router.delete("/:controllerId", allow("devices:delete"), async (req, res) => {
    const controllerId = controllerIdParam(req.params.controllerId);
    await removeDevice(deps, controllerId);
    await audit(db, actorOf(req), "device.delete", `device:${controllerId}`);
    res.status(204).end();
  });
  return router;
}
