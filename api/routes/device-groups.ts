import { Router } from "express";
import { allow } from "../auth/allow.js";
import type { DeviceGroupService } from "../services/device-groups.js";
import { actorOf, present } from "./common.js";

export function deviceGroupRoutes(groups: DeviceGroupService): Router {
  const router = Router();
  router.post("/", allow("campaigns:operate"), async (req, res) => {
    res.status(201).json(present(await groups.create(req.body, actorOf(req))));
  });
  router.get("/", allow("read"), async (_req, res) => {
    res.json(present(await groups.list()));
  });
  router.get("/:name", allow("read"), async (req, res) => {
    res.json(present(await groups.get(req.params.name)));
  });
  return router;
}
