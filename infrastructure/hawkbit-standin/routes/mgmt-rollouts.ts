// Rollouts and their deployment groups. Creation validates and splits the targets synchronously (so errors
// surface as 400s, like hawkBit) but answers in CREATING; the engine moves the rollout on.
import { Router } from "express";
import { alreadyExists, constraintViolation, dsIncomplete, dsInvalid, notFound, rolloutIllegalState, rolloutVerificationFailed } from "../errors.js";
import { rolloutFields, rolloutGroupFields, targetFields } from "../fields.js";
import type { ActionType, Condition, GroupConditions, RolloutRec, TargetRec } from "../model.js";
import { page, pagedBody, rsqlFilter } from "../query.js";
import * as rep from "../representations.js";
import type { NewGroup } from "../rollout-engine.js";
import type { Store } from "../store.js";
import {
  type StandinContext, idParam, optionalBoolean, optionalNumber, optionalString, originOf, pageParams, requireObject, requireString,
  userOf,
} from "./context.js";

const ACTION_TYPES: readonly ActionType[] = ["forced", "soft", "timeforced", "downloadonly"];

function condition(raw: unknown, fallback: Condition | undefined): Condition | undefined {
  if (raw === undefined || raw === null) return fallback;
  const c = requireObject(raw);
  if (c.condition !== undefined && c.condition !== "THRESHOLD") throw constraintViolation(`Unsupported condition ${String(c.condition)}`);
  return { condition: "THRESHOLD", expression: String(c.expression ?? fallback?.expression ?? "100") };
}

function conditionsOf(body: Record<string, unknown>, defaults: GroupConditions): GroupConditions {
  const success = body.successAction === undefined ? undefined : requireObject(body.successAction);
  const error = body.errorAction === undefined ? undefined : requireObject(body.errorAction);
  if (success && success.action !== undefined && success.action !== "NEXTGROUP" && success.action !== "PAUSE") {
    throw constraintViolation(`Unsupported success action ${String(success.action)}`);
  }
  if (error && error.action !== undefined && error.action !== "PAUSE") {
    throw constraintViolation(`Unsupported error action ${String(error.action)}`);
  }
  return {
    successCondition: condition(body.successCondition, defaults.successCondition) ?? defaults.successCondition,
    successAction: success
      ? { action: (success.action as "NEXTGROUP" | "PAUSE" | undefined) ?? "NEXTGROUP", expression: String(success.expression ?? "") }
      : defaults.successAction,
    errorCondition: condition(body.errorCondition, defaults.errorCondition),
    errorAction: error ? { action: "PAUSE", expression: String(error.expression ?? "") } : defaults.errorAction,
  };
}

/**
 * hawkBit 1.1.0 RolloutGroupConditionBuilder.withDefaults (used by MgmtRolloutMapper when the request omits them):
 * success THRESHOLD 50 → NEXTGROUP, error THRESHOLD 50 → PAUSE.
 */
const HAWKBIT_DEFAULT_CONDITIONS: GroupConditions = {
  successCondition: { condition: "THRESHOLD", expression: "50" },
  successAction: { action: "NEXTGROUP", expression: "" },
  errorCondition: { condition: "THRESHOLD", expression: "50" },
  errorAction: { action: "PAUSE", expression: "" },
};

/**
 * hawkBit's rules for dynamic rollouts: only with amountGroups (0 meaning no static group at all, which needs a
 * template), a template only for a dynamic rollout. The first dynamic group is made with the static ones: from the
 * template (`group-<n+1><nameSuffix>`, `targetCount` targets), else as big as the last static group.
 */
function dynamicGroup(body: Record<string, unknown>, statics: NewGroup[], defaults: GroupConditions, confirmationRequired?: boolean): NewGroup | undefined {
  const dynamic = optionalBoolean(body, "dynamic") ?? false;
  const template = body.dynamicGroupTemplate === undefined || body.dynamicGroupTemplate === null ? undefined : requireObject(body.dynamicGroupTemplate);
  if (template && !dynamic) throw constraintViolation("Dynamic group template is only allowed for dynamic rollouts");
  if (!dynamic) return undefined;
  if (Array.isArray(body.groups)) throw constraintViolation("Dynamic rollouts are not supported with groups");
  if (template) {
    const targetCount = optionalNumber(template, "targetCount");
    if (targetCount === undefined || !Number.isInteger(targetCount) || targetCount < 1) throw constraintViolation("dynamicGroupTemplate.targetCount must be a positive integer");
    const name = `group-${statics.length + 1}${optionalString(template, "nameSuffix") ?? ""}`;
    return { name, description: name, targetPercentage: targetCount, confirmationRequired, ...defaults, controllerIds: [], dynamic: true };
  }
  const last = statics[statics.length - 1];
  if (!last) throw constraintViolation("When amount of groups is 0, the rollouts shall be dynamic and a dynamic group template must be provided");
  const name = `group-${statics.length + 1}`;
  return {
    name, description: name, targetFilterQuery: last.targetFilterQuery, targetPercentage: Math.max(1, last.controllerIds.length),
    confirmationRequired: last.confirmationRequired ?? confirmationRequired, successCondition: last.successCondition, successAction: last.successAction,
    errorCondition: last.errorCondition, errorAction: last.errorAction, controllerIds: [], dynamic: true,
  };
}

/**
 * hawkBit's split: each group takes `targetPercentage` of the targets that match the rollout filter (and the
 * group's own filter) and are not in an earlier group. With `amountGroups` group i of n gets 100/(n-i) %.
 */
function splitTargets(store: Store, body: Record<string, unknown>, matched: TargetRec[], defaults: GroupConditions): NewGroup[] {
  const fields = targetFields(store);
  let remaining = [...matched];
  const take = (percentage: number, groupFilter?: string): string[] => {
    const filter = rsqlFilter(groupFilter, fields);
    const candidates = remaining.filter(filter);
    const picked = candidates.slice(0, Math.round((percentage / 100) * candidates.length));
    // One pass instead of a splice per picked target, which was quadratic for a rollout over the whole fleet.
    const taken = new Set(picked);
    remaining = remaining.filter((t) => !taken.has(t));
    return picked.map((t) => t.controllerId);
  };

  let groups: NewGroup[];
  if (Array.isArray(body.groups) && body.groups.length > 0) {
    groups = body.groups.map((raw) => {
      const g = requireObject(raw);
      const targetPercentage = optionalNumber(g, "targetPercentage") ?? 100;
      if (targetPercentage <= 0 || targetPercentage > 100) throw constraintViolation("targetPercentage must be in (0, 100]");
      const targetFilterQuery = optionalString(g, "targetFilterQuery");
      return {
        name: requireString(g, "name"), description: optionalString(g, "description"), targetFilterQuery, targetPercentage,
        confirmationRequired: optionalBoolean(g, "confirmationRequired"),
        ...conditionsOf(g, defaults), controllerIds: take(targetPercentage, targetFilterQuery),
      };
    });
    if (remaining.length > 0) {
      throw rolloutVerificationFailed(`Rollout groups leave ${remaining.length} of the targeted targets unassigned`);
    }
  } else {
    const amount = optionalNumber(body, "amountGroups");
    const pureDynamic = amount === 0 && body.dynamic === true && body.dynamicGroupTemplate != null;
    if (pureDynamic) return [];
    if (amount === undefined || !Number.isInteger(amount) || amount < 1) {
      throw constraintViolation("Either 'amountGroups' or 'groups' must be defined");
    }
    groups = Array.from({ length: amount }, (_, i) => {
      const targetPercentage = 100 / (amount - i);
      return { name: `group-${i + 1}`, description: `group-${i + 1}`, targetPercentage, ...defaults, controllerIds: take(targetPercentage) };
    });
  }
  return groups;
}

export function rolloutRoutes(ctx: StandinContext): Router {
  const { store, engine } = ctx;
  const r = Router();

  r.post("/rollouts", async (req, res) => {
    const body = requireObject(req.body);
    const name = requireString(body, "name");
    const targetFilterQuery = requireString(body, "targetFilterQuery");
    const dsId = optionalNumber(body, "distributionSetId");
    if (dsId === undefined) throw constraintViolation("distributionSetId must not be null");
    const ds = store.distributionSet(dsId);
    if (ds.deleted) throw notFound("DistributionSet", ds.id);
    if (ds.valid === false) throw dsInvalid(ds.id);
    if (!store.isComplete(ds)) throw dsIncomplete(ds.id);
    const type = (optionalString(body, "type") ?? "forced") as ActionType;
    if (!ACTION_TYPES.includes(type)) throw constraintViolation(`Unsupported rollout type ${type}`);

    if (store.state.rollouts.some((r) => r.name === name && !r.deleted)) throw alreadyExists(`Rollout with name ${name} already exists`);
    const matched = store.state.targets.filter(rsqlFilter(targetFilterQuery, targetFields(store))).sort((a, b) => a.id - b.id);
    const defaults = conditionsOf(body, HAWKBIT_DEFAULT_CONDITIONS);
    const confirmationRequired = optionalBoolean(body, "confirmationRequired");
    const groups = splitTargets(store, body, matched, defaults);
    // A rollout of dynamic groups only may start empty; any other must match a target now.
    if (matched.length === 0 && groups.length > 0) throw constraintViolation("Rollout does not match any existing targets");
    const dynamic = dynamicGroup(body, groups, defaults, confirmationRequired);
    if (dynamic) groups.push(dynamic);

    const rollout = engine.create({
      name, description: optionalString(body, "description"), targetFilterQuery, distributionSetId: ds.id, actionType: type,
      forcedTime: optionalNumber(body, "forcetime"), startAt: optionalNumber(body, "startAt"), weight: optionalNumber(body, "weight"),
      confirmationRequired, dynamic: dynamic !== undefined, groups,
    }, userOf(res));
    // Rendered before the commit: the scheduler may move the rollout on while the state is being written.
    const created = rep.rollout(originOf(req), store, rollout);
    await ctx.commit();
    res.status(201).json(created);
  });

  r.get("/rollouts", (req, res) => {
    const base = originOf(req);
    // hawkBit 1.1.0 MgmtRolloutResource.getRollouts: compact unless representation=full; soft-deleted rollouts are left
    // out unless soft_deleted_mode asks for them (EXCLUDE_SOFT_DELETED by default, ONLY_ / INCLUDE_SOFT_DELETED).
    const full = String(req.query.representation ?? "compact").toLowerCase() === "full";
    const mode = String(req.query.soft_deleted_mode ?? "EXCLUDE_SOFT_DELETED").toUpperCase();
    const listed = store.state.rollouts.filter((x) => mode === "INCLUDE_SOFT_DELETED" || (mode === "ONLY_SOFT_DELETED" ? x.deleted : !x.deleted));
    res.json(pagedBody(page(listed, pageParams(req), rolloutFields), (x) => rep.rollout(base, store, x, full)));
  });

  r.get("/rollouts/:id", (req, res) => {
    res.json(rep.rollout(originOf(req), store, store.rollout(idParam(req, "id"))));
  });

  // hawkBit 1.1.0 MgmtRolloutResource.update → JpaRolloutManagement.update: name and description of a rollout that is
  // not deleted (checkIfDeleted: a deleted or deleting rollout is 404).
  r.put("/rollouts/:id", async (req, res) => {
    const rollout = store.rollout(idParam(req, "id"));
    if (rollout.deleted || rollout.status === "deleting" || rollout.status === "deleted") throw notFound("Rollout", rollout.id);
    const body = requireObject(req.body);
    const name = optionalString(body, "name");
    if (name !== undefined && name !== rollout.name && store.state.rollouts.some((x) => x.name === name && !x.deleted)) {
      throw alreadyExists(`Rollout with name ${name} already exists`);
    }
    rollout.name = name ?? rollout.name;
    rollout.description = optionalString(body, "description") ?? rollout.description;
    store.touch(rollout, userOf(res));
    await ctx.commit();
    res.json(rep.rollout(originOf(req), store, rollout));
  });

  const remarkOf = (req: { query: Record<string, unknown> }) => (typeof req.query.remark === "string" ? req.query.remark : undefined);
  const verbs = {
    start: (x, user) => engine.start(x, user),
    pause: (x, user) => engine.pause(x, user),
    resume: (x, user) => engine.resume(x, user),
    triggerNextGroup: (x, user) => engine.triggerNextGroup(x, user),
    // hawkBit 1.1.0 MgmtRolloutResource.stop → JpaRolloutManagement.stop.
    stop: (x, user) => engine.requestStop(x, user),
    approve: (x, user, req) => engine.approve(x, user, remarkOf(req)),
    deny: (x, user, req) => engine.deny(x, user, remarkOf(req)),
  } satisfies Record<string, (x: RolloutRec, user: string, req: { query: Record<string, unknown> }) => void>;
  for (const [verb, apply] of Object.entries(verbs)) {
    r.post(`/rollouts/:id/${verb}`, async (req, res) => {
      apply(store.rollout(idParam(req, "id")), userOf(res), req);
      await ctx.commit();
      res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
    });
  }

  // hawkBit's retry: a new rollout, named after the old one, over the targets whose action in it failed.
  r.post("/rollouts/:id/retry", async (req, res) => {
    const old = store.rollout(idParam(req, "id"));
    if (old.status !== "finished") throw rolloutIllegalState(`Rollout ${old.id} is in state ${old.status.toUpperCase()}; only a FINISHED rollout can be retried`);
    const failed = [...new Set(store.actionsOfRollout(old.id).filter((a) => a.status === "error").map((a) => a.controllerId))];
    if (failed.length === 0) throw rolloutVerificationFailed(`Rollout ${old.id} has no failed targets to retry`);
    const name = `${old.name}_retry`;
    if (store.state.rollouts.some((x) => x.name === name && !x.deleted)) throw alreadyExists(`Rollout with name ${name} already exists`);
    const [first] = store.groupsOf(old);
    const conditions: GroupConditions = first
      ? { successCondition: first.successCondition, successAction: first.successAction, errorCondition: first.errorCondition, errorAction: first.errorAction }
      : HAWKBIT_DEFAULT_CONDITIONS;
    const retry = engine.create({
      name, description: old.description, targetFilterQuery: `failedrollout==${old.id}`, distributionSetId: old.distributionSetId,
      actionType: old.actionType, forcedTime: old.forcedTime, weight: old.weight, confirmationRequired: old.confirmationRequired,
      groups: [{ name: "group-1", description: "group-1", targetPercentage: 100, ...conditions, controllerIds: failed }],
    }, userOf(res));
    const created = rep.rollout(originOf(req), store, retry);
    await ctx.commit();
    res.status(201).json(created);
  });

  r.delete("/rollouts/:id", async (req, res) => {
    engine.delete(store.rollout(idParam(req, "id")), userOf(res));
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  const groupOf = (rolloutId: number, groupId: number) => {
    const rollout = store.rollout(rolloutId);
    if (!rollout.groupIds.includes(groupId)) throw notFound("RolloutGroup", groupId);
    return store.rolloutGroup(groupId);
  };

  r.get("/rollouts/:id/deploygroups", (req, res) => {
    const rollout = store.rollout(idParam(req, "id"));
    const base = originOf(req);
    res.json(pagedBody(page(store.groupsOf(rollout), pageParams(req), rolloutGroupFields), (g) => rep.rolloutGroup(base, store, g)));
  });

  r.get("/rollouts/:id/deploygroups/:groupId", (req, res) => {
    res.json(rep.rolloutGroup(originOf(req), store, groupOf(idParam(req, "id"), idParam(req, "groupId"))));
  });

  r.get("/rollouts/:id/deploygroups/:groupId/targets", (req, res) => {
    const group = groupOf(idParam(req, "id"), idParam(req, "groupId"));
    const targets = group.controllerIds.map((id) => store.findTarget(id)).filter((t): t is TargetRec => t !== undefined);
    const base = originOf(req);
    res.json(pagedBody(page(targets, pageParams(req), targetFields(store)), (t) => rep.target(base, t, store)));
  });

  return r;
}
