// Webhook signatures: HMAC-SHA256 with the subscription's secret over `<timestamp>.<raw body>`. The timestamp is
// inside the signed text so that a captured request cannot be replayed later with a fresh timestamp header;
// receivers reject timestamps older than their tolerance (and may dedupe on X-Aerie-Delivery).
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-aerie-signature";
export const TIMESTAMP_HEADER = "x-aerie-timestamp";
export const EVENT_HEADER = "x-aerie-event";
export const DELIVERY_HEADER = "x-aerie-delivery";

export function sign(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** For receivers (and tests): the signature matches and the timestamp is within `toleranceSeconds` of now. */
export function verify(secret: string, headers: { signature?: string; timestamp?: string }, body: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const timestamp = Number(headers.timestamp);
  if (!headers.signature || !Number.isInteger(timestamp) || Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(sign(secret, timestamp, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
