// What every route module needs: the state, the engines around it, and small request helpers.
import type { Request, Response } from "express";
import type { Logger } from "../../../core/log.js";
import type { ArtifactStorage } from "../artifact-storage.js";
import { constraintViolation } from "../errors.js";
import type { PageParams } from "../query.js";
import type { RolloutEngine } from "../rollout-engine.js";
import type { Store } from "../store.js";
import type { PollingLimits } from "../tenant-config.js";

export interface StandinContext {
  store: Store;
  engine: RolloutEngine;
  artifacts: ArtifactStorage;
  tenant: string;
  /** hawkbit.controller.pollingTime / minPollingTime / maxPollingTime of this server. */
  pollingDefaults: PollingLimits;
  log: Logger;
  /** Schedules the mutation's write (coalesced, see state-file.ts) and lets the rollout engine react to it. */
  commit(): Promise<void>;
}

/** hawkBit renders links from the request's own origin. */
export const originOf = (req: Request): string => `${req.protocol}://${req.get("host")}`;

export const userOf = (res: Response): string => String(res.locals.user ?? "anonymous");

export function pageParams(req: Request): PageParams {
  const q = req.query as Record<string, string | number | undefined>;
  return { q: q.q as string | undefined, sort: q.sort as string | undefined, offset: q.offset, limit: q.limit };
}

export function idParam(req: Request, name: string): number {
  const value = Number(req.params[name]);
  if (!Number.isSafeInteger(value)) throw constraintViolation(`Path parameter ${name} must be a number`);
  return value;
}

export function requireArray(body: unknown): Record<string, unknown>[] {
  if (!Array.isArray(body)) throw constraintViolation("Request body must be a JSON array");
  return body.map(requireObject);
}

export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw constraintViolation("Request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

export function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== "string" || value.trim() === "") throw constraintViolation(`${field} must not be empty`);
  return value;
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw constraintViolation(`${field} must be a string`);
  return value;
}

export function optionalNumber(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw constraintViolation(`${field} must be a number`);
  return value;
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw constraintViolation(`${field} must be a boolean`);
  return value;
}
