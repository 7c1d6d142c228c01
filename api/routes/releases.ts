import { Router } from "express";
import { allow } from "../auth/allow.js";
import type { ReleaseService } from "../services/releases.js";
import { actorOf, present, uuidParam } from "./common.js";

export function releaseRoutes(releases: ReleaseService): Router {
  const router = Router();
  router.post("/", allow("releases:manage"), async (req, res) => {
    res.status(201).json(present(await releases.create(req.body, actorOf(req))));
  });
  router.get("/", allow("read"), async (_req, res) => {
    res.json(present(await releases.list()));
  });
  router.get("/:id", allow("read"), async (req, res) => {
    res.json(present(await releases.get(uuidParam(req.params.id, "release id"))));
  });
  return router;
}
