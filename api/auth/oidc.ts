// OIDC bearer JWTs as Keycloak, Dex or any IdP issues them: the issuer's discovery document names its JWKS,
// jose verifies signature, issuer, audience and expiry, and the roles come from a configurable claim (a
// dotted path such as realm_access.roles for Keycloak). Unknown role names are ignored.
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import { logger } from "../../core/log.js";
import type { Principal } from "./principal.js";
import { type Role, isRole } from "./permissions.js";

const log = logger("oidc");

export interface OidcSettings {
  issuer: string;
  audience: string;
  /** Claim holding the roles, dotted for nested claims; default "roles". */
  rolesClaim?: string;
  /** The JWKS URL, when the issuer publishes no discovery document. */
  jwksUrl?: string;
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

export function rolesFrom(payload: JWTPayload, claim: string): Role[] {
  const raw = claimAt(payload, claim);
  const values = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(/[\s,]+/) : [];
  return [...new Set(values.filter(isRole))];
}

export class OidcVerifier {
  private jwks?: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly settings: OidcSettings) {}

  private async keySet() {
    if (this.jwks) return this.jwks;
    let url = this.settings.jwksUrl;
    if (!url) {
      const discovery = `${this.settings.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
      const response = await fetch(discovery, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`OIDC discovery ${discovery} answered ${response.status}`);
      url = ((await response.json()) as { jwks_uri?: string }).jwks_uri;
      if (!url) throw new Error(`OIDC discovery ${discovery} names no jwks_uri`);
    }
    this.jwks = createRemoteJWKSet(new URL(url));
    return this.jwks;
  }

  /** The principal of a valid JWT, or undefined (the reason is logged at debug level, never the token). */
  async verify(jwt: string): Promise<Principal | undefined> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, await this.keySet(), { issuer: this.settings.issuer, audience: this.settings.audience }));
    } catch (error) {
      log.debug({ reason: (error as Error).message }, "OIDC token refused");
      return undefined;
    }
    if (!payload.sub) return undefined;
    const name = [payload.preferred_username, payload.email, payload.sub].find((v): v is string => typeof v === "string") ?? payload.sub;
    return {
      id: `oidc:${payload.sub}`, kind: "oidc", name, roles: rolesFrom(payload, this.settings.rolesClaim ?? "roles"),
      expiresAt: payload.exp ? new Date(payload.exp * 1000) : undefined,
    };
  }
}
