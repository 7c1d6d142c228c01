// Device MQTT credentials: POST issues a device's token and shows it once (a device that has one gets
// 409 credentials_exist unless ?rotate=true replaces it); DELETE revokes it; either way the old token's
// live connection is closed. With AERIE_DEVICE_AUTH=token the embedded broker accepts a device only with its
// controller id as username and this token as password; with AERIE_MOSQUITTO_AUTH_DIR, mosquitto's files
// are rewritten before the answer, so the device can connect once mosquitto has reloaded them.
import { Router } from "express";
import type pg from "pg";
import { CredentialsExistError, provisionDevice, revokeDevice } from "../../bridge/provisioning.js";
import type { Database } from "../../core/db/prisma.js";
import { allow } from "../auth/allow.js";
import { audit } from "../audit.js";
import { badRequest, HttpError, notFound } from "../http-error.js";
import { actorOf, controllerIdParam } from "./common.js";

/** Called after a credential change; with the device's id when its live connection must end. */
export type CredentialsChanged = (disconnect?: string) => Promise<void>;

export function deviceCredentialRoutes(db: Database, pool: pg.Pool, credentialsChanged: CredentialsChanged = async () => undefined): Router {
  const router = Router({ mergeParams: true });
  router.post("/:controllerId/credentials", allow("devices:credentials"), async (req, res) => {
    const controllerId = controllerIdParam(req.params.controllerId);
    const rotate = req.query.rotate;
    if (rotate !== undefined && rotate !== "true" && rotate !== "false") throw badRequest("rotate must be true or false");
    let credential;
    try {
      credential = await provisionDevice(pool, controllerId, { rotate: rotate === "true" });
    } catch (error) {
      if (error instanceof CredentialsExistError) throw new HttpError(409, "credentials_exist", `${error.message} (?rotate=true)`);
      throw error;
    }
    // A rotated token: the old one's live connection is closed (embedded broker) or dropped at reload (mosquitto).
    await credentialsChanged(rotate === "true" ? controllerId : undefined);
    await audit(db, actorOf(req), rotate === "true" ? "device.credentials.rotated" : "device.credentials.issued", `device:${controllerId}`);
    res.status(201).set("Cache-Control", "no-store").json({ controllerId, username: controllerId, token: credential.token });
  });
  router.delete("/:controllerId/credentials", allow("devices:credentials"), async (req, res) => {
    const controllerId = controllerIdParam(req.params.controllerId);
    if (!(await revokeDevice(pool, controllerId))) throw notFound(`credentials of device ${controllerId}`);
    await credentialsChanged(controllerId);
    await audit(db, actorOf(req), "device.credentials.revoked", `device:${controllerId}`);
    res.status(204).end();
  });
  return router;
}
