import { Router } from "express";
import type { WebhookService } from "../webhooks/subscriptions.js";
import { actorOf, present, uuidParam } from "./common.js";

export function webhookRoutes(webhooks: WebhookService): Router {
  const router = Router();
  router.post("/", async (req, res) => {
    res.status(201).json(present(await webhooks.create(req.body, actorOf(req))));
  });
  router.get("/", async (_req, res) => {
    res.json(present(await webhooks.list()));
  });
  router.get("/:id", async (req, res) => {
    res.json(present(await webhooks.get(uuidParam(req.params.id, "webhook id"))));
  });
  router.delete("/:id", async (req, res) => {
    await webhooks.delete(uuidParam(req.params.id, "webhook id"), actorOf(req));
    res.status(204).end();
  });
  return router;
}
