// Key/value metadata of targets and software modules (a module's target-visible entries reach devices over DDI).
import { Router } from "express";
import { alreadyExists, constraintViolation, notFound } from "../errors.js";
import { metadataFields } from "../fields.js";
import type { SoftwareModuleMetadataRec } from "../model.js";
import { page, pagedBody } from "../query.js";
import { type StandinContext, idParam, optionalBoolean, optionalString, pageParams, requireArray, requireObject, requireString, userOf } from "./context.js";

export function metadataRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const r = Router();

  // Targets: a plain map.
  r.post("/targets/:controllerId/metadata", async (req, res) => {
    const target = store.target(req.params.controllerId);
    const entries = requireArray(req.body).map((b) => ({ key: requireString(b, "key"), value: optionalString(b, "value") ?? "" }));
    const metadata = (target.metadata ??= {});
    for (const e of entries) if (e.key in metadata) throw alreadyExists(`Metadata with key ${e.key} already exists for target ${target.controllerId}`);
    for (const e of entries) metadata[e.key] = e.value;
    store.touch(target, userOf(res));
    await ctx.commit();
    res.status(201).end(); // hawkBit 1.1.0 Mgmt*Resource.createMetadata: ResponseEntity.status(CREATED).build()
  });

  r.get("/targets/:controllerId/metadata", (req, res) => {
    const target = store.target(req.params.controllerId);
    const entries = Object.entries(target.metadata ?? {}).map(([key, value]) => ({ key, value }));
    res.json(pagedBody(page(entries, { ...pageParams(req), sort: pageParams(req).sort ?? "key:ASC" }, metadataFields), (m) => m));
  });

  const targetEntry = (controllerId: string, key: string) => {
    const target = store.target(controllerId);
    if (!target.metadata || !(key in target.metadata)) throw notFound("TargetMetadata", key);
    return target;
  };

  r.get("/targets/:controllerId/metadata/:key", (req, res) => {
    const target = targetEntry(req.params.controllerId, req.params.key);
    res.json({ key: req.params.key, value: target.metadata![req.params.key] });
  });

  r.put("/targets/:controllerId/metadata/:key", async (req, res) => {
    const target = targetEntry(req.params.controllerId, req.params.key);
    target.metadata![req.params.key] = optionalString(requireObject(req.body), "value") ?? "";
    store.touch(target, userOf(res));
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 MgmtTargetResource.updateMetadata: noContent
  });

  r.delete("/targets/:controllerId/metadata/:key", async (req, res) => {
    const target = targetEntry(req.params.controllerId, req.params.key);
    delete target.metadata![req.params.key];
    store.touch(target, userOf(res));
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  // Distribution sets: a plain map, as hawkBit 1.1.0 MgmtDistributionSetResource.createMetadata / getMetadata /
  // getMetadataValue / updateMetadata / deleteMetadata (201 and 204 without bodies).
  const dsOf = (req: { params: Record<string, string> }) => {
    const ds = store.distributionSet(idParam(req as never, "id"));
    if (ds.deleted) throw notFound("DistributionSet", ds.id);
    return ds;
  };
  r.post("/distributionsets/:id/metadata", async (req, res) => {
    const ds = dsOf(req);
    const entries = requireArray(req.body).map((b) => ({ key: requireString(b, "key"), value: optionalString(b, "value") ?? "" }));
    const metadata = (ds.metadata ??= {});
    for (const e of entries) if (e.key in metadata) throw alreadyExists(`Metadata with key ${e.key} already exists for distribution set ${ds.id}`);
    for (const e of entries) metadata[e.key] = e.value;
    store.touch(ds, userOf(res));
    await ctx.commit();
    res.status(201).end();
  });
  r.get("/distributionsets/:id/metadata", (req, res) => {
    const ds = dsOf(req);
    const entries = Object.entries(ds.metadata ?? {}).map(([key, value]) => ({ key, value }));
    res.json(pagedBody(page(entries, { ...pageParams(req), sort: pageParams(req).sort ?? "key:ASC" }, metadataFields), (m) => m));
  });
  const dsEntry = (req: { params: Record<string, string> }) => {
    const ds = dsOf(req);
    const key = String(req.params.key);
    if (!ds.metadata || !(key in ds.metadata)) throw notFound("DistributionSetMetadata", key);
    return { ds, key };
  };
  r.get("/distributionsets/:id/metadata/:key", (req, res) => {
    const { ds, key } = dsEntry(req);
    res.json({ key, value: ds.metadata![key] });
  });
  r.put("/distributionsets/:id/metadata/:key", async (req, res) => {
    const { ds, key } = dsEntry(req);
    ds.metadata![key] = optionalString(requireObject(req.body), "value") ?? "";
    store.touch(ds, userOf(res));
    await ctx.commit();
    res.status(204).end();
  });
  r.delete("/distributionsets/:id/metadata/:key", async (req, res) => {
    const { ds, key } = dsEntry(req);
    delete ds.metadata![key];
    store.touch(ds, userOf(res));
    await ctx.commit();
    res.status(204).end();
  });

  // Software modules: entries with a target-visible flag.
  r.post("/softwaremodules/:id/metadata", async (req, res) => {
    const module = store.softwareModule(idParam(req, "id"));
    const entries: SoftwareModuleMetadataRec[] = requireArray(req.body).map((b) => ({
      key: requireString(b, "key"), value: optionalString(b, "value") ?? "", targetVisible: optionalBoolean(b, "targetVisible") ?? false,
    }));
    const metadata = (module.metadata ??= []);
    for (const e of entries) if (metadata.some((m) => m.key === e.key)) throw alreadyExists(`Metadata with key ${e.key} already exists for software module ${module.id}`);
    metadata.push(...entries);
    store.touch(module, userOf(res));
    await ctx.commit();
    res.status(201).end(); // hawkBit 1.1.0 Mgmt*Resource.createMetadata: ResponseEntity.status(CREATED).build()
  });

  r.get("/softwaremodules/:id/metadata", (req, res) => {
    const module = store.softwareModule(idParam(req, "id"));
    res.json(pagedBody(page(module.metadata ?? [], { ...pageParams(req), sort: pageParams(req).sort ?? "key:ASC" }, metadataFields), (m) => ({ ...m })));
  });

  const moduleEntry = (id: number, key: string) => {
    const module = store.softwareModule(id);
    const entry = module.metadata?.find((m) => m.key === key);
    if (!entry) throw notFound("SoftwareModuleMetadata", key);
    return { module, entry };
  };

  r.get("/softwaremodules/:id/metadata/:key", (req, res) => {
    res.json({ ...moduleEntry(idParam(req, "id"), req.params.key).entry });
  });

  r.put("/softwaremodules/:id/metadata/:key", async (req, res) => {
    const { module, entry } = moduleEntry(idParam(req, "id"), req.params.key);
    const body = requireObject(req.body);
    if (body.value !== undefined && typeof body.value !== "string") throw constraintViolation("value must be a string");
    entry.value = optionalString(body, "value") ?? entry.value;
    entry.targetVisible = optionalBoolean(body, "targetVisible") ?? entry.targetVisible;
    store.touch(module, userOf(res));
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 MgmtSoftwareModuleResource.updateMetadata: noContent
  });

  r.delete("/softwaremodules/:id/metadata/:key", async (req, res) => {
    const { module, entry } = moduleEntry(idParam(req, "id"), req.params.key);
    module.metadata = module.metadata!.filter((m) => m !== entry);
    store.touch(module, userOf(res));
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  return r;
}
