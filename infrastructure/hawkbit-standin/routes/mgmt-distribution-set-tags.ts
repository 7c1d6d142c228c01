// Distribution set tags, as hawkBit 1.1.0 MgmtDistributionSetTagResource serves them: CRUD, the tagged sets, and
// assigning / unassigning sets (one by id, or a list of ids), all Void answers 204.
import { Router } from "express";
import { alreadyExists, constraintViolation, notFound } from "../errors.js";
import { distributionSetFields, targetTagFields } from "../fields.js";
import type { DistributionSetRec, TargetTagRec } from "../model.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import { type StandinContext, idParam, optionalString, originOf, pageParams, requireArray, requireObject, requireString, userOf } from "./context.js";

export function distributionSetTagRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const r = Router();
  const tags = () => (store.state.distributionSetTags ??= []);
  const tag = (id: number): TargetTagRec => tags().find((t) => t.id === id) ?? (() => { throw notFound("DistributionSetTag", id); })();
  const setsOf = (body: unknown): DistributionSetRec[] => {
    if (!Array.isArray(body) || !body.every((x) => typeof x === "number")) throw constraintViolation("Request body must be a JSON array of distribution set ids");
    return (body as number[]).map((id) => {
      const ds = store.distributionSet(id);
      if (ds.deleted) throw notFound("DistributionSet", id);
      return ds;
    });
  };
  const tagSet = (ds: DistributionSetRec, t: TargetTagRec) => {
    if (!ds.tagIds?.includes(t.id)) ds.tagIds = [...(ds.tagIds ?? []), t.id];
  };
  const untagSet = (ds: DistributionSetRec, t: TargetTagRec) => {
    ds.tagIds = ds.tagIds?.filter((id) => id !== t.id);
  };

  r.get("/distributionsettags", (req, res) => {
    const base = originOf(req);
    res.json(pagedBody(page(tags(), pageParams(req), targetTagFields), (t) => rep.distributionSetTag(base, t)));
  });
  r.post("/distributionsettags", async (req, res) => {
    const user = userOf(res);
    const created: TargetTagRec[] = [];
    for (const body of requireArray(req.body)) {
      const name = requireString(body, "name");
      if ([...tags(), ...created].some((t) => t.name === name)) throw alreadyExists(`DistributionSetTag with name ${name} already exists`);
      created.push({ id: store.nextId("distributionSetTags"), name, description: optionalString(body, "description"), colour: optionalString(body, "colour"), ...store.audit(user) });
    }
    tags().push(...created);
    await ctx.commit();
    const base = originOf(req);
    res.status(201).json(created.map((t) => rep.distributionSetTag(base, t)));
  });
  r.get("/distributionsettags/:id", (req, res) => {
    res.json(rep.distributionSetTag(originOf(req), tag(idParam(req, "id"))));
  });
  // MgmtDistributionSetTagResource.updateDistributionSetTag: name, description, colour.
  r.put("/distributionsettags/:id", async (req, res) => {
    const t = tag(idParam(req, "id"));
    const body = requireObject(req.body);
    const name = optionalString(body, "name");
    if (name !== undefined && name !== t.name && tags().some((x) => x.name === name)) throw alreadyExists(`DistributionSetTag with name ${name} already exists`);
    t.name = name ?? t.name;
    t.description = optionalString(body, "description") ?? t.description;
    t.colour = optionalString(body, "colour") ?? t.colour;
    store.touch(t, userOf(res));
    await ctx.commit();
    res.json(rep.distributionSetTag(originOf(req), t));
  });
  r.delete("/distributionsettags/:id", async (req, res) => {
    const t = tag(idParam(req, "id"));
    store.state.distributionSetTags = tags().filter((x) => x !== t);
    for (const ds of store.state.distributionSets) untagSet(ds, t);
    await ctx.commit();
    res.status(204).end();
  });
  r.get("/distributionsettags/:id/assigned", (req, res) => {
    const t = tag(idParam(req, "id"));
    const base = originOf(req);
    const tagged = store.state.distributionSets.filter((d) => !d.deleted && d.tagIds?.includes(t.id));
    res.json(pagedBody(page(tagged, pageParams(req), distributionSetFields(store)), (d) => rep.distributionSet(base, store, d)));
  });
  r.post("/distributionsettags/:id/assigned", async (req, res) => {
    const t = tag(idParam(req, "id"));
    for (const ds of setsOf(req.body)) tagSet(ds, t);
    await ctx.commit();
    res.status(204).end();
  });
  r.delete("/distributionsettags/:id/assigned", async (req, res) => {
    const t = tag(idParam(req, "id"));
    for (const ds of setsOf(req.body)) untagSet(ds, t);
    await ctx.commit();
    res.status(204).end();
  });
  r.post("/distributionsettags/:id/assigned/:dsId", async (req, res) => {
    const t = tag(idParam(req, "id"));
    tagSet(setsOf([idParam(req, "dsId")])[0]!, t);
    await ctx.commit();
    res.status(204).end();
  });
  r.delete("/distributionsettags/:id/assigned/:dsId", async (req, res) => {
    const t = tag(idParam(req, "id"));
    untagSet(setsOf([idParam(req, "dsId")])[0]!, t);
    await ctx.commit();
    res.status(204).end();
  });
  return r;
}
