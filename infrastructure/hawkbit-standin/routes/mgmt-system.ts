// Tenant configuration (/system/configs), as hawkBit 1.1.0 MgmtTenantManagementResource serves it: every known key with
// its value (the tenant's, else the global default, `global: true`), single and bulk updates (204), and deletion back to
// the default. Keys and types are in tenant-config.ts; an unknown key is a 400 (InvalidTenantConfigurationKeyException).
import { Router } from "express";
import { HawkbitHttpError, constraintViolation, notFound } from "../errors.js";
import { DEFAULT_DS_TYPE_KEY } from "../store.js";
import { DEFAULT_DS_TYPE, TENANT_CONFIG_KEYS, type TenantConfigValue, configValue, keyDef, setConfig } from "../tenant-config.js";
import { type StandinContext, originOf, requireObject, userOf } from "./context.js";

export function systemRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const r = Router();
  const limits = ctx.pollingDefaults;

  /** MgmtTenantManagementMapper.toResponseTenantConfigurationValue, with its self link. */
  const render = (base: string, key: string) => {
    const v: TenantConfigValue = key === DEFAULT_DS_TYPE ? defaultDsType() : configValue(store, key, limits);
    return {
      value: v.value, global: v.global, lastModifiedAt: v.lastModifiedAt, lastModifiedBy: v.lastModifiedBy,
      createdAt: v.createdAt, createdBy: v.createdBy,
      _links: { self: { href: `${base}/rest/v1/system/configs/${encodeURIComponent(key)}` } },
    };
  };

  /** The tenant metadata's default distribution set type (MgmtTenantManagementMapper.toResponseDefaultDsType). */
  const defaultDsType = (): TenantConfigValue => {
    const id = store.state.defaultDsTypeId ?? store.distributionSetTypeByKey(DEFAULT_DS_TYPE_KEY)?.id ?? 0;
    return { value: id, global: false };
  };

  const setDefaultDsType = (value: unknown): void => {
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw new HawkbitHttpError(400, "org.eclipse.hawkbit.repository.exception.TenantConfigurationValidatorException", "hawkbit.server.error.configValueInvalid",
        `Default DistributionSetType Value Type is incorrect. Expected Long, received ${typeof value}`);
    }
    store.state.defaultDsTypeId = store.distributionSetType(value).id;
  };

  r.get("/system/configs", (req, res) => {
    const base = originOf(req);
    res.json(Object.fromEntries([...TENANT_CONFIG_KEYS, DEFAULT_DS_TYPE].map((k) => [k, render(base, k)])));
  });

  r.get("/system/configs/:keyName", (req, res) => {
    const key = req.params.keyName;
    if (key !== DEFAULT_DS_TYPE) keyDef(key);
    res.json(render(originOf(req), key));
  });

  r.put("/system/configs/:keyName", async (req, res) => {
    const key = req.params.keyName;
    const body = requireObject(req.body);
    if (body.value === undefined || body.value === null) throw constraintViolation("value must not be null");
    if (key === DEFAULT_DS_TYPE) setDefaultDsType(body.value);
    else setConfig(store, key, body.value, userOf(res), limits);
    await ctx.commit();
    res.status(204).end();
  });

  // MgmtTenantManagementResource.updateTenantConfiguration: all keys are checked and converted before any is written.
  r.put("/system/configs", async (req, res) => {
    const body = requireObject(req.body);
    const user = userOf(res);
    const entries = Object.entries(body);
    for (const [key, value] of entries) {
      if (value === null || value === undefined) throw constraintViolation(`value of ${key} must not be null`);
      if (key !== DEFAULT_DS_TYPE) keyDef(key);
    }
    // Validate every value on a copy first: a bad value leaves nothing half-written.
    const before = structuredClone(store.state.tenantConfig ?? {});
    const beforeDs = store.state.defaultDsTypeId;
    try {
      for (const [key, value] of entries) {
        if (key === DEFAULT_DS_TYPE) setDefaultDsType(value);
        else setConfig(store, key, value, user, limits);
      }
    } catch (err) {
      store.state.tenantConfig = before;
      store.state.defaultDsTypeId = beforeDs;
      throw err;
    }
    await ctx.commit();
    res.status(204).end();
  });

  r.delete("/system/configs/:keyName", async (req, res) => {
    const key = req.params.keyName;
    // "Default DistributionSet Type cannot be deleted as is part of TenantMetadata".
    if (key === DEFAULT_DS_TYPE) throw notFound("Configuration key", key);
    keyDef(key);
    if (store.state.tenantConfig) delete store.state.tenantConfig[key];
    await ctx.commit();
    res.status(204).end();
  });

  return r;
}
