// HTTP hardening of the API, each piece from a well-kept library where one exists: helmet's security headers,
// CORS closed unless origins are listed (cors), rate limits on failed authentication and on changes
// (express-rate-limit, 429 with Retry-After), NUL characters refused wherever they could reach PostgreSQL
// (which cannot store them: a 500 before), artifact uploads capped (413), and server timeouts that let a
// multi-GiB upload finish but drop clients that dribble their headers.
import type { Server, ServerOptions } from "node:http";
import { Transform, type Readable } from "node:stream";
import cors from "cors";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { ipKeyGenerator, rateLimit } from "express-rate-limit";
import helmet from "helmet";
import { HttpError, badRequest } from "../http-error.js";

export interface HttpSettings {
  /** Origins allowed to call the API from a browser; none: no CORS headers at all. */
  corsOrigins?: string[];
  /** Failed authentications per client address per minute before 429. */
  authFailuresPerMinute?: number;
  /** Changing requests (POST, PUT, PATCH, DELETE) per principal per minute before 429. */
  mutationsPerMinute?: number;
  /** Largest artifact upload in bytes (413 beyond). */
  maxArtifactBytes?: number;
}

export const HTTP_DEFAULTS: Required<Omit<HttpSettings, "corsOrigins">> = { authFailuresPerMinute: 30, mutationsPerMinute: 600, maxArtifactBytes: 4 * 1024 ** 3 };

const WINDOW_MS = 60_000;

function tooMany(what: string) {
  return (_req: Request, res: Response) => {
    res.status(429).json({ error: { status: 429, code: "rate_limited", message: `too many ${what}; retry after ${res.getHeader("Retry-After") ?? "a while"} s` } });
  };
}

export function securityHeaders(): RequestHandler {
  // The API answers JSON; the dashboard (same origin) loads only its own scripts and styles.
  return helmet({ crossOriginResourcePolicy: { policy: "same-origin" } });
}

/** CORS for the listed origins only; without any, browsers on other origins get no access (and no preflight OK). */
export function corsPolicy(origins: string[] | undefined): RequestHandler | undefined {
  if (!origins?.length) return undefined;
  return cors({
    origin: origins, credentials: false, methods: ["GET", "POST", "PUT", "DELETE"], allowedHeaders: ["Authorization", "Content-Type"],
    exposedHeaders: ["Retry-After", "X-Total-Count", "Content-Disposition"], maxAge: 600,
  });
}

/** Counts only answers 401 per client address: a token cannot be guessed at speed, while valid callers are never slowed. */
export function authFailureLimiter(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: WINDOW_MS, limit: perMinute, standardHeaders: "draft-7", legacyHeaders: false,
    skipSuccessfulRequests: true, requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? "unknown"),
    handler: tooMany("failed authentications from this address"),
  });
}

/** Changes per principal (behind authenticate()); reads are not limited. */
export function mutationLimiter(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: WINDOW_MS, limit: perMinute, standardHeaders: "draft-7", legacyHeaders: false,
    skip: (req) => ["GET", "HEAD", "OPTIONS"].includes(req.method),
    keyGenerator: (req) => req.principal?.id ?? ipKeyGenerator(req.ip ?? "unknown"),
    handler: tooMany("changes by this principal"),
  });
}

const NUL = "\u0000";

/** The first JSON path (body.a[2].b) of a string or key holding NUL, or undefined. */
function nulPath(value: unknown, path: string, depth = 0): string | undefined {
  if (depth > 64) return undefined;
  if (typeof value === "string") return value.includes(NUL) ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      if (key.includes(NUL)) return `${path} key ${JSON.stringify(key)}`;
      const found = nulPath(inner, `${path}.${key}`, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw badRequest("path is not valid percent-encoding");
  }
}

/** NUL in the path or a query parameter: 400 naming it, before any route reads it. */
export function refuseNulInUrl(req: Request, _res: Response, next: NextFunction): void {
  if (decoded(req.path).includes(NUL)) throw badRequest("path must not contain NUL characters");
  const found = nulPath(req.query, "query");
  if (found) throw badRequest(`${found.replace(/^query\./, "query parameter ")} must not contain NUL characters`);
  next();
}

/** NUL in a JSON body (string or key): 400 naming the field. Runs after the JSON parser. */
export function refuseNulInBody(req: Request, _res: Response, next: NextFunction): void {
  const found = nulPath(req.body, "body");
  if (found) throw badRequest(`${found} must not contain NUL characters`);
  next();
}

export const tooLarge = (what: string, max: number) => new HttpError(413, "too_large", `${what} is larger than ${max} bytes (AERIE_MAX_ARTIFACT_BYTES)`);

/** Passes `body` through, failing with 413 once more than `max` bytes went by (for bodies without Content-Length). */
export function limitBytes(body: Readable, max: number, what: string): Readable {
  let seen = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > max) {
        body.unpipe(limiter);
        callback(tooLarge(what, max));
        return;
      }
      callback(null, chunk);
    },
  });
  body.on("error", (error) => limiter.destroy(error));
  return body.pipe(limiter);
}

/**
 * Node's defaults cut every request after 5 minutes (requestTimeout), which ends a multi-GiB upload on a slow
 * link. Here a request may take as long as its bytes keep coming (a socket idle for 2 minutes is closed),
 * while the headers must arrive within 15 seconds (slowloris), checked every 5 seconds.
 */
export const SERVER_OPTIONS: ServerOptions = { requestTimeout: 0, headersTimeout: 15_000, connectionsCheckingInterval: 5_000, keepAliveTimeout: 5_000 };

export function applyServerTimeouts(server: Server): void {
  server.setTimeout(120_000);
}
