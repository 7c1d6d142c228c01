// Tokens of the stand-in: the configured root token, and client tokens issued by AppRole login.
// Tokens are compared through their sha256 so the comparison is constant-time whatever their length.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";

export interface AppRoleCredentials {
  roleId: string;
  secretId: string;
}

const fingerprint = (value: string): Buffer => createHash("sha256").update(value).digest();
const same = (a: string, b: string): boolean => timingSafeEqual(fingerprint(a), fingerprint(b));

export class TokenRegistry {
  /** sha256(token) hex → expiry in ms since the epoch. */
  private readonly issued = new Map<string, number>();

  constructor(
    private readonly rootToken: string,
    private readonly appRole: AppRoleCredentials | undefined,
    private readonly tokenTtlSeconds: number,
  ) {}

  isValid(token: string | undefined): boolean {
    if (!token) return false;
    if (same(token, this.rootToken)) return true;
    const key = fingerprint(token).toString("hex");
    const expiry = this.issued.get(key);
    if (expiry === undefined) return false;
    if (expiry <= Date.now()) {
      this.issued.delete(key);
      return false;
    }
    return true;
  }

  /** Vault's AppRole login response `auth` block, or undefined when the credentials are wrong. */
  login(roleId: unknown, secretId: unknown): Record<string, unknown> | undefined {
    if (!this.appRole || typeof roleId !== "string" || typeof secretId !== "string") return undefined;
    if (!same(roleId, this.appRole.roleId) || !same(secretId, this.appRole.secretId)) return undefined;
    const token = `hvs.${randomBytes(24).toString("base64url")}`;
    this.issued.set(fingerprint(token).toString("hex"), Date.now() + this.tokenTtlSeconds * 1000);
    return {
      client_token: token,
      accessor: randomUUID(),
      policies: ["default", "aerie-signer"],
      token_policies: ["default", "aerie-signer"],
      metadata: { role_name: "aerie-signer" },
      lease_duration: this.tokenTtlSeconds,
      renewable: true,
      entity_id: "",
      token_type: "service",
      orphan: true,
    };
  }
}
