// API tokens over the API (admin): create (the secret is in this answer only), list, revoke. And /me: who
// the caller is and what it may do, for the dashboard and `aerie tokens`.
import { Router } from "express";
import type { Database } from "../../core/db/prisma.js";
import { audit } from "../audit.js";
import { allow } from "../auth/allow.js";
import { PERMISSIONS, type Permission, ROLES, isRole } from "../auth/permissions.js";
import { can, principalOf } from "../auth/principal.js";
import { parseExpiry, type TokenStore } from "../auth/tokens.js";
import { badRequest, notFound } from "../http-error.js";
import { compile, parseBody } from "../validation.js";
import { actorOf, present, uuidParam } from "./common.js";

export const tokenInputSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "role"],
  properties: {
    name: { type: "string", minLength: 1, maxLength: 100, pattern: "^[^\\u0000-\\u001f]+$" },
    role: { type: "string", enum: [...ROLES] },
    expires: { type: "string", pattern: "^\\d{1,6}[smhdw]?$", description: "Lifetime: 30d, 12h, 90m, 2w or seconds; unset: never expires" },
  },
} as const;

const validateToken = compile<{ name: string; role: string; expires?: string }>(tokenInputSchema);

export function tokenRoutes(db: Database, tokens: TokenStore): Router {
  const router = Router();
  router.post("/", allow("tokens:manage"), async (req, res) => {
    const input = parseBody(validateToken, req.body);
    if (!isRole(input.role)) throw badRequest(`role must be one of ${ROLES.join(", ")}`);
    let expiresAt: Date | undefined;
    try {
      expiresAt = input.expires ? parseExpiry(input.expires) : undefined;
    } catch (error) {
      throw badRequest((error as Error).message);
    }
    const { token, view } = await tokens.create({ name: input.name, role: input.role, expiresAt, createdBy: actorOf(req) });
    await audit(db, actorOf(req), "token.create", `token:${view.id}`, { name: view.name, role: view.role, expiresAt: view.expiresAt });
    res.status(201).set("Cache-Control", "no-store").json(present({ ...view, token }));
  });
  router.get("/", allow("tokens:manage"), async (_req, res) => {
    res.json(present(await tokens.list()));
  });
  router.delete("/:id", allow("tokens:manage"), async (req, res) => {
    const id = uuidParam(req.params.id, "token id");
    if (!(await tokens.revoke(id))) throw notFound(`active token ${id}`);
    await audit(db, actorOf(req), "token.revoke", `token:${id}`);
    res.status(204).end();
  });
  return router;
}

export function meRoutes(): Router {
  const router = Router();
  router.get("/", allow("read"), (req, res) => {
    const principal = principalOf(req);
    const permissions = (Object.keys(PERMISSIONS) as Permission[]).filter((p) => can(principal, p));
    res.json({ id: principal.id, kind: principal.kind, name: principal.name, roles: principal.roles, permissions, expiresAt: principal.expiresAt ?? null });
  });
  return router;
}
