import { Router } from "express";
import { allow } from "../auth/allow.js";
import type { WebhookService } from "../webhooks/subscriptions.js";
import { actorOf, present, uuidParam } from "./common.js";

export function webhookRoutes(webhooks: WebhookService): Router {
  const router = Router();
  router.post("/", allow("webhooks:manage"), async (req, res) => {
    res.status(201).json(present(await webhooks.create(req.body, actorOf(req))));
  });
  router.get("/", allow("webhooks:manage"), async (_req, res) => {
    res.json(present(await webhooks.list()));
  });
  router.get("/:id", allow("webhooks:manage"), async (req, res) => {
    res.json(present(await webhooks.get(uuidParam(req.params.id, "webhook id"))));
  });
  router.delete("/:id", allow("webhooks:manage"), async (req, res) => {
    await webhooks.delete(uuidParam(req.params.id, "webhook id"), actorOf(req));
    res.status(204).end();
  });
  return router;
}
