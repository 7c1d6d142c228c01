// Targets, their attributes and their actions (including cancelling an action).
import { randomBytes } from "node:crypto";
import { Router } from "express";
import { activateAutoConfirm } from "../actions.js";
import { actionNotCancelable, alreadyExists, autoConfirmAlreadyActive, forceQuitNotAllowed, notFound } from "../errors.js";
import { actionFields, targetFields } from "../fields.js";
import type { TargetRec } from "../model.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import {
  type StandinContext, idParam, optionalBoolean, optionalString, originOf, pageParams, requireArray, requireObject,
  requireString, userOf,
} from "./context.js";

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
    res.status(200).end();
  });

  r.get("/targets/:controllerId/attributes", (req, res) => {
    res.json(store.target(req.params.controllerId).attributes);
  });

  r.get("/targets/:controllerId/actions", (req, res) => {
    const target = store.target(req.params.controllerId);
    const base = originOf(req);
    res.json(pagedBody(page(store.actionsOf(target.controllerId), pageParams(req), actionFields(store)), (a) => rep.action(base, store, a)));
  });

  const actionOfTarget = (controllerId: string, actionId: number) => {
    const target = store.target(controllerId);
    const action = store.action(actionId);
    if (action.controllerId !== target.controllerId) throw notFound("Action", actionId);
    return action;
  };

  r.get("/targets/:controllerId/actions/:actionId", (req, res) => {
    res.json(rep.action(originOf(req), store, actionOfTarget(req.params.controllerId, idParam(req, "actionId"))));
  });

  // hawkBit moves an open action to CANCELING; the device confirms through the DDI cancelAction resource.
  r.delete("/targets/:controllerId/actions/:actionId", async (req, res) => {
    const action = actionOfTarget(req.params.controllerId, idParam(req, "actionId"));
    // force=true quits an action that is already being cancelled, without waiting for the device.
    if (String(req.query.force) === "true") {
      if (!action.active || action.status !== "canceling") throw forceQuitNotAllowed(action.id);
      const target = store.target(action.controllerId);
      action.status = "canceled";
      action.active = false;
      action.history.push({ id: store.nextId("actionStatus"), status: "canceled", reportedAt: Date.now(), messages: ["A force quit has been performed."] });
      target.assignedDistributionSetId = target.installedDistributionSetId;
      target.updateStatus = target.installedDistributionSetId === undefined ? "registered" : "in_sync";
      store.touch(action, userOf(res));
      await ctx.commit();
      res.status(204).end();
      return;
    }
    if (!action.active || action.status === "canceling") throw actionNotCancelable(action.id);
    action.status = "canceling";
    action.history.push({ id: store.nextId("actionStatus"), status: "canceling", reportedAt: Date.now(), messages: ["Cancellation requested"] });
    store.touch(action, userOf(res));
    await ctx.commit();
    res.status(204).end();
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
    res.status(200).end();
  });

  r.post("/targets/:controllerId/autoConfirm/deactivate", async (req, res) => {
    const target = store.target(req.params.controllerId);
    target.autoConfirm = undefined;
    store.touch(target, userOf(res));
    await ctx.commit();
    res.status(200).end();
  });

  return r;
}
