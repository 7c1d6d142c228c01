// Target tags: named labels on targets, usable in target filters (`tag==name`) and hence in rollouts.
import { Router } from "express";
import { alreadyExists, constraintViolation, notFound } from "../errors.js";
import { targetFields, targetTagFields } from "../fields.js";
import type { TargetRec, TargetTagRec } from "../model.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import { type StandinContext, idParam, optionalString, originOf, pageParams, requireArray, requireObject, requireString, userOf } from "./context.js";

type OnNotFound = "FAIL" | "ON_WHAT_FOUND_AND_FAIL" | "ON_WHAT_FOUND_AND_SUCCESS";

export function targetTagRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const r = Router();
  const tags = () => (store.state.targetTags ??= []);
  const tag = (id: number): TargetTagRec => tags().find((t) => t.id === id) ?? (() => { throw notFound("TargetTag", id); })();

  /** hawkBit's onNotFoundPolicy: FAIL changes nothing if a target is unknown; the others act on what was found. */
  const resolveTargets = (body: unknown, policy: OnNotFound): { found: TargetRec[]; missing: string[] } => {
    if (!Array.isArray(body) || !body.every((x) => typeof x === "string")) throw constraintViolation("Request body must be a JSON array of controller ids");
    const found: TargetRec[] = [];
    const missing: string[] = [];
    for (const id of body as string[]) {
      const t = store.findTarget(id);
      if (t) found.push(t);
      else missing.push(id);
    }
    if (missing.length > 0 && policy === "FAIL") throw notFound("Target", missing.join(","));
    return { found, missing };
  };
  const policyOf = (q: unknown): OnNotFound => (q === "ON_WHAT_FOUND_AND_FAIL" || q === "ON_WHAT_FOUND_AND_SUCCESS" ? q : "FAIL");

  r.post("/targettags", async (req, res) => {
    const user = userOf(res);
    const created: TargetTagRec[] = [];
    for (const body of requireArray(req.body)) {
      const name = requireString(body, "name");
      if ([...tags(), ...created].some((t) => t.name === name)) throw alreadyExists(`TargetTag with name ${name} already exists`);
      created.push({ id: store.nextId("targetTags"), name, description: optionalString(body, "description"), colour: optionalString(body, "colour"), ...store.audit(user) });
    }
    tags().push(...created);
    await ctx.commit();
    const base = originOf(req);
    res.status(201).json(created.map((t) => rep.targetTag(base, t)));
  });

  r.get("/targettags", (req, res) => {
    const base = originOf(req);
    res.json(pagedBody(page(tags(), pageParams(req), targetTagFields), (t) => rep.targetTag(base, t)));
  });

  r.get("/targettags/:id", (req, res) => {
    res.json(rep.targetTag(originOf(req), tag(idParam(req, "id"))));
  });

  // hawkBit 1.1.0 MgmtTargetTagResource.updateTargetTag: name, description, colour.
  r.put("/targettags/:id", async (req, res) => {
    const t = tag(idParam(req, "id"));
    const body = requireObject(req.body);
    const name = optionalString(body, "name");
    if (name !== undefined && name !== t.name && tags().some((x) => x.name === name)) throw alreadyExists(`TargetTag with name ${name} already exists`);
    t.name = name ?? t.name;
    t.description = optionalString(body, "description") ?? t.description;
    t.colour = optionalString(body, "colour") ?? t.colour;
    store.touch(t, userOf(res));
    await ctx.commit();
    res.json(rep.targetTag(originOf(req), t));
  });

  r.delete("/targettags/:id", async (req, res) => {
    const t = tag(idParam(req, "id"));
    store.state.targetTags = tags().filter((x) => x !== t);
    for (const target of store.state.targets) target.tagIds = target.tagIds?.filter((id) => id !== t.id);
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.get("/targettags/:id/assigned", (req, res) => {
    const t = tag(idParam(req, "id"));
    const base = originOf(req);
    const tagged = store.state.targets.filter((x) => x.tagIds?.includes(t.id));
    res.json(pagedBody(page(tagged, pageParams(req), targetFields(store)), (x) => rep.target(base, x, store)));
  });

  r.put("/targettags/:id/assigned", async (req, res) => {
    const t = tag(idParam(req, "id"));
    const policy = policyOf(req.query.onNotFoundPolicy);
    const { found, missing } = resolveTargets(req.body, policy);
    for (const target of found) {
      if (!target.tagIds?.includes(t.id)) target.tagIds = [...(target.tagIds ?? []), t.id];
      store.touch(target, userOf(res));
    }
    await ctx.commit();
    if (missing.length > 0 && policy === "ON_WHAT_FOUND_AND_FAIL") throw notFound("Target", missing.join(","));
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.delete("/targettags/:id/assigned", async (req, res) => {
    const t = tag(idParam(req, "id"));
    const policy = policyOf(req.query.onNotFoundPolicy);
    const { found, missing } = resolveTargets(req.body, policy);
    for (const target of found) target.tagIds = target.tagIds?.filter((id) => id !== t.id);
    await ctx.commit();
    if (missing.length > 0 && policy === "ON_WHAT_FOUND_AND_FAIL") throw notFound("Target", missing.join(","));
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.post("/targettags/:id/assigned/:controllerId", async (req, res) => {
    const t = tag(idParam(req, "id"));
    const target = store.target(req.params.controllerId);
    if (!target.tagIds?.includes(t.id)) target.tagIds = [...(target.tagIds ?? []), t.id];
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.delete("/targettags/:id/assigned/:controllerId", async (req, res) => {
    const t = tag(idParam(req, "id"));
    const target = store.target(req.params.controllerId);
    target.tagIds = target.tagIds?.filter((id) => id !== t.id);
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.get("/targets/:controllerId/tags", (req, res) => {
    const target = store.target(req.params.controllerId);
    const base = originOf(req);
    res.json(tags().filter((t) => target.tagIds?.includes(t.id)).map((t) => rep.targetTag(base, t)));
  });

  return r;
}
