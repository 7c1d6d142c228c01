// hawkBit's two authentication schemes: HTTP Basic for the Management API, and for DDI either the tenant's
// gateway token or the target's own security token.
import { timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler } from "express";
import type { DdiAuthSettings } from "./tenant-config.js";

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function unauthorized(res: Parameters<RequestHandler>[1], realm: string): void {
  res.status(401).set("WWW-Authenticate", `Basic realm="${realm}"`).end();
}

export function basicAuth(username: string, password: string): RequestHandler {
  return (req, res, next) => {
    const header = req.get("authorization") ?? "";
    const [scheme, encoded] = header.split(" ");
    if (scheme?.toLowerCase() === "basic" && encoded) {
      const decoded = Buffer.from(encoded, "base64").toString("utf8");
      const sep = decoded.indexOf(":");
      if (sep >= 0 && sameSecret(decoded.slice(0, sep), username) && sameSecret(decoded.slice(sep + 1), password)) {
        res.locals.user = username;
        return next();
      }
    }
    unauthorized(res, "hawkBit");
  };
}

export type DdiPrincipal = { kind: "gateway" } | { kind: "target"; controllerId: string };

/**
 * Reads the DDI credentials as hawkBit 1.1.0's DDI security does (GatewayTokenAuthenticator / SecurityTokenAuthenticator
 * in hawkbit-rest-core): `GatewayToken <key>` only while gateway-token authentication is enabled with a key,
 * `TargetToken <token>` only while target-token authentication is enabled, against the target's own security token.
 */
export function ddiPrincipal(
  req: Request,
  settings: DdiAuthSettings,
  targetToken: (controllerId: string) => string | undefined,
): DdiPrincipal | undefined {
  const header = req.get("authorization") ?? "";
  const sep = header.indexOf(" ");
  if (sep < 0) return undefined;
  const scheme = header.slice(0, sep).toLowerCase();
  const token = header.slice(sep + 1).trim();
  if (scheme === "gatewaytoken" && settings.gatewayToken !== undefined && sameSecret(token, settings.gatewayToken)) return { kind: "gateway" };
  if (scheme === "targettoken" && settings.targetToken) {
    const controllerId = String(req.params.controllerId);
    const expected = targetToken(controllerId);
    if (expected !== undefined && expected !== "" && sameSecret(token, expected)) return { kind: "target", controllerId };
  }
  return undefined;
}
