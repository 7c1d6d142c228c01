// API tokens for automation and operators without an IdP: a random secret shown once, stored only as its
// sha256 (a database dump lets nobody in), with role, name, expiry and last-used time. The "aerie_" prefix
// lets secret scanners (e.g. GitHub's) recognise a leaked token.
import { createHash, randomBytes } from "node:crypto";
import type { Database } from "../../core/db/prisma.js";
import type { Principal } from "./principal.js";
import { type Role, isRole } from "./permissions.js";

export const TOKEN_PREFIX = "aerie_";
const TOKEN_FORM = /^aerie_[A-Za-z0-9_-]{43}$/;

export const hashSecret = (secret: string): string => createHash("sha256").update(secret).digest("hex");
export const newSecret = (): string => `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
export const looksLikeApiToken = (value: string): boolean => value.startsWith(TOKEN_PREFIX);

export interface TokenView {
  id: string;
  name: string;
  role: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const VIEW = { id: true, name: true, role: true, createdBy: true, createdAt: true, expiresAt: true, lastUsedAt: true, revokedAt: true } as const;

/** "30d", "12h", "90m", or whole seconds; undefined: never expires. */
export function parseExpiry(value: string, now = new Date()): Date {
  const match = /^(\d{1,6})([smhdw]?)$/.exec(value.trim());
  if (!match) throw new Error("expires must be a duration such as 30d, 12h, 90m or 3600 (seconds)");
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[match[2] as "" | "s" | "m" | "h" | "d" | "w"];
  const seconds = Number(match[1]) * unit;
  if (seconds < 60) throw new Error("expires must be at least one minute");
  return new Date(now.getTime() + seconds * 1000);
}

export class TokenStore {
  /** last-used is written at most this often per token, so every request does not cost a write. */
  private readonly touched = new Map<string, number>();

  constructor(private readonly db: Database, private readonly touchEveryMs = 60_000) {}

  async create(input: { name: string; role: Role; expiresAt?: Date; createdBy: string }): Promise<{ token: string; view: TokenView }> {
    const token = newSecret();
    const view = await this.db.apiToken.create({
      data: { name: input.name, role: input.role, secretHash: hashSecret(token), expiresAt: input.expiresAt ?? null, createdBy: input.createdBy },
      select: VIEW,
    });
    return { token, view };
  }

  list(): Promise<TokenView[]> {
    return this.db.apiToken.findMany({ orderBy: { createdAt: "asc" }, select: VIEW });
  }

  get(id: string): Promise<TokenView | null> {
    return this.db.apiToken.findUnique({ where: { id }, select: VIEW });
  }

  /** Marks the token revoked; false when there is no such token or it was revoked before. */
  async revoke(id: string): Promise<boolean> {
    const { count } = await this.db.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    return count === 1;
  }

  /** The principal of a presented secret, or undefined when unknown, revoked or expired. */
  async verify(secret: string): Promise<Principal | undefined> {
    if (!TOKEN_FORM.test(secret)) return undefined;
    const row = await this.db.apiToken.findUnique({ where: { secretHash: hashSecret(secret) } });
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= Date.now()) || !isRole(row.role)) return undefined;
    const last = this.touched.get(row.id) ?? 0;
    if (Date.now() - last > this.touchEveryMs) {
      this.touched.set(row.id, Date.now());
      await this.db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
    }
    return { id: `token:${row.id}`, kind: "token", name: row.name, roles: [row.role], expiresAt: row.expiresAt ?? undefined };
  }

  /**
   * The bootstrap admin token (api/auth/bootstrap.ts) with a known secret: created, or its secret replaced
   * and un-revoked when the operator sets AERIE_BOOTSTRAP_TOKEN to a new value.
   */
  async ensureBootstrap(secret: string): Promise<void> {
    const hash = hashSecret(secret);
    const existing = await this.db.apiToken.findFirst({ where: { name: BOOTSTRAP_NAME, createdBy: "aerie" } });
    if (!existing) {
      await this.db.apiToken.create({ data: { name: BOOTSTRAP_NAME, role: "admin", secretHash: hash, createdBy: "aerie" } });
    } else if (existing.secretHash !== hash || existing.revokedAt) {
      await this.db.apiToken.update({ where: { id: existing.id }, data: { secretHash: hash, revokedAt: null, role: "admin" } });
    }
  }

  /** For a secret kept in secrets.json: the row is created when missing, but a revoked one stays revoked. */
  async ensureBootstrapIfPresent(secret: string): Promise<void> {
    if (!(await this.hasBootstrap())) await this.ensureBootstrap(secret);
  }

  async hasBootstrap(): Promise<boolean> {
    return (await this.db.apiToken.count({ where: { name: BOOTSTRAP_NAME, createdBy: "aerie" } })) > 0;
  }
}

export const BOOTSTRAP_NAME = "bootstrap-admin";
