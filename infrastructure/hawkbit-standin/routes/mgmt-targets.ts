// Targets, their attributes and their actions (including cancelling an action).
import { randomBytes } from "node:crypto";
import { Router } from "express";
import { activateAutoConfirm, applyConfirmation, forceQuit, requestCancel } from "../actions.js";
import { assignDistributionSet, offlineAssign, validAndComplete } from "../assignment.js";
import { actionGone, alreadyExists, autoConfirmAlreadyActive, constraintViolation, notFound } from "../errors.js";
import { actionFields, actionStatusFields, targetFields } from "../fields.js";
import type { ActionRec, ActionType, TargetRec } from "../model.js";
import { ACTION_DEFAULT_SORT } from "./mgmt-actions.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import {
  type StandinContext, idParam, optionalBoolean, optionalNumber, optionalString, originOf, pageParams, requireArray, requireObject,
  requireString, userOf,
} from "./context.js";

const ACTION_TYPES: readonly ActionType[] = ["forced", "soft", "timeforced", "downloadonly"];

export const newSecurityToken = (): string => randomBytes(16).toString("hex");

export function targetRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const fields = targetFields(store);
  const r = Router();

  r.post("/targets", async (req, res) => {
    const user = userOf(res);
    const created: TargetRec[] = [];
    const createdIds = new Set<string>();
    for (const body of requireArray(req.body)) {
      const controllerId = requireString(body, "controllerId");
      if (store.findTarget(controllerId) || createdIds.has(controllerId)) {
        throw alreadyExists(`Target with controllerId ${controllerId} already exists`);
      }
      createdIds.add(controllerId);
      created.push({
        id: store.nextId("targets"), controllerId, name: optionalString(body, "name") ?? controllerId,
        description: optionalString(body, "description"), address: optionalString(body, "address"),
        securityToken: optionalString(body, "securityToken") ?? newSecurityToken(),
        requestAttributes: optionalBoolean(body, "requestAttributes") ?? true, attributes: {}, updateStatus: "unknown",
        ...store.audit(user),
      });
    }
    store.state.targets.push(...created);
    await ctx.commit();
    const base = originOf(req);
    res.status(201).json(created.map((t) => rep.target(base, t, store)));
  });

  r.get("/targets", (req, res) => {
    const base = originOf(req);
    res.json(pagedBody(page(store.state.targets, pageParams(req), fields), (t) => rep.target(base, t, store)));
  });

  r.get("/targets/:controllerId", (req, res) => {
    res.json(rep.target(originOf(req), store.target(req.params.controllerId), store));
  });

  r.put("/targets/:controllerId", async (req, res) => {
    const target = store.target(req.params.controllerId);
    const body = requireObject(req.body);
    target.name = optionalString(body, "name") ?? target.name;
    target.description = optionalString(body, "description") ?? target.description;
    target.address = optionalString(body, "address") ?? target.address;
    target.securityToken = optionalString(body, "securityToken") ?? target.securityToken;
    target.requestAttributes = optionalBoolean(body, "requestAttributes") ?? target.requestAttributes;
    store.touch(target, userOf(res));
    await ctx.commit();
    res.json(rep.target(originOf(req), target, store));
  });

  r.delete("/targets/:controllerId", async (req, res) => {
    const target = store.target(req.params.controllerId);
    store.state.targets = store.state.targets.filter((t) => t !== target);
    store.state.actions = store.state.actions.filter((a) => a.controllerId !== target.controllerId);
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.get("/targets/:controllerId/attributes", (req, res) => {
    res.json(store.target(req.params.controllerId).attributes);
  });

  // hawkBit 1.1.0 MgmtTargetResource.getActionHistory: compact actions (MgmtTargetMapper.toResponse), newest first by default.
  r.get("/targets/:controllerId/actions", (req, res) => {
    const target = store.target(req.params.controllerId);
    const base = originOf(req);
    res.json(pagedBody(page(store.actionsOf(target.controllerId), pageParams(req), actionFields(store), { defaultSort: ACTION_DEFAULT_SORT }),
      (a) => rep.action(base, store, a, false)));
  });

  const actionOfTarget = (controllerId: string, actionId: number) => {
    const target = store.target(controllerId);
    const action = store.action(actionId);
    if (action.controllerId !== target.controllerId) throw notFound("Action", actionId);
    return action;
  };

  // MgmtTargetResource.getAction: the full representation (toResponseWithLinks).
  r.get("/targets/:controllerId/actions/:actionId", (req, res) => {
    res.json(rep.action(originOf(req), store, actionOfTarget(req.params.controllerId, idParam(req, "actionId")), true));
  });

  // MgmtTargetResource.cancelAction: JpaDeploymentManagement.cancelAction (an active action moves to CANCELING, which the
  // device learns through DDI cancelAction) or, with force=true, forceQuitAction; a wrong state is 405. 204 either way.
  r.delete("/targets/:controllerId/actions/:actionId", async (req, res) => {
    const action = actionOfTarget(req.params.controllerId, idParam(req, "actionId"));
    if (String(req.query.force) === "true") forceQuit(store, action, userOf(res));
    else requestCancel(store, action, userOf(res));
    ctx.engine.tick();
    await ctx.commit();
    res.status(204).end();
  });

  // MgmtTargetResource.updateAction → JpaDeploymentManagement.forceTargetAction: only a switch to forced is accepted.
  r.put("/targets/:controllerId/actions/:actionId", async (req, res) => {
    const action = actionOfTarget(req.params.controllerId, idParam(req, "actionId"));
    const body = requireObject(req.body);
    if (body.forceType !== "forced") throw constraintViolation("Resource supports only switch to FORCED.");
    if (action.actionType !== "forced" && action.actionType !== "timeforced") {
      action.actionType = "forced";
      store.touch(action, userOf(res));
    }
    await ctx.commit();
    res.json(rep.action(originOf(req), store, action, true));
  });

  // MgmtTargetResource.updateActionConfirmation: confirm or deny on the device's behalf; 204, 410 once closed, 404 when
  // the action is not waiting for confirmation (JpaConfirmationManagement.assertActionCanAcceptFeedback).
  r.put("/targets/:controllerId/actions/:actionId/confirmation", async (req, res) => {
    const action = actionOfTarget(req.params.controllerId, idParam(req, "actionId"));
    const body = requireObject(req.body);
    if (body.confirmation !== "confirmed" && body.confirmation !== "denied") throw constraintViolation("confirmation must be confirmed or denied");
    const details = body.details === undefined ? [] : body.details;
    if (!Array.isArray(details) || !details.every((d) => typeof d === "string")) throw constraintViolation("details must be strings");
    if (!action.active) throw actionGone(action.id);
    if (action.status !== "wait_for_confirmation") throw notFound("Action awaiting confirmation", action.id);
    applyConfirmation(store, action, store.target(action.controllerId), body.confirmation === "confirmed", details as string[],
      typeof body.code === "number" ? body.code : undefined);
    await ctx.commit();
    res.status(204).end();
  });

  // MgmtTargetResource.getActionStatusList: the action's history, newest first by default (sanitizeActionStatusSortParam).
  r.get("/targets/:controllerId/actions/:actionId/status", (req, res) => {
    const action = actionOfTarget(req.params.controllerId, idParam(req, "actionId"));
    const params = { ...pageParams(req), q: undefined };
    res.json(pagedBody(page(action.history, params, actionStatusFields, { defaultSort: "id:DESC" }), rep.actionStatus));
  });

  // MgmtTargetResource.getAssignedDistributionSet / getInstalledDistributionSet: the set, or 204 without one.
  for (const [path, of] of [["assignedDS", (t: TargetRec) => t.assignedDistributionSetId], ["installedDS", (t: TargetRec) => t.installedDistributionSetId]] as const) {
    r.get(`/targets/:controllerId/${path}`, (req, res) => {
      const id = of(store.target(req.params.controllerId));
      if (id === undefined) {
        res.status(204).end();
        return;
      }
      res.json(rep.distributionSet(originOf(req), store, store.distributionSet(id)));
    });
  }

  // MgmtTargetResource.postAssignedDistributionSet: a list of {id, type, forcetime, weight, confirmationRequired}
  // (MgmtDistributionSetAssignments accepts a single object too); `offline=true` assigns as already installed.
  r.post("/targets/:controllerId/assignedDS", async (req, res) => {
    const target = store.target(req.params.controllerId);
    const list = Array.isArray(req.body) ? req.body.map(requireObject) : [requireObject(req.body)];
    const user = userOf(res);
    const offline = String(req.query.offline) === "true";
    const requests = list.map((body) => {
      const id = optionalNumber(body, "id");
      if (id === undefined) throw constraintViolation("id must not be null");
      const actionType = (optionalString(body, "type") ?? "forced") as ActionType;
      if (!ACTION_TYPES.includes(actionType)) throw constraintViolation(`Unsupported assignment type ${actionType}`);
      return { ds: validAndComplete(store, id), actionType, forcedTime: optionalNumber(body, "forcetime"), weight: optionalNumber(body, "weight"),
        confirmationRequired: optionalBoolean(body, "confirmationRequired") };
    });
    let alreadyAssigned = 0;
    const assigned: ActionRec[] = [];
    for (const request of requests) {
      if (offline) {
        if (offlineAssign(store, request.ds, target, user)) assigned.push(store.actionsOf(target.controllerId).at(-1)!);
        else alreadyAssigned++;
        continue;
      }
      const result = assignDistributionSet(store, request.ds, [target], request, user);
      alreadyAssigned += result.alreadyAssigned;
      assigned.push(...result.assigned);
    }
    ctx.engine.tick();
    await ctx.commit();
    res.json(rep.assignmentResult(originOf(req), alreadyAssigned, assigned));
  });

  r.get("/targets/:controllerId/autoConfirm", (req, res) => {
    const target = store.target(req.params.controllerId);
    const self = `${originOf(req)}/rest/v1/targets/${encodeURIComponent(target.controllerId)}/autoConfirm`;
    res.json(target.autoConfirm
      ? { active: true, initiator: target.autoConfirm.initiator, remark: target.autoConfirm.remark, activatedAt: target.autoConfirm.activatedAt,
        _links: { deactivate: { href: `${self}/deactivate` } } }
      : { active: false, _links: { activate: { href: `${self}/activate` } } });
  });

  r.post("/targets/:controllerId/autoConfirm/activate", async (req, res) => {
    const target = store.target(req.params.controllerId);
    if (target.autoConfirm) throw autoConfirmAlreadyActive(target.controllerId);
    const body = (req.body ?? {}) as Record<string, unknown>;
    activateAutoConfirm(store, target, typeof body.initiator === "string" ? body.initiator : userOf(res), typeof body.remark === "string" ? body.remark : undefined);
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  r.post("/targets/:controllerId/autoConfirm/deactivate", async (req, res) => {
    const target = store.target(req.params.controllerId);
    target.autoConfirm = undefined;
    store.touch(target, userOf(res));
    await ctx.commit();
    res.status(204).end(); // hawkBit 1.1.0 Mgmt*Resource: Void operations answer ResponseEntity.noContent()
  });

  return r;
}
