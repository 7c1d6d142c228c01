import { Router } from "express";
import type { ReleaseService } from "../services/releases.js";
import { actorOf, present, uuidParam } from "./common.js";

export function releaseRoutes(releases: ReleaseService): Router {
  const router = Router();
  router.post("/", async (req, res) => {
    res.status(201).json(present(await releases.create(req.body, actorOf(req))));
  });
  router.get("/", async (_req, res) => {
    res.json(present(await releases.list()));
  });
  router.get("/:id", async (req, res) => {
    res.json(present(await releases.get(uuidParam(req.params.id, "release id"))));
  });
  return router;
}
