// Distribution sets and their software module assignment.
import { Router } from "express";
import { alreadyExists, constraintViolation, dsModuleUnsupported, locked, notFound } from "../errors.js";
import { assignDistributionSet, offlineAssign, validAndComplete } from "../assignment.js";
import { distributionSetFields, softwareModuleFields, targetFields, targetFilterFields } from "../fields.js";
import type { ActionRec, ActionType, DistributionSetRec, TargetRec } from "../model.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import { DEFAULT_DS_TYPE_KEY, type Store } from "../store.js";
import {
  type StandinContext, idParam, optionalBoolean, optionalNumber, optionalString, originOf, pageParams, requireArray, requireObject, requireString, userOf,
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

  const liveSet = (id: number): DistributionSetRec => {
    const ds = store.distributionSet(id);
    if (ds.deleted) throw notFound("DistributionSet", ds.id);
    return ds;
  };

  // hawkBit 1.1.0 MgmtDistributionSetResource.updateDistributionSet → JpaDistributionSetManagement.update: name, version,
  // description, requiredMigrationStep and locked of a set that is not deleted; locking locks its modules too.
  r.put("/distributionsets/:id", async (req, res) => {
    const ds = liveSet(idParam(req, "id"));
    const body = requireObject(req.body);
    const name = optionalString(body, "name") ?? ds.name;
    const version = optionalString(body, "version") ?? ds.version;
    if ((name !== ds.name || version !== ds.version) && store.state.distributionSets.some((d) => d !== ds && d.name === name && d.version === version)) {
      throw alreadyExists(`DistributionSet with name ${name} and version ${version} already exists`);
    }
    ds.name = name;
    ds.version = version;
    ds.description = optionalString(body, "description") ?? ds.description;
    ds.requiredMigrationStep = optionalBoolean(body, "requiredMigrationStep") ?? ds.requiredMigrationStep;
    const lock = optionalBoolean(body, "locked");
    if (lock !== undefined) ds.locked = lock;
    if (lock === true) for (const id of ds.moduleIds) store.softwareModule(id).locked = true;
    store.touch(ds, userOf(res));
    await ctx.commit();
    res.json(rep.distributionSet(originOf(req), store, ds));
  });

  // MgmtDistributionSetResource.getAssignedTargets / getInstalledTargets: targets by their assigned / installed set.
  for (const [path, of] of [["assignedTargets", (t: TargetRec) => t.assignedDistributionSetId], ["installedTargets", (t: TargetRec) => t.installedDistributionSetId]] as const) {
    r.get(`/distributionsets/:id/${path}`, (req, res) => {
      const ds = store.distributionSet(idParam(req, "id"));
      const base = originOf(req);
      const targets = store.state.targets.filter((t) => of(t) === ds.id);
      res.json(pagedBody(page(targets, pageParams(req), targetFields(store), { defaultSort: "controllerId:ASC" }), (t) => rep.target(base, t, store)));
    });
  }

  // MgmtDistributionSetResource.createAssignedTarget: [{id: controllerId, type, forcetime, weight, confirmationRequired}],
  // assigned as JpaDeploymentManagement.assignDistributionSets does (see assignment.ts); `offline=true` as installed.
  r.post("/distributionsets/:id/assignedTargets", async (req, res) => {
    const ds = validAndComplete(store, idParam(req, "id"));
    const user = userOf(res);
    const offline = String(req.query.offline) === "true";
    let alreadyAssigned = 0;
    const assigned: ActionRec[] = [];
    for (const body of requireArray(req.body)) {
      const controllerId = requireString(body, "id");
      const target = store.target(controllerId);
      if (offline) {
        if (offlineAssign(store, ds, target, user)) assigned.push(store.actionsOf(target.controllerId).at(-1)!);
        else alreadyAssigned++;
        continue;
      }
      const actionType = (optionalString(body, "type") ?? "forced") as ActionType;
      if (!["forced", "soft", "timeforced", "downloadonly"].includes(actionType)) throw constraintViolation(`Unsupported assignment type ${actionType}`);
      const result = assignDistributionSet(store, ds, [target], {
        actionType, forcedTime: optionalNumber(body, "forcetime"), weight: optionalNumber(body, "weight"),
        confirmationRequired: optionalBoolean(body, "confirmationRequired"),
      }, user);
      alreadyAssigned += result.alreadyAssigned;
      assigned.push(...result.assigned);
    }
    ctx.engine.tick();
    await ctx.commit();
    res.json(rep.assignmentResult(originOf(req), alreadyAssigned, assigned));
  });

  // MgmtDistributionSetResource.getAutoAssignTargetFilters: the target filters that auto-assign this set.
  r.get("/distributionsets/:id/autoAssignTargetFilters", (req, res) => {
    const ds = store.distributionSet(idParam(req, "id"));
    const base = originOf(req);
    const filters = (store.state.targetFilters ?? []).filter((f) => f.autoAssign?.distributionSetId === ds.id);
    res.json(pagedBody(page(filters, pageParams(req), targetFilterFields), (f) => rep.targetFilter(base, f)));
  });

  // MgmtDistributionSetResource.deleteAssignSoftwareModules: only while the set is not locked (LockedException, 423).
  r.delete("/distributionsets/:id/assignedSM/:smId", async (req, res) => {
    const ds = liveSet(idParam(req, "id"));
    const smId = idParam(req, "smId");
    store.softwareModule(smId);
    if (ds.locked) throw locked(`Distribution set ${ds.id} is locked; its modules cannot be changed`);
    ds.moduleIds = ds.moduleIds.filter((id) => id !== smId);
    store.touch(ds, userOf(res));
    await ctx.commit();
    res.status(204).end();
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
