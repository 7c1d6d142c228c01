// POST /api/v1/builds/swu and /builds/rauc: signed update artifacts built from uploaded images.
import { Router } from "express";
import { allow } from "../auth/allow.js";
import type { SigningService } from "../services/signing.js";
import { actorOf, present } from "./common.js";

export function buildRoutes(signing: SigningService): Router {
  const router = Router();
  router.post("/swu", allow("releases:manage"), async (req, res) => {
    res.status(201).json(present(await signing.buildSwu(req.body, actorOf(req))));
  });
  router.post("/rauc", allow("releases:manage"), async (req, res) => {
    res.status(201).json(present(await signing.buildRauc(req.body, actorOf(req))));
  });
  return router;
}
