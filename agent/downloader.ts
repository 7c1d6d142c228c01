// Downloads one artifact into the download folder: the best offer this device can use (supported
// scheme, not expired, lowest metric first), resumed with HTTP Range from what is already on disk
// (also across restarts: the partial file is kept), bounded retries with a growing pause, a stall
// timeout, and fresh offers asked from Aerie when the presigned links expired or were refused.
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DeploymentArtifact, DownloadOffer } from "../bridge/protocol/schemas.js";

export class DownloadError extends Error {}

export interface DownloadOptions {
  dir: string;
  schemes: string[];
  retries: number;
  retryDelayMs: number;
  /** Abort a transfer when no byte arrived for this long. */
  stallTimeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (received: number, total: number) => void;
  /** Fresh offers for this artifact (request/deployment); undefined when Aerie has none. */
  refreshOffers?: () => Promise<DownloadOffer[] | undefined>;
  now?: () => number;
  /** Called when the file is already there (an earlier action downloaded it; it is verified again). */
  onReuse?: (path: string) => void;
}

/** Offers to try, best first: supported schemes only, unexpired, by ascending metric. */
export function rankOffers(offers: DownloadOffer[], schemes: string[], now = Date.now()): DownloadOffer[] {
  return offers
    .filter((offer) => schemes.includes(offer.scheme))
    .filter((offer) => !offer.expiresAt || Date.parse(offer.expiresAt) > now)
    .sort((a, b) => a.metric - b.metric);
}

/** Where a verified artifact is kept; named by content so a later action with the same file reuses it. */
export function artifactPath(dir: string, artifact: Pick<DeploymentArtifact, "hashes" | "filename">): string {
  return join(dir, `${artifact.hashes.sha256}-${artifact.filename.replace(/[^\w.+-]/g, "_")}`);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason ?? new Error("aborted")); }, { once: true });
});

/**
 * Fetches the artifact to `<dir>/<sha256>-<filename>.part` and renames it to its final name once
 * all `size` bytes are there. Hash and signature are checked by the caller (verifier.ts); a file
 * that fails them is deleted so the next try starts over.
 */
export async function downloadArtifact(artifact: DeploymentArtifact, options: DownloadOptions): Promise<string> {
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const final = artifactPath(options.dir, artifact);
  if ((await sizeOf(final)) === artifact.size) {
    options.onReuse?.(final);
    return final;
  }
  const part = `${final}.part`;
  let offers = rankOffers(artifact.offers, options.schemes, options.now?.());
  let lastError = "no download offer with a scheme this device supports";
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    options.signal?.throwIfAborted();
    if (attempt > 0) await sleep(Math.min(options.retryDelayMs * 2 ** (attempt - 1), 60_000), options.signal);
    if (offers.length === 0 && options.refreshOffers) {
      offers = rankOffers((await options.refreshOffers().catch(() => undefined)) ?? [], options.schemes, options.now?.());
    }
    const offer = offers[0];
    if (!offer) continue;
    try {
      await transfer(offer.url, part, artifact.size, options);
      await rename(part, final);
      return final;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      lastError = (error as Error).message;
      // Refused or gone links are not retried as they are: the next offer, or fresh ones.
      if (error instanceof HttpStatusError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) {
        offers = offers.slice(1);
      }
    }
  }
  throw new DownloadError(`download of ${artifact.filename} failed after ${options.retries + 1} attempts: ${lastError}`);
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

async function transfer(url: string, part: string, size: number, options: DownloadOptions): Promise<void> {
  let have = await sizeOf(part);
  if (have > size) {
    await rm(part, { force: true });
    have = 0;
  }
  if (have === size && size > 0) return;
  const stall = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
  let timer = setTimeout(() => stall.abort(new Error("download stalled")), options.stallTimeoutMs);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(new Error(`no data for ${options.stallTimeoutMs} ms`)), options.stallTimeoutMs);
  };
  try {
    const response = await fetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal, redirect: "follow" });
    if (response.status === 416 && have > 0) {
      // Range past the end: what we have is complete or stale; start over to be sure.
      await rm(part, { force: true });
      throw new Error("HTTP 416 on resume; starting over");
    }
    if (response.status !== 200 && response.status !== 206) {
      await response.body?.cancel().catch(() => undefined);
      throw new HttpStatusError(response.status);
    }
    // A server that ignores Range sends everything again: write from the start.
    const resume = response.status === 206 && have > 0;
    if (!resume) have = 0;
    let received = have;
    options.onProgress?.(received, size);
    const body = Readable.fromWeb(response.body as never);
    body.on("data", (chunk: Buffer) => {
      received += chunk.length;
      touch();
      if (received > size) body.destroy(new Error(`more than the announced ${size} bytes`));
      options.onProgress?.(received, size);
    });
    await pipeline(body, createWriteStream(part, { flags: resume ? "a" : "w" }), { signal });
    if (received !== size) throw new Error(`transfer ended after ${received} of ${size} bytes`);
  } finally {
    clearTimeout(timer);
  }
}
