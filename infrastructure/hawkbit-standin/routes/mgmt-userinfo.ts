// GET /rest/v1/userinfo, as hawkBit 1.1.0 MgmtBasicAuthResource.validateBasicAuth: the tenant, the authenticated user
// and its authorities. The stand-in's one user has every permission (SpPermission.getAllAuthorities).
import { Router } from "express";
import { type StandinContext, userOf } from "./context.js";

const GROUPS = ["TARGET", "TARGET_TYPE", "SOFTWARE_MODULE", "SOFTWARE_MODULE_TYPE", "DISTRIBUTION_SET", "DISTRIBUTION_SET_TYPE", "ROLLOUT", "TENANT_CONFIGURATION"];
const ALL_PERMISSIONS = [
  ...GROUPS.flatMap((g) => ["CREATE_", "READ_", "UPDATE_", "DELETE_"].map((p) => `${p}${g}`)),
  "READ_TARGET_SECURITY_TOKEN", "READ_GATEWAY_SECURITY_TOKEN", "READ_SOFTWARE_MODULE_ARTIFACT", "APPROVE_ROLLOUT", "HANDLE_ROLLOUT",
  "TENANT_CONFIGURATION",
];

export function userInfoRoutes(ctx: StandinContext): Router {
  const r = Router();
  r.get("/userinfo", (_req, res) => {
    res.json({ tenant: ctx.tenant, username: userOf(res), permissions: ALL_PERMISSIONS });
  });
  return r;
}
