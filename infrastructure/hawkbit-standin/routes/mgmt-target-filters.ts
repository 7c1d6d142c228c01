// Stored target filters (RSQL) and their auto-assignment of a distribution set (see auto-assignment.ts).
import { Router } from "express";
import { constraintViolation, dsIncomplete, dsInvalid, notFound } from "../errors.js";
import { targetFields, targetFilterFields } from "../fields.js";
import type { ActionType, TargetFilterRec } from "../model.js";
import { page, pagedBody, rsqlFilter } from "../query.js";
import * as rep from "../representations.js";
import { type StandinContext, idParam, optionalBoolean, optionalNumber, optionalString, originOf, pageParams, requireObject, requireString, userOf } from "./context.js";

const ACTION_TYPES: readonly ActionType[] = ["forced", "soft", "timeforced", "downloadonly"];

export function targetFilterRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const r = Router();
  const filters = () => (store.state.targetFilters ??= []);
  const filter = (id: number): TargetFilterRec => filters().find((f) => f.id === id) ?? (() => { throw notFound("TargetFilterQuery", id); })();
  /** hawkBit parses the query on save: a bad field or syntax is a 400 then, not at assignment time. */
  const checked = (query: string): string => {
    rsqlFilter(query, targetFields(store));
    return query;
  };

  r.post("/targetfilters", async (req, res) => {
    const body = requireObject(req.body);
    const name = requireString(body, "name");
    if (filters().some((f) => f.name === name)) throw constraintViolation(`TargetFilterQuery with name ${name} already exists`);
    const f: TargetFilterRec = { id: store.nextId("targetFilters"), name, query: checked(requireString(body, "query")), ...store.audit(userOf(res)) };
    filters().push(f);
    await ctx.commit();
    res.status(201).json(rep.targetFilter(originOf(req), f));
  });

  r.get("/targetfilters", (req, res) => {
    const base = originOf(req);
    res.json(pagedBody(page(filters(), pageParams(req), targetFilterFields), (f) => rep.targetFilter(base, f)));
  });

  r.get("/targetfilters/:id", (req, res) => {
    res.json(rep.targetFilter(originOf(req), filter(idParam(req, "id"))));
  });

  r.put("/targetfilters/:id", async (req, res) => {
    const f = filter(idParam(req, "id"));
    const body = requireObject(req.body);
    f.name = optionalString(body, "name") ?? f.name;
    const query = optionalString(body, "query");
    if (query !== undefined) f.query = checked(query);
    store.touch(f, userOf(res));
    await ctx.commit();
    res.json(rep.targetFilter(originOf(req), f));
  });

  r.delete("/targetfilters/:id", async (req, res) => {
    const f = filter(idParam(req, "id"));
    store.state.targetFilters = filters().filter((x) => x !== f);
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.post("/targetfilters/:id/autoAssignDS", async (req, res) => {
    const f = filter(idParam(req, "id"));
    const body = requireObject(req.body);
    const dsId = optionalNumber(body, "id");
    if (dsId === undefined) throw constraintViolation("id must not be null");
    const ds = store.distributionSet(dsId);
    if (ds.deleted) throw notFound("DistributionSet", ds.id);
    if (ds.valid === false) throw dsInvalid(ds.id);
    if (!store.isComplete(ds)) throw dsIncomplete(ds.id);
    const type = (optionalString(body, "type") ?? "forced") as ActionType;
    if (!ACTION_TYPES.includes(type) || type === "timeforced") throw constraintViolation(`Unsupported auto-assignment type ${type}`);
    f.autoAssign = { distributionSetId: ds.id, actionType: type, weight: optionalNumber(body, "weight"), confirmationRequired: optionalBoolean(body, "confirmationRequired") };
    store.touch(f, userOf(res));
    await ctx.commit();
    res.json(rep.targetFilter(originOf(req), f));
  });

  r.get("/targetfilters/:id/autoAssignDS", (req, res) => {
    const f = filter(idParam(req, "id"));
    // hawkBit answers 204 without an auto-assignment; 200 with the set otherwise.
    if (!f.autoAssign) {
      res.status(204).end();
      return;
    }
    res.json(rep.distributionSet(originOf(req), store, store.distributionSet(f.autoAssign.distributionSetId)));
  });

  r.delete("/targetfilters/:id/autoAssignDS", async (req, res) => {
    const f = filter(idParam(req, "id"));
    f.autoAssign = undefined;
    store.touch(f, userOf(res));
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  return r;
}
