// Retries for hawkBit calls: exponential backoff with full jitter on 5xx, 429 and network failures, and only
// for requests that are safe to repeat. Shared by the Management client and the DDI channel.
import { isAxiosError, type AxiosInstance, type AxiosRequestConfig } from "axios";
import type { Logger } from "../core/log.js";
import { HawkbitError } from "./errors.js";

export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 200, maxDelayMs: 5_000 };

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "ECONNABORTED", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "ERR_NETWORK"]);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}

export function isRetryable(error: unknown): boolean {
  if (!isAxiosError(error)) return false;
  const status = error.response?.status;
  if (status !== undefined) return status >= 500 || status === 429;
  return error.code !== undefined && NETWORK_CODES.has(error.code);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `attempt`; repeats it while `canRetry(error)` holds and attempts remain. */
export async function withRetry<T>(
  policy: RetryPolicy,
  canRetry: (error: unknown) => boolean,
  attempt: () => Promise<T>,
  onRetry?: (error: unknown, attemptNo: number, delayMs: number) => void,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= policy.retries || !canRetry(error)) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** n);
      const delay = Math.round(Math.random() * ceiling);
      onRetry?.(error, n + 1, delay);
      await sleep(delay);
    }
  }
}

export type HawkbitRequest = <T>(config: AxiosRequestConfig & { method: string; url: string }) => Promise<T>;

/**
 * The one request path of every hawkBit API client: retried with backoff where repeating is safe, and
 * any failure turned into a HawkbitError that carries hawkBit's own ExceptionInfo.
 */
export function retryingRequester(
  http: AxiosInstance,
  options: { retries?: number; retryDelayMs?: { base: number; max: number } },
  log: Logger,
  label: string,
): HawkbitRequest {
  const policy: RetryPolicy = {
    retries: options.retries ?? DEFAULT_RETRY.retries,
    baseDelayMs: options.retryDelayMs?.base ?? DEFAULT_RETRY.baseDelayMs,
    maxDelayMs: options.retryDelayMs?.max ?? DEFAULT_RETRY.maxDelayMs,
  };
  return async <T>(config: AxiosRequestConfig & { method: string; url: string }): Promise<T> => {
    const canRetry = (error: unknown) => isIdempotent(config.method) && isRetryable(error);
    try {
      const response = await withRetry(policy, canRetry, () => http.request<T>(config), (error, attempt, delayMs) => {
        log.warn({ method: config.method, url: config.url, attempt, delayMs, status: isAxiosError(error) ? error.response?.status : undefined }, `${label} request failed; retrying`);
      });
      return response.data;
    } catch (error) {
      const what = `${config.method} ${config.url}`;
      if (isAxiosError(error) && error.response) {
        throw HawkbitError.fromResponse(error.response.status, error.response.data, `${what} failed with HTTP ${error.response.status}`);
      }
      throw new HawkbitError(undefined, `${what} failed: ${isAxiosError(error) ? (error.code ?? error.message) : String(error)}`, undefined, undefined, { cause: error });
    }
  };
}
