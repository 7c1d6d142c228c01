// Authorization against the OpenAPI document: every operation of /openapi.json is called without credentials
// (401 with WWW-Authenticate), with a token of each role lacking its x-aerie-permission (403), and with one
// holding it (neither 401 nor 403). Then OIDC bearer JWTs from a local issuer (discovery + JWKS over HTTP,
// keys made with jose): roles from a nested claim, and refusals for a wrong audience, issuer, key or expiry.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { PERMISSIONS, ROLES, type Permission, type Role } from "../../api/auth/permissions.js";
import { stat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { bootstrapAdminToken } from "../../api/auth/bootstrap.js";
import { TokenStore } from "../../api/auth/tokens.js";
import { main } from "../../cli/aerie.js";
import { tempDir } from "../helpers/env.js";
import { AerieClient } from "../../scripts/lib/aerie-client.js";
import { type CampaignHarness, startCampaignHarness } from "../campaigns/harness.js";

const METHODS = ["get", "put", "post", "delete", "patch"];
const SAMPLE: Record<string, string> = { id: "00000000-0000-4000-8000-000000000000", controllerId: "walk-device", name: "walk-group" };

interface Operation {
  method: string;
  path: string;
  permission: Permission | null;
}

async function call(base: string, op: Operation, token?: string): Promise<Response> {
  const url = base + op.path.replace(/\{(\w+)\}/g, (_m, name: string) => SAMPLE[name] ?? "x");
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const body = op.method === "get" || op.method === "delete" ? undefined : "{}";
  if (body) headers["content-type"] = "application/json";
  const response = await fetch(url, { method: op.method.toUpperCase(), headers, body });
  // Only the status matters; some answers (GET /api/v1/events) are endless streams.
  await response.body?.cancel();
  return response;
}

describe("API: every operation needs the permission its OpenAPI entry declares", function () {
  this.timeout(300_000);
  let h: CampaignHarness;
  const tokens = new Map<Role, string>();
  let operations: Operation[] = [];

  before(async () => {
    // Every operation is called anonymously and with a forged token: far more failed authentications than the default allows.
    h = await startCampaignHarness({ http: { authFailuresPerMinute: 100_000 } });
    for (const role of ROLES) {
      const created = await h.api.request<{ token: string; role: string }>("POST", "/api/v1/tokens", { name: `walk-${role}`, role, expires: "1h" });
      expect(created.token).to.match(/^aerie_/);
      tokens.set(role, created.token);
    }
    const doc = await h.api.request<{ paths: Record<string, Record<string, { "x-aerie-permission"?: Permission | null; security?: unknown[] }>> }>("GET", "/openapi.json");
    operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).map((method) => {
        const op = item[method]!;
        expect(op, `${method} ${path} declares x-aerie-permission`).to.have.property("x-aerie-permission");
        return { method, path, permission: op["x-aerie-permission"] ?? null };
      }));
  });

  after(async () => {
    await h?.dispose();
  });

  it("documents a permission (or none) for every operation, and only known ones", () => {
    expect(operations.length).to.be.greaterThan(35);
    for (const op of operations) if (op.permission) expect(PERMISSIONS, `${op.method} ${op.path}`).to.have.property(op.permission);
    const open = operations.filter((op) => !op.permission).map((op) => `${op.method} ${op.path}`);
    expect(open.sort()).to.deep.equal(["get /healthz", "get /readyz"]);
  });

  it("401 without credentials, 403 for each role lacking the permission, neither for one holding it", async () => {
    const failures: string[] = [];
    for (const op of operations) {
      const name = `${op.method.toUpperCase()} ${op.path}`;
      const anonymous = await call(h.apiUrl, op);
      if (!op.permission) {
        if ([401, 403].includes(anonymous.status)) failures.push(`${name}: open, but anonymous got ${anonymous.status}`);
        continue;
      }
      if (anonymous.status !== 401) failures.push(`${name}: anonymous got ${anonymous.status}, expected 401`);
      else if (!anonymous.headers.get("www-authenticate")?.startsWith("Bearer")) failures.push(`${name}: 401 without WWW-Authenticate: Bearer`);
      const forged = await call(h.apiUrl, op, "aerie_" + "A".repeat(43));
      if (forged.status !== 401) failures.push(`${name}: an unknown token got ${forged.status}, expected 401`);
      const holders: readonly Role[] = PERMISSIONS[op.permission];
      for (const role of ROLES) {
        const status = (await call(h.apiUrl, op, tokens.get(role))).status;
        if (holders.includes(role) && [401, 403].includes(status)) failures.push(`${name}: ${role} holds ${op.permission} but got ${status}`);
        if (!holders.includes(role) && status !== 403) failures.push(`${name}: ${role} lacks ${op.permission} but got ${status}`);
      }
    }
    expect(failures).to.deep.equal([]);
    // Denials are audited under the token's id, never a header's claim.
    const viewerId = (await new AerieClient(h.apiUrl, tokens.get("viewer")).request<{ id: string }>("GET", "/api/v1/me")).id;
    expect(await h.db.auditEvent.count({ where: { action: "access.denied", actor: viewerId } })).to.be.greaterThan(10);
  });

  it("ignores X-Aerie-User: the audit actor is the token", async () => {
    const operator = new AerieClient(h.apiUrl, tokens.get("operator"));
    const me = await operator.request<{ id: string; roles: string[]; permissions: string[] }>("GET", "/api/v1/me");
    expect(me.roles).to.deep.equal(["operator"]);
    expect(me.permissions).to.include("campaigns:operate").and.not.include("campaigns:approve");
    const response = await fetch(`${h.apiUrl}/api/v1/tokens`, { headers: { authorization: `Bearer ${tokens.get("operator")}`, "x-aerie-user": "admin" } });
    expect(response.status).to.equal(403);
    const denial = await h.db.auditEvent.findFirst({ where: { action: "access.denied", subject: "GET /api/v1/tokens" }, orderBy: { id: "desc" } });
    expect(denial?.actor).to.equal(me.id).and.match(/^token:/);
  });

  it("lists tokens without secrets, refuses revoked and expired ones", async () => {
    const list = await h.api.request<{ id: string; name: string; lastUsedAt: string | null }[]>("GET", "/api/v1/tokens");
    expect(JSON.stringify(list)).to.not.contain("aerie_").and.not.contain("secretHash");
    expect(list.find((t) => t.name === "walk-viewer")?.lastUsedAt).to.be.a("string");
    const short = await h.api.request<{ id: string; token: string }>("POST", "/api/v1/tokens", { name: "short", role: "viewer", expires: "1m" });
    const client = new AerieClient(h.apiUrl, short.token);
    await client.request("GET", "/api/v1/me");
    await h.api.request("DELETE", `/api/v1/tokens/${short.id}`, undefined, [204]);
    expect((await fetch(`${h.apiUrl}/api/v1/me`, { headers: client.authorization })).status).to.equal(401);
    const old = await h.api.request<{ id: string; token: string }>("POST", "/api/v1/tokens", { name: "old", role: "viewer", expires: "1m" });
    await h.db.apiToken.update({ where: { id: old.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await fetch(`${h.apiUrl}/api/v1/me`, { headers: { authorization: `Bearer ${old.token}` } })).status).to.equal(401);
    const stored = await h.db.apiToken.findUnique({ where: { id: old.id } });
    expect(stored?.secretHash).to.match(/^[0-9a-f]{64}$/).and.not.equal(old.token);
    const bad = await fetch(`${h.apiUrl}/api/v1/tokens`, { method: "POST", headers: { ...h.api.authorization, "content-type": "application/json" }, body: JSON.stringify({ name: "x", role: "root" }) });
    expect(bad.status).to.equal(400);
    expect(await bad.text()).to.contain("role");
  });
});

describe("CLI: aerie tokens", function () {
  this.timeout(120_000);
  let h: CampaignHarness;

  async function aerie(...args: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const [log, err] = [console.log, console.error];
    console.log = (...parts: unknown[]) => void lines.push(parts.join(" "));
    console.error = () => {};
    try {
      return { code: await main(["tokens", ...args, "--url", h.apiUrl, "--token", h.adminToken]), out: lines.join("\n") };
    } finally {
      [console.log, console.error] = [log, err];
    }
  }

  before(async () => {
    h = await startCampaignHarness();
  });
  after(async () => {
    await h?.dispose();
  });

  it("creates (shown once), lists and revokes tokens", async () => {
    const created = await aerie("create", "--role", "operator", "--expires", "30d", "--name", "ci");
    expect(created.code).to.equal(0);
    expect(created.out).to.match(/^aerie_[A-Za-z0-9_-]{43}$/);
    const me = await new AerieClient(h.apiUrl, created.out).request<{ roles: string[]; expiresAt: string }>("GET", "/api/v1/me");
    expect(me.roles).to.deep.equal(["operator"]);
    expect(new Date(me.expiresAt).getTime() - Date.now()).to.be.within(29 * 86400_000, 30 * 86400_000 + 60_000);
    const listed = await aerie("list");
    expect(listed.out).to.contain("ci").and.contain("operator").and.not.contain(created.out);
    const id = listed.out.split("\n").find((line) => line.includes(" ci "))!.split(" ")[0]!;
    expect((await aerie("revoke", id)).code).to.equal(0);
    expect((await fetch(`${h.apiUrl}/api/v1/me`, { headers: { authorization: `Bearer ${created.out}` } })).status).to.equal(401);
    expect((await aerie("create", "--role", "root")).code).to.equal(1);
  });

  it("bootstrap: the first start creates an admin token, prints it once and keeps it 0600; a revoked one stays revoked", async () => {
    const dir = await tempDir();
    try {
      const printed: string[] = [];
      const store = new TokenStore(h.db);
      // The harness's own admin token is a bootstrap token too: this test starts from none (and ends this harness's use).
      await h.db.apiToken.deleteMany({ where: { name: "bootstrap-admin" } });
      const first = await bootstrapAdminToken(store, dir.path, undefined, (t) => printed.push(t));
      expect(first).to.match(/^aerie_/);
      expect(printed.join("")).to.contain(first!);
      const file = join(dir.path, "secrets.json");
      expect((await stat(file)).mode & 0o777).to.equal(0o600);
      expect(JSON.parse(await readFile(file, "utf8")).adminToken).to.equal(first);
      expect(await bootstrapAdminToken(store, dir.path, undefined, (t) => printed.push(t))).to.equal(first);
      expect(printed).to.have.length(1);
      const me = await new AerieClient(h.apiUrl, first).request<{ roles: string[] }>("GET", "/api/v1/me");
      expect(me.roles).to.deep.equal(["admin"]);
      const row = await h.db.apiToken.findFirstOrThrow({ where: { name: "bootstrap-admin" } });
      await new AerieClient(h.apiUrl, first).request("DELETE", `/api/v1/tokens/${row.id}`, undefined, [204]);
      await bootstrapAdminToken(store, dir.path, undefined, (t) => printed.push(t));
      expect((await fetch(`${h.apiUrl}/api/v1/me`, { headers: { authorization: `Bearer ${first}` } })).status).to.equal(401);
    } finally {
      await dir.remove();
    }
  });
});

describe("API: OIDC bearer JWTs", function () {
  this.timeout(180_000);
  let h: CampaignHarness;
  let idp: Server;
  let issuer: string;
  let key: CryptoKey;
  let otherKey: CryptoKey;

  async function jwt(claims: Record<string, unknown>, opts: { iss?: string; aud?: string; exp?: string | number; signWith?: CryptoKey } = {}) {
    return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "k1" }).setSubject("alice-sub").setIssuedAt()
      .setIssuer(opts.iss ?? issuer).setAudience(opts.aud ?? "aerie-api").setExpirationTime(opts.exp ?? "5m").sign(opts.signWith ?? key);
  }
  const me = (token: string) => fetch(`${h.apiUrl}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    const pair = await generateKeyPair("RS256");
    key = pair.privateKey;
    otherKey = (await generateKeyPair("RS256")).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    idp = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      if (req.url === "/realms/fleet/.well-known/openid-configuration") res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/protocol/openid-connect/certs` }));
      else if (req.url === "/realms/fleet/protocol/openid-connect/certs") res.end(JSON.stringify({ keys: [jwk] }));
      else res.writeHead(404).end("{}");
    });
    await new Promise<void>((resolve) => idp.listen(0, "127.0.0.1", resolve));
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/realms/fleet`;
    h = await startCampaignHarness({ auth: { oidc: { issuer, audience: "aerie-api", rolesClaim: "realm_access.roles" } } });
  });

  after(async () => {
    await h?.dispose();
    await new Promise((resolve) => idp?.close(resolve));
  });

  it("takes the principal and roles from a valid token (Keycloak's realm_access.roles)", async () => {
    const response = await me(await jwt({ preferred_username: "alice", realm_access: { roles: ["operator", "offline_access"] } }));
    expect(response.status).to.equal(200);
    const body = (await response.json()) as { id: string; kind: string; name: string; roles: string[] };
    expect(body).to.include({ id: "oidc:alice-sub", kind: "oidc", name: "alice" });
    expect(body.roles).to.deep.equal(["operator"]);
    const denied = await fetch(`${h.apiUrl}/api/v1/campaigns/${SAMPLE.id}/approve`, { method: "POST", headers: { authorization: `Bearer ${await jwt({ realm_access: { roles: ["operator"] } })}` } });
    expect(denied.status).to.equal(403);
    const event = await h.db.auditEvent.findFirst({ where: { action: "access.denied", actor: "oidc:alice-sub" } });
    expect(event?.subject).to.equal(`POST /api/v1/campaigns/${SAMPLE.id}/approve`);
  });

  it("refuses a wrong audience, a wrong issuer, an expired token and a foreign key with 401", async () => {
    const roles = { realm_access: { roles: ["admin"] } };
    expect((await me(await jwt(roles, { aud: "someone-else" }))).status).to.equal(401);
    expect((await me(await jwt(roles, { iss: "http://127.0.0.1:1/realms/evil" }))).status).to.equal(401);
    expect((await me(await jwt(roles, { exp: Math.floor(Date.now() / 1000) - 120 }))).status).to.equal(401);
    expect((await me(await jwt(roles, { signWith: otherKey }))).status).to.equal(401);
    expect((await me("not.a.jwt")).status).to.equal(401);
    // Valid, but without any Aerie role: authenticated, allowed nothing.
    expect((await me(await jwt({ realm_access: { roles: ["offline_access"] } }))).status).to.equal(403);
    expect((await me(await jwt(roles))).status).to.equal(200);
  });
});
