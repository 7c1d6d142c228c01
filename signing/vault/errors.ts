// Vault failures as messages an operator can act on. The client's own errors carry the request
// configuration (the X-Vault-Token header among it), so only status and Vault's texts are kept.
import { redactUrl } from "../../core/log.js";

export class VaultTransitError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = "VaultTransitError";
  }
}

interface ResponseLike {
  response?: { statusCode?: number; body?: { errors?: unknown } };
  code?: string;
}

export function statusOf(error: unknown): number | undefined {
  return (error as ResponseLike).response?.statusCode;
}

/** Connection-level failures worth another try (the server may be restarting or unsealing). */
export function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  if (status !== undefined) return status >= 500;
  const code = (error as ResponseLike).code;
  return code === "ECONNREFUSED" || code === "ECONNRESET" || code === "ETIMEDOUT" || code === "ECONNABORTED" || code === "EPIPE";
}


export function describeVaultError(operation: string, endpoint: string, error: unknown): VaultTransitError {
  const status = statusOf(error);
  if (status === undefined) {
    const code = (error as ResponseLike).code ?? "no response";
    return new VaultTransitError(`Vault ${operation} failed: cannot reach ${redactUrl(endpoint)} (${code})`);
  }
  const errors = (error as ResponseLike).response?.body?.errors;
  const texts = Array.isArray(errors) ? errors.filter((text): text is string => typeof text === "string" && text.length > 0) : [];
  let detail = texts.length > 0 ? texts.join("; ") : status === 404 ? "not found" : "no error text";
  if (status === 403) detail += " (the token is missing, expired, or lacks a policy for this path)";
  return new VaultTransitError(`Vault ${operation} failed (HTTP ${status}): ${detail}`, status);
}
