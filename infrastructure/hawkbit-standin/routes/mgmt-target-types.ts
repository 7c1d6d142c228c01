// Target types: which distribution set types a target may receive.
import { Router } from "express";
import { HawkbitHttpError, alreadyExists, constraintViolation, notFound } from "../errors.js";
import { targetTypeFields } from "../fields.js";
import type { TargetTypeRec } from "../model.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import { type StandinContext, idParam, optionalString, originOf, pageParams, requireArray, requireObject, requireString, userOf } from "./context.js";

export function targetTypeRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const r = Router();
  const types = () => (store.state.targetTypes ??= []);
  const type = (id: number): TargetTypeRec => types().find((t) => t.id === id) ?? (() => { throw notFound("TargetType", id); })();

  r.post("/targettypes", async (req, res) => {
    const user = userOf(res);
    const created: TargetTypeRec[] = [];
    for (const body of requireArray(req.body)) {
      const name = requireString(body, "name");
      const key = optionalString(body, "key") ?? name;
      if ([...types(), ...created].some((t) => t.name === name || t.key === key)) throw alreadyExists(`TargetType with name ${name} or key ${key} already exists`);
      const compatible = Array.isArray(body.compatibledistributionsettypes) ? body.compatibledistributionsettypes.map((x) => Number(requireObject(x).id)) : [];
      for (const id of compatible) store.distributionSetType(id);
      created.push({
        id: store.nextId("targetTypes"), key, name, description: optionalString(body, "description"), colour: optionalString(body, "colour"),
        compatibleDistributionSetTypeIds: compatible, ...store.audit(user),
      });
    }
    types().push(...created);
    await ctx.commit();
    const base = originOf(req);
    res.status(201).json(created.map((t) => rep.targetType(base, t)));
  });

  r.get("/targettypes", (req, res) => {
    const base = originOf(req);
    res.json(pagedBody(page(types(), pageParams(req), targetTypeFields), (t) => rep.targetType(base, t)));
  });

  r.get("/targettypes/:id", (req, res) => {
    res.json(rep.targetType(originOf(req), type(idParam(req, "id"))));
  });

  // hawkBit 1.1.0 MgmtTargetTypeResource.updateTargetType: name, description, colour.
  r.put("/targettypes/:id", async (req, res) => {
    const t = type(idParam(req, "id"));
    const body = requireObject(req.body);
    const name = optionalString(body, "name");
    if (name !== undefined && name !== t.name && types().some((x) => x.name === name)) throw alreadyExists(`TargetType with name ${name} already exists`);
    t.name = name ?? t.name;
    t.description = optionalString(body, "description") ?? t.description;
    t.colour = optionalString(body, "colour") ?? t.colour;
    store.touch(t, userOf(res));
    await ctx.commit();
    res.json(rep.targetType(originOf(req), t));
  });

  // Compatible distribution set types: list, add ([{id}], 204), remove (204).
  r.get("/targettypes/:id/compatibledistributionsettypes", (req, res) => {
    const t = type(idParam(req, "id"));
    const base = originOf(req);
    res.json(t.compatibleDistributionSetTypeIds.map((id) => rep.distributionSetType(base, store.distributionSetType(id))));
  });
  r.post("/targettypes/:id/compatibledistributionsettypes", async (req, res) => {
    const t = type(idParam(req, "id"));
    const ids = requireArray(req.body).map((x) => {
      if (typeof x.id !== "number") throw constraintViolation("id must be a number");
      return store.distributionSetType(x.id).id;
    });
    t.compatibleDistributionSetTypeIds = [...new Set([...t.compatibleDistributionSetTypeIds, ...ids])];
    store.touch(t, userOf(res));
    await ctx.commit();
    res.status(204).end();
  });
  r.delete("/targettypes/:id/compatibledistributionsettypes/:dsTypeId", async (req, res) => {
    const t = type(idParam(req, "id"));
    const dsTypeId = idParam(req, "dsTypeId");
    store.distributionSetType(dsTypeId);
    t.compatibleDistributionSetTypeIds = t.compatibleDistributionSetTypeIds.filter((id) => id !== dsTypeId);
    store.touch(t, userOf(res));
    await ctx.commit();
    res.status(204).end();
  });

  r.delete("/targettypes/:id", async (req, res) => {
    const t = type(idParam(req, "id"));
    // JpaTargetTypeManagement.delete: TargetTypeInUseException, SP_TARGET_TYPE_IN_USE → 409.
    if (store.state.targets.some((x) => x.targetTypeId === t.id)) {
      throw new HawkbitHttpError(409, "org.eclipse.hawkbit.repository.exception.TargetTypeInUseException", "hawkbit.server.error.target.type.used",
        `Target type ${t.id} is still in use by a target.`);
    }
    store.state.targetTypes = types().filter((x) => x !== t);
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.post("/targets/:controllerId/targettype", async (req, res) => {
    const target = store.target(req.params.controllerId);
    const id = requireObject(req.body).id;
    if (typeof id !== "number") throw constraintViolation("id must be a number");
    target.targetTypeId = type(id).id;
    store.touch(target, userOf(res));
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.delete("/targets/:controllerId/targettype", async (req, res) => {
    const target = store.target(req.params.controllerId);
    target.targetTypeId = undefined;
    store.touch(target, userOf(res));
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  return r;
}
