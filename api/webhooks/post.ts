// One webhook POST over node:http(s), connected only to addresses the target policy allows: the
// policy's lookup runs for the socket itself (fetch has no such hook), and an IP-literal host, which
// is never looked up, is checked before connecting. Redirects are not followed.
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import type { WebhookTargetPolicy } from "./target-policy.js";

export interface PostOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  policy: WebhookTargetPolicy;
}

/** Posts `body` and resolves with the response status (its body is discarded). */
export async function postWebhook(url: string, body: string, options: PostOptions): Promise<number> {
  const target = new URL(url);
  const hostname = target.hostname.replace(/^\[|\]$/g, "");
  if (isIP(hostname)) options.policy.checkAddress(hostname, hostname);
  const transport = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      target,
      {
        method: "POST",
        headers: { ...options.headers, "content-length": String(Buffer.byteLength(body)) },
        signal: options.signal,
        lookup: options.policy.connectLookup() as never,
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}
