// Artifact and release listing and deletion, and the campaign dry run (routes next to the resources' own).
import { Router, type Request } from "express";
import { allow } from "../auth/allow.js";
import { badRequest } from "../http-error.js";
import type { CampaignPreviewService } from "../services/campaign-preview.js";
import type { CatalogService } from "../services/catalog.js";
import { actorOf, present, uuidParam } from "./common.js";

function flag(req: Request, name: string): boolean | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value === "boolean") return value;
  if (value !== "true" && value !== "false") throw badRequest(`${name} must be true or false`);
  return value === "true";
}

export function artifactCatalogRoutes(catalog: CatalogService): Router {
  const router = Router();
  router.get("/", allow("read"), async (req, res) => {
    const release = req.query.releaseId;
    const releaseId = release === undefined ? undefined : uuidParam(String(release), "releaseId");
    res.json(present(await catalog.listArtifacts({ releaseId, unbound: flag(req, "unbound") })));
  });
  router.delete("/:id", allow("releases:manage"), async (req, res) => {
    await catalog.deleteArtifact(uuidParam(req.params.id, "artifact id"), actorOf(req));
    res.status(204).end();
  });
  return router;
}

export function releaseCatalogRoutes(catalog: CatalogService): Router {
  const router = Router();
  router.get("/:id/devices", allow("read"), async (req, res) => {
    res.json(present(await catalog.releaseDevices(uuidParam(req.params.id, "release id"))));
  });
  router.delete("/:id", allow("releases:manage"), async (req, res) => {
    res.json(await catalog.deleteRelease(uuidParam(req.params.id, "release id"), actorOf(req)));
  });
  return router;
}

export function campaignPreviewRoutes(preview: CampaignPreviewService): Router {
  const router = Router();
  router.post("/preview", allow("read"), async (req, res) => {
    res.json(present(await preview.preview(req.body)));
  });
  return router;
}
