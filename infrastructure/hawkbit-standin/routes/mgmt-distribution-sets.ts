// Distribution sets and their software module assignment.
import { Router } from "express";
import { alreadyExists, constraintViolation, dsModuleUnsupported, locked, notFound } from "../errors.js";
import { distributionSetFields, softwareModuleFields } from "../fields.js";
import type { DistributionSetRec } from "../model.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import { DEFAULT_DS_TYPE_KEY, type Store } from "../store.js";
import {
  type StandinContext, idParam, optionalBoolean, optionalString, originOf, pageParams, requireArray, requireObject, requireString, userOf,
} from "./context.js";

function moduleIds(list: unknown): number[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw constraintViolation("modules must be an array");
  return list.map((m) => {
    const id = (m as { id?: unknown })?.id;
    if (typeof id !== "number") throw constraintViolation("module id must be a number");
    return id;
  });
}

/**
 * Adds modules as hawkBit's DistributionSet.addModule: the module type must belong to the DS type, and a type
 * already holding `maxAssignments` modules gives up its oldest one.
 */
function assignModules(store: Store, ds: DistributionSetRec, ids: number[]): void {
  const type = store.distributionSetType(ds.typeId);
  const allowed = new Set([...type.mandatoryModuleTypeIds, ...type.optionalModuleTypeIds]);
  for (const id of ids) {
    const module = store.softwareModule(id);
    if (!allowed.has(module.typeId)) {
      throw dsModuleUnsupported(`Software module ${id} of type ${store.softwareModuleType(module.typeId).key} is not supported by distribution set type ${type.key}`);
    }
    if (ds.moduleIds.includes(id)) continue;
    const sameType = ds.moduleIds.filter((m) => store.softwareModule(m).typeId === module.typeId);
    if (sameType.length >= store.softwareModuleType(module.typeId).maxAssignments) {
      ds.moduleIds = ds.moduleIds.filter((m) => m !== sameType[0]);
    }
    ds.moduleIds.push(id);
  }
}

export function distributionSetRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const fields = distributionSetFields(store);
  const r = Router();

  r.post("/distributionsets", async (req, res) => {
    const user = userOf(res);
    const created: DistributionSetRec[] = [];
    for (const body of requireArray(req.body)) {
      const name = requireString(body, "name");
      const version = requireString(body, "version");
      // The tenant's default type (tenant metadata `default.ds.type`) when the request names none.
      const defaultType = store.state.defaultDsTypeId === undefined ? undefined : store.state.distributionSetTypes.find((t) => t.id === store.state.defaultDsTypeId);
      const typeKey = optionalString(body, "type") ?? defaultType?.key ?? DEFAULT_DS_TYPE_KEY;
      const type = store.distributionSetTypeByKey(typeKey);
      if (!type) throw constraintViolation(`Distribution set type ${typeKey} does not exist`);
      if ([...store.state.distributionSets, ...created].some((d) => d.name === name && d.version === version)) {
        throw alreadyExists(`DistributionSet with name ${name} and version ${version} already exists`);
      }
      const ds: DistributionSetRec = {
        id: store.nextId("distributionSets"), name, version, typeId: type.id, description: optionalString(body, "description"),
        moduleIds: [], locked: optionalBoolean(body, "locked") ?? false,
        requiredMigrationStep: optionalBoolean(body, "requiredMigrationStep") ?? false, ...store.audit(user),
      };
      assignModules(store, ds, moduleIds(body.modules));
      created.push(ds);
    }
    store.state.distributionSets.push(...created);
    await ctx.commit();
    const base = originOf(req);
    res.status(201).json(created.map((d) => rep.distributionSet(base, store, d)));
  });

  r.get("/distributionsets", (req, res) => {
    const base = originOf(req);
    const live = store.state.distributionSets.filter((d) => !d.deleted);
    res.json(pagedBody(page(live, pageParams(req), fields), (d) => rep.distributionSet(base, store, d)));
  });

  // A set that was ever assigned stays (soft-deleted) for its actions' history; an unused one disappears.
  r.delete("/distributionsets/:id", async (req, res) => {
    const ds = store.distributionSet(idParam(req, "id"));
    if (ds.deleted) throw notFound("DistributionSet", ds.id);
    const used = store.state.actions.some((a) => a.distributionSetId === ds.id) || store.state.rollouts.some((x) => x.distributionSetId === ds.id);
    if (used) ds.deleted = true;
    else store.state.distributionSets = store.state.distributionSets.filter((d) => d !== ds);
    for (const f of store.state.targetFilters ?? []) if (f.autoAssign?.distributionSetId === ds.id) f.autoAssign = undefined;
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  /**
   * Invalidation is final: auto-assignments of the set end, its rollouts stop (asked for, or implied by cancelling
   * actions), and its open actions are cancelled softly (devices confirm) or forcibly (closed at once).
   */
  r.post("/distributionsets/:id/invalidate", async (req, res) => {
    const ds = store.distributionSet(idParam(req, "id"));
    const body = requireObject(req.body);
    const cancelation = body.actionCancelationType;
    if (cancelation !== "soft" && cancelation !== "force" && cancelation !== "none") throw constraintViolation("actionCancelationType must be soft, force or none");
    const user = userOf(res);
    ds.valid = false;
    store.touch(ds, user);
    for (const f of store.state.targetFilters ?? []) if (f.autoAssign?.distributionSetId === ds.id) f.autoAssign = undefined;
    if (optionalBoolean(body, "cancelRollouts") === true || cancelation !== "none") {
      for (const rollout of store.state.rollouts.filter((x) => x.distributionSetId === ds.id)) ctx.engine.stop(rollout, user);
    }
    if (cancelation !== "none") {
      for (const action of store.state.actions.filter((a) => a.distributionSetId === ds.id && a.active)) {
        const target = store.target(action.controllerId);
        if (cancelation === "soft") {
          if (action.status === "canceling") continue;
          action.status = "canceling";
          action.history.push({ id: store.nextId("actionStatus"), status: "canceling", reportedAt: Date.now(), messages: ["Distribution set invalidated: cancellation requested"] });
        } else {
          action.status = "canceled";
          action.active = false;
          action.history.push({ id: store.nextId("actionStatus"), status: "canceled", reportedAt: Date.now(), messages: ["Distribution set invalidated: action force-cancelled"] });
          target.assignedDistributionSetId = target.installedDistributionSetId;
          target.updateStatus = target.installedDistributionSetId === undefined ? "registered" : "in_sync";
        }
        store.touch(action, user);
      }
    }
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.get("/distributionsets/:id", (req, res) => {
    res.json(rep.distributionSet(originOf(req), store, store.distributionSet(idParam(req, "id"))));
  });

  r.post("/distributionsets/:id/assignedSM", async (req, res) => {
    const ds = store.distributionSet(idParam(req, "id"));
    if (ds.locked) throw locked(`Distribution set ${ds.id} is locked; its modules cannot be changed`);
    assignModules(store, ds, moduleIds(req.body));
    store.touch(ds, userOf(res));
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.get("/distributionsets/:id/assignedSM", (req, res) => {
    const ds = store.distributionSet(idParam(req, "id"));
    const base = originOf(req);
    const modules = ds.moduleIds.map((id) => store.softwareModule(id));
    res.json(pagedBody(page(modules, { ...pageParams(req), q: undefined }, softwareModuleFields(store)), (m) => rep.softwareModule(base, store, m)));
  });

  return r;
}
