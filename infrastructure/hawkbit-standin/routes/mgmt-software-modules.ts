// Software modules and their artifacts.
import { Readable } from "node:stream";
import busboy from "busboy";
import { Router, type Request } from "express";
import type { ArtifactStorage, StagedBinary } from "../artifact-storage.js";
import { alreadyExists, checksumMismatch, constraintViolation, locked, notFound, uploadFailed } from "../errors.js";
import { softwareModuleFields } from "../fields.js";
import type { SoftwareModuleRec } from "../model.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import {
  type StandinContext, idParam, optionalBoolean, optionalString, originOf, pageParams, requireArray, requireObject, requireString, userOf,
} from "./context.js";

/** A file part the OpenAPI validator's multer has already buffered (only when spec validation is on). */
interface BufferedFile {
  fieldname: string;
  originalname: string;
  buffer: Buffer;
}

async function receiveFile(req: Request, storage: ArtifactStorage): Promise<{ name: string; staged: StagedBinary }> {
  const buffered = (req as Request & { files?: BufferedFile[] }).files?.find((f) => f.fieldname === "file");
  if (buffered) return { name: buffered.originalname, staged: await storage.stage(Readable.from([buffered.buffer])) };
  if (!req.is("multipart/form-data")) throw uploadFailed("Request is not multipart/form-data");

  return new Promise((resolve, reject) => {
    let upload: Promise<{ name: string; staged: StagedBinary }> | undefined;
    const parser = busboy({ headers: req.headers, limits: { files: 1 } });
    parser.on("file", (field, stream, info) => {
      if (field !== "file" || upload) {
        stream.resume();
        return;
      }
      const name = info.filename ?? "";
      upload = storage.stage(stream).then((staged) => ({ name, staged }));
      upload.catch(() => undefined);
    });
    parser.on("error", reject);
    parser.on("close", () => {
      if (upload) upload.then(resolve, reject);
      else reject(uploadFailed("Required request part 'file' is not present"));
    });
    req.pipe(parser);
  });
}

export function softwareModuleRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const fields = softwareModuleFields(store);
  const r = Router();

  r.post("/softwaremodules", async (req, res) => {
    const user = userOf(res);
    const created: SoftwareModuleRec[] = [];
    for (const body of requireArray(req.body)) {
      const name = requireString(body, "name");
      const version = requireString(body, "version");
      const typeKey = requireString(body, "type");
      const type = store.softwareModuleTypeByKey(typeKey);
      if (!type) throw constraintViolation(`Software module type ${typeKey} does not exist`);
      if (store.state.softwareModules.some((m) => m.name === name && m.version === version && m.typeId === type.id && !m.deleted)) {
        throw alreadyExists(`SoftwareModule with name ${name}, version ${version} and type ${typeKey} already exists`);
      }
      created.push({
        id: store.nextId("softwareModules"), name, version, typeId: type.id, vendor: optionalString(body, "vendor"),
        description: optionalString(body, "description"), encrypted: optionalBoolean(body, "encrypted") ?? false,
        locked: false, ...store.audit(user),
      });
    }
    store.state.softwareModules.push(...created);
    await ctx.commit();
    const base = originOf(req);
    res.status(201).json(created.map((m) => rep.softwareModule(base, store, m)));
  });

  r.get("/softwaremodules", (req, res) => {
    const base = originOf(req);
    const live = store.state.softwareModules.filter((m) => !m.deleted);
    res.json(pagedBody(page(live, pageParams(req), fields), (m) => rep.softwareModule(base, store, m)));
  });

  // A module in a distribution set stays (soft-deleted) as part of it; an unused one goes with its artifacts.
  r.delete("/softwaremodules/:id", async (req, res) => {
    const module = store.softwareModule(idParam(req, "id"));
    if (module.deleted) throw notFound("SoftwareModule", module.id);
    if (store.state.distributionSets.some((d) => d.moduleIds.includes(module.id))) {
      module.deleted = true;
    } else {
      store.state.softwareModules = store.state.softwareModules.filter((m) => m !== module);
      store.state.artifacts = store.state.artifacts.filter((a) => a.softwareModuleId !== module.id);
    }
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  // hawkBit 1.1.0 MgmtSoftwareModuleResource.updateSoftwareModule → JpaSoftwareModuleManagement.update: description,
  // vendor and locked of a module that is not deleted (a deleted one is 404 here).
  r.put("/softwaremodules/:id", async (req, res) => {
    const module = store.softwareModule(idParam(req, "id"));
    if (module.deleted) throw notFound("SoftwareModule", module.id);
    const body = requireObject(req.body);
    module.description = optionalString(body, "description") ?? module.description;
    module.vendor = optionalString(body, "vendor") ?? module.vendor;
    module.locked = optionalBoolean(body, "locked") ?? module.locked;
    store.touch(module, userOf(res));
    await ctx.commit();
    res.json(rep.softwareModule(originOf(req), store, module));
  });

  const artifactOf = (moduleId: number, artifactId: number) => {
    const artifact = store.artifactsOf(store.softwareModule(moduleId).id).find((a) => a.id === artifactId);
    if (!artifact) throw notFound("Artifact", artifactId);
    return artifact;
  };

  // MgmtSoftwareModuleResource.getArtifact / deleteArtifact (204); MgmtDownloadArtifactResource.downloadArtifact.
  r.get("/softwaremodules/:id/artifacts/:artifactId", (req, res) => {
    res.json(rep.artifact(originOf(req), artifactOf(idParam(req, "id"), idParam(req, "artifactId"))));
  });
  r.delete("/softwaremodules/:id/artifacts/:artifactId", async (req, res) => {
    const artifact = artifactOf(idParam(req, "id"), idParam(req, "artifactId"));
    const module = store.softwareModule(artifact.softwareModuleId);
    if (module.locked) throw locked(`Software module ${module.id} is locked; its artifacts cannot be changed`);
    store.state.artifacts = store.state.artifacts.filter((a) => a !== artifact);
    await ctx.commit();
    res.status(204).end();
  });
  r.get("/softwaremodules/:id/artifacts/:artifactId/download", (req, res) => {
    const artifact = artifactOf(idParam(req, "id"), idParam(req, "artifactId"));
    res.set({
      "Content-Disposition": `attachment;filename=${artifact.filename}`, "Content-Type": "application/octet-stream",
      "Content-Length": String(artifact.size), ETag: artifact.sha1, "Last-Modified": new Date(artifact.lastModifiedAt).toUTCString(),
    });
    if (artifact.size === 0) return void res.end();
    ctx.artifacts.read(artifact.sha1).pipe(res);
  });

  r.get("/softwaremodules/:id", (req, res) => {
    res.json(rep.softwareModule(originOf(req), store, store.softwareModule(idParam(req, "id"))));
  });

  r.post("/softwaremodules/:id/artifacts", async (req, res) => {
    const module = store.softwareModule(idParam(req, "id"));
    const { name: partName, staged } = await receiveFile(req, ctx.artifacts);
    const q = req.query as Record<string, string | undefined>;
    const filename = q.filename || partName;
    const expected = { md5: q.md5sum, sha1: q.sha1sum, sha256: q.sha256sum } as const;
    for (const hash of ["md5", "sha1", "sha256"] as const) {
      const want = expected[hash];
      if (want !== undefined && want.toLowerCase() !== staged[hash]) {
        await staged.discard();
        throw checksumMismatch(hash);
      }
    }
    if (!filename || store.artifactsOf(module.id).some((a) => a.filename === filename)) {
      await staged.discard();
      throw alreadyExists(`Artifact with filename ${filename} already exists in software module ${module.id}`);
    }
    await staged.commit();
    const artifact = {
      id: store.nextId("artifacts"), softwareModuleId: module.id, filename, size: staged.size,
      sha1: staged.sha1, md5: staged.md5, sha256: staged.sha256, ...store.audit(userOf(res)),
    };
    store.state.artifacts.push(artifact);
    await ctx.commit();
    res.status(201).json(rep.artifact(originOf(req), artifact));
  });

  r.get("/softwaremodules/:id/artifacts", (req, res) => {
    const module = store.softwareModule(idParam(req, "id"));
    const base = originOf(req);
    res.json(store.artifactsOf(module.id).map((a) => rep.artifact(base, a)));
  });

  return r;
}
