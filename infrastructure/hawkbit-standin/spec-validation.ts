// Optional conformance mode: every request received and every JSON response sent is checked against the
// official hawkBit OpenAPI documents. Violations are reported, not hidden: a bad request is answered with 400,
// a bad response is still delivered so the caller sees exactly what the stand-in produced.
import type { ErrorRequestHandler, Request, RequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";

export interface SpecViolation {
  direction: "request" | "response";
  method: string;
  path: string;
  message: string;
}

export interface SpecValidationOptions {
  /** Parsed OpenAPI documents; the stand-in does not patch them, so pass them ready to use. */
  specs: object[];
  onViolation(violation: SpecViolation): void;
}

interface ValidatorError {
  status?: number;
  message?: string;
  errors?: unknown[];
}

/**
 * hawkBit's documents declare most error statuses as `application/json: {}`: documented, body left open.
 * Answering such a status with an ExceptionInfo is conformant, so only undocumented statuses count.
 */
function documentsStatusWithoutSchema(req: Request, message: string): boolean {
  const status = /no schema defined for status code '(\d+)'/.exec(message)?.[1];
  const responses = (req as Request & { openapi?: { schema?: { responses?: Record<string, unknown> } } }).openapi?.schema?.responses;
  return status !== undefined && responses?.[status] !== undefined;
}

/** Regexes for the spec's path templates; `{param}` matches one path segment (or part of one). */
function pathMatchers(spec: object): RegExp[] {
  const paths = Object.keys((spec as { paths?: Record<string, unknown> }).paths ?? {});
  return paths.map((template) => new RegExp(`^${template.replace(/[.+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`));
}

/**
 * Runs a validator chain only for requests its spec documents. Validator instances share `req.openapi`, so an
 * instance must not see requests another spec has already claimed.
 */
function ownedBy(spec: object, chain: RequestHandler[]): RequestHandler {
  const matchers = pathMatchers(spec);
  return (req, res, next) => {
    if (!matchers.some((m) => m.test(req.path))) return next();
    const run = (i: number, err?: unknown): void => {
      if (err !== undefined || i === chain.length) return next(err);
      chain[i]!(req, res, (e?: unknown) => run(i + 1, e));
    };
    run(0);
  };
}

export function specValidators(opts: SpecValidationOptions): { validate: RequestHandler[]; report: ErrorRequestHandler } {
  const violation = (direction: SpecViolation["direction"], req: Request, message: string): SpecViolation =>
    ({ direction, method: req.method, path: req.originalUrl, message });

  const validate = opts.specs.map((spec) => ownedBy(spec, OpenApiValidator.middleware({
    apiSpec: structuredClone(spec) as never,
    validateApiSpec: false,
    validateRequests: { allowUnknownQueryParameters: false },
    validateResponses: {
      onError: (err, _body, req) => {
        if (!documentsStatusWithoutSchema(req, err.message)) opts.onViolation(violation("response", req, err.message));
      },
    },
    validateSecurity: false,
    ignoreUndocumented: true,
    // Multipart bodies are buffered by the validator's multer; the upload route accepts them pre-parsed.
    fileUploader: {},
  }) as RequestHandler[]));

  const report: ErrorRequestHandler = (err: ValidatorError, req, _res, next) => {
    if (typeof err?.status === "number" && Array.isArray(err.errors)) {
      opts.onViolation(violation("request", req, `${err.status} ${err.message ?? ""} ${JSON.stringify(err.errors)}`));
    }
    next(err);
  };
  return { validate, report };
}
