// Device MQTT credentials: POST issues (or re-issues) a device's token and shows it once; DELETE
// revokes it. With AERIE_DEVICE_AUTH=token the embedded broker accepts a device only with its
// controller id as username and this token as password; with AERIE_MOSQUITTO_AUTH_DIR, mosquitto's files
// are rewritten before the answer, so the device can connect once mosquitto has reloaded them.
import { Router } from "express";
import type pg from "pg";
import { provisionDevice, revokeDevice } from "../../bridge/provisioning.js";
import { CONTROLLER_ID } from "../../bridge/protocol/schemas.js";
import type { Database } from "../../core/db/prisma.js";
import { allow } from "../auth/allow.js";
import { audit } from "../audit.js";
import { badRequest, notFound } from "../http-error.js";
import { actorOf } from "./common.js";

function controllerIdParam(value: string): string {
  if (!CONTROLLER_ID.test(value)) throw badRequest(`controllerId must match ${CONTROLLER_ID.source}`);
  return value;
}

export function deviceCredentialRoutes(db: Database, pool: pg.Pool, credentialsChanged: () => Promise<void> = async () => undefined): Router {
  const router = Router({ mergeParams: true });
  router.post("/:controllerId/credentials", allow("devices:credentials"), async (req, res) => {
    const controllerId = controllerIdParam(req.params.controllerId);
    const credential = await provisionDevice(pool, controllerId);
    await credentialsChanged();
    await audit(db, actorOf(req), "device.credentials.issued", `device:${controllerId}`);
    res.status(201).set("Cache-Control", "no-store").json({ controllerId, username: controllerId, token: credential.token });
  });
  router.delete("/:controllerId/credentials", allow("devices:credentials"), async (req, res) => {
    const controllerId = controllerIdParam(req.params.controllerId);
    if (!(await revokeDevice(pool, controllerId))) throw notFound(`credentials of device ${controllerId}`);
    await credentialsChanged();
    await audit(db, actorOf(req), "device.credentials.revoked", `device:${controllerId}`);
    res.status(204).end();
  });
  return router;
}
