import { Router } from "express";
import { allow } from "../auth/allow.js";
import type { CampaignService } from "../services/campaigns.js";
import { actorOf, present, uuidParam } from "./common.js";

const COMMANDS = ["start", "pause", "resume", "stop", "retry", "approve", "deny"] as const;

export function campaignRoutes(campaigns: CampaignService): Router {
  const router = Router();
  router.post("/", allow("campaigns:operate"), async (req, res) => {
    res.status(201).json(present(await campaigns.create(req.body, actorOf(req))));
  });
  router.get("/", allow("read"), async (_req, res) => {
    res.json(present(await campaigns.list()));
  });
  router.get("/:id", allow("read"), async (req, res) => {
    res.json(present(await campaigns.get(uuidParam(req.params.id, "campaign id"))));
  });
  router.post("/:id/devices/:controllerId/cancel", allow("campaigns:operate"), async (req, res) => {
    res.json(await campaigns.cancelDevice(uuidParam(req.params.id, "campaign id"), req.params.controllerId, actorOf(req)));
  });
  for (const command of COMMANDS) {
    router.post(`/:id/${command}`, allow(command === "approve" || command === "deny" ? "campaigns:approve" : "campaigns:operate"), async (req, res) => {
      res.json(present(await campaigns[command](uuidParam(req.params.id, "campaign id"), actorOf(req))));
    });
  }
  return router;
}
