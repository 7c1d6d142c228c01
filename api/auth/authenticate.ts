// Authentication of every API request: "Authorization: Bearer <secret>" with an API token (aerie_…) or an
// OIDC JWT. Without valid credentials the answer is 401 with WWW-Authenticate (RFC 6750); the request never
// reaches a route. Authorization (which permission a route needs) is allow() in ./allow.ts.
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { OidcVerifier } from "./oidc.js";
import type { Principal } from "./principal.js";
import { looksLikeApiToken, type TokenStore } from "./tokens.js";

export interface Authenticator {
  /** The principal of an Authorization header value, or undefined. */
  identify(authorization: string | undefined): Promise<Principal | undefined>;
  /** Express middleware: sets req.principal or answers 401. */
  middleware: RequestHandler;
}

function unauthorized(res: Response, error: "invalid_request" | "invalid_token", message: string): void {
  const challenge = error === "invalid_request" ? `Bearer realm="aerie"` : `Bearer realm="aerie", error="invalid_token"`;
  res.status(401).set("WWW-Authenticate", challenge).set("Cache-Control", "no-store")
    .json({ error: { status: 401, code: "unauthorized", message } });
}

export function createAuthenticator(tokens: TokenStore, oidc?: OidcVerifier): Authenticator {
  const identify = async (authorization: string | undefined): Promise<Principal | undefined> => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) return undefined;
    const secret = match[1]!;
    if (looksLikeApiToken(secret)) return tokens.verify(secret);
    if (oidc && secret.split(".").length === 3) return oidc.verify(secret);
    return undefined;
  };
  const middleware = async (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (!header) {
      unauthorized(res, "invalid_request", "authentication required: send Authorization: Bearer <API token or OIDC access token>");
      return;
    }
    const principal = await identify(header);
    if (!principal) {
      unauthorized(res, "invalid_token", "the bearer token is unknown, revoked, expired or not valid for this API");
      return;
    }
    req.principal = principal;
    next();
  };
  return { identify, middleware };
}
