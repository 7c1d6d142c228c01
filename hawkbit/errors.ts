// hawkBit's ExceptionInfo, lifted into typed errors so callers branch on `kind`, never on message text.
import type { ExceptionInfo } from "./types.js";

export type HawkbitErrorKind = "not-found" | "conflict" | "validation" | "auth" | "gone" | "server" | "network";

function kindOf(status: number | undefined): HawkbitErrorKind {
  if (status === undefined) return "network";
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not-found";
  if (status === 409) return "conflict";
  if (status === 410) return "gone";
  if (status >= 400 && status < 500) return "validation";
  return "server";
}

export class HawkbitError extends Error {
  readonly kind: HawkbitErrorKind;

  constructor(
    /** HTTP status; undefined when no response arrived. */
    readonly status: number | undefined,
    message: string,
    readonly errorCode?: string,
    readonly exceptionClass?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kindOf(status);
  }

  static fromResponse(status: number, body: unknown, fallback: string): HawkbitError {
    const info = (typeof body === "object" && body !== null ? body : {}) as ExceptionInfo;
    const message = info.message ?? fallback;
    const Cls = status === 404 ? HawkbitNotFoundError : status === 409 ? HawkbitConflictError
      : status === 401 || status === 403 ? HawkbitAuthError
      : status >= 400 && status < 500 && status !== 410 ? HawkbitValidationError : HawkbitError;
    return new Cls(status, message, info.errorCode, info.exceptionClass);
  }
}

export class HawkbitNotFoundError extends HawkbitError {}
export class HawkbitConflictError extends HawkbitError {}
export class HawkbitValidationError extends HawkbitError {}
export class HawkbitAuthError extends HawkbitError {}
