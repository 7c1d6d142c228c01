// Tenant configuration (/system/configs): the switches that change hawkBit's behaviour per tenant, such as the
// rollout approval workflow and the user-consent (confirmation) flow. Only known keys are accepted.
import { Router } from "express";
import { constraintViolation, notFound } from "../errors.js";
import { APPROVAL_ENABLED, CONFIRMATION_FLOW_ENABLED } from "../rollout-engine.js";
import { type StandinContext, requireObject, userOf } from "./context.js";

/** Keys and their global defaults, as hawkBit ships them. */
const DEFAULTS: Record<string, unknown> = {
  [APPROVAL_ENABLED]: false,
  [CONFIRMATION_FLOW_ENABLED]: false,
  "pollingTime": "00:05:00",
  "pollingOverdueTime": "00:05:00",
  "maintenanceWindowPollCount": 3,
  "multi.assignments.enabled": false,
};

export function systemRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const r = Router();

  const render = (key: string) => {
    const entry = store.state.tenantConfig?.[key];
    if (!entry) return { value: DEFAULTS[key], global: true };
    return { value: entry.value, global: false, lastModifiedAt: entry.lastModifiedAt, lastModifiedBy: entry.lastModifiedBy,
      createdAt: entry.createdAt, createdBy: entry.createdBy };
  };
  const known = (key: string): string => {
    if (!(key in DEFAULTS)) throw notFound("TenantConfiguration", key);
    return key;
  };

  r.get("/system/configs", (_req, res) => {
    res.json(Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, render(k)])));
  });

  r.get("/system/configs/:keyName", (req, res) => {
    res.json(render(known(req.params.keyName)));
  });

  r.put("/system/configs/:keyName", async (req, res) => {
    const key = known(req.params.keyName);
    const body = requireObject(req.body);
    if (!("value" in body)) throw constraintViolation("value must not be null");
    if (typeof DEFAULTS[key] === "boolean" && typeof body.value !== "boolean") throw constraintViolation(`${key} takes a boolean`);
    const user = userOf(res);
    store.state.tenantConfig ??= {};
    const previous = store.state.tenantConfig[key];
    store.state.tenantConfig[key] = previous
      ? { ...previous, value: body.value, lastModifiedAt: Date.now(), lastModifiedBy: user }
      : { value: body.value, ...store.audit(user) };
    await ctx.commit();
    res.json(render(key));
  });

  r.delete("/system/configs/:keyName", async (req, res) => {
    const key = known(req.params.keyName);
    if (store.state.tenantConfig) delete store.state.tenantConfig[key];
    await ctx.commit();
    res.status(200).end();
  });

  return r;
}
