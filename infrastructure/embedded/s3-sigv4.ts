// Checks the AWS Signature Version 4 of a request to the embedded S3 endpoint, in the Authorization
// header or in a presigned URL's query. s3rver accepts any V4 signature (and anonymous requests), so
// without this anyone reaching the port could read, list and overwrite artifacts, or download one
// with a presigned URL whose signature is all zeros.
//
// The signature is recomputed with @smithy/signature-v4 (the AWS SDK's own signer) over the request
// as received, restricted to the headers the client says it signed, and compared in constant time.
// What is verified: the access key is Aerie's, the signature, the clock (15 minutes of skew for
// header signatures, X-Amz-Date + X-Amz-Expires for presigned URLs). What is not: that an upload's
// body matches its declared x-amz-content-sha256 (that would mean buffering it); the declared hash
// itself is covered by the signature.
import { createHash, createHmac, timingSafeEqual, type BinaryLike } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export type Verdict = { ok: true } | { ok: false; status: 400 | 403; code: string; message: string };

const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const ALGORITHM = "AWS4-HMAC-SHA256";

/** node:crypto behind the hash interface the signer expects (HMAC when given a secret). */
export class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): BinaryLike =>
  typeof data === "string" ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

const deny = (code: string, message: string, status: 400 | 403 = 403): Verdict => ({ ok: false, status, code, message });

/** 20261205T073000Z → Date, or undefined. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? "");
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
}

/** The raw query split into decoded values; the signer re-encodes them canonically. */
function parseQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (!raw) return query;
  for (const pair of raw.split("&")) {
    if (!pair) continue;
    const at = pair.indexOf("=");
    const key = decodeURIComponent(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? "" : decodeURIComponent(pair.slice(at + 1));
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

function sameSignature(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(provided, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Scope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

function parseCredential(credential: string | undefined): Scope | undefined {
  const parts = (credential ?? "").split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request" || !parts[0]) return undefined;
  return { accessKeyId: parts[0], date: parts[1]!, region: parts[2]!, service: parts[3]! };
}

function signedHeaderValues(req: IncomingMessage, names: string[]): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = req.headers[name];
    if (value === undefined) return undefined;
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  return headers;
}

export async function verifyS3Request(req: IncomingMessage, credentials: S3Credentials, now = new Date()): Promise<Verdict> {
  const url = req.url ?? "/";
  const at = url.indexOf("?");
  const path = at < 0 ? url : url.slice(0, at);
  let query: Record<string, string | string[]>;
  try {
    query = parseQuery(at < 0 ? "" : url.slice(at + 1));
  } catch {
    return deny("InvalidArgument", "Malformed query string.", 400);
  }
  const authorization = req.headers.authorization;
  const presigned = typeof query["X-Amz-Signature"] === "string";
  if (!authorization && !presigned) return deny("AccessDenied", "Anonymous access is not allowed: sign the request (AWS Signature Version 4).");
  if (authorization && presigned) return deny("InvalidArgument", "Only one authentication mechanism is allowed.", 400);

  let scope: Scope | undefined;
  let signedHeaders: string[];
  let provided: string;
  let signingDate: Date | undefined;
  let expiresIn = 0;
  if (authorization) {
    const match = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization.trim());
    if (!match) return deny("AccessDenied", "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is accepted.");
    scope = parseCredential(match[1]);
    signedHeaders = match[2]!.split(";");
    provided = match[3]!;
    signingDate = parseAmzDate(req.headers["x-amz-date"] as string | undefined);
    if (!signedHeaders.includes("x-amz-date") || !signedHeaders.includes("x-amz-content-sha256")) {
      return deny("AccessDenied", "x-amz-date and x-amz-content-sha256 must be signed.");
    }
    if (!signingDate || Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS) {
      return deny("RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.");
    }
  } else {
    if (query["X-Amz-Algorithm"] !== ALGORITHM) return deny("AccessDenied", "Only AWS4-HMAC-SHA256 presigned URLs are accepted.");
    scope = parseCredential(query["X-Amz-Credential"] as string | undefined);
    signedHeaders = String(query["X-Amz-SignedHeaders"] ?? "").split(";");
    provided = String(query["X-Amz-Signature"]);
    signingDate = parseAmzDate(query["X-Amz-Date"] as string | undefined);
    expiresIn = Number(query["X-Amz-Expires"]);
    if (!signingDate || !Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_SECONDS) {
      return deny("AuthorizationQueryParametersError", "X-Amz-Date and X-Amz-Expires (1 to 604800 seconds) are required.", 400);
    }
    if (signingDate.getTime() - now.getTime() > MAX_SKEW_MS) return deny("AccessDenied", "Request is not valid yet.");
    if (now.getTime() > signingDate.getTime() + expiresIn * 1000) return deny("AccessDenied", "Request has expired.");
  }
  if (!scope || scope.service !== "s3" || !signedHeaders.includes("host")) return deny("AuthorizationHeaderMalformed", "The credential scope or signed headers are malformed.", 400);
  if (scope.accessKeyId !== credentials.accessKeyId) return deny("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
  if (!signingDate.toISOString().replace(/-/g, "").startsWith(scope.date)) return deny("AuthorizationHeaderMalformed", "The credential date does not match X-Amz-Date.", 400);
  const headers = signedHeaderValues(req, signedHeaders);
  if (!headers) return deny("AccessDenied", "A signed header is missing from the request.");

  // S3 signs the path as sent (no second encoding); the region is the one the client signed for.
  const signer = new SignatureV4({ credentials, region: scope.region, service: "s3", sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const host = req.headers.host ?? "";
  const request = { method: req.method ?? "GET", protocol: "http:", hostname: host.replace(/:\d+$/, ""), path, query, headers };
  const signable = new Set(signedHeaders);
  let expected: string | undefined;
  if (authorization) {
    const signed = await signer.sign(request, { signingDate, signableHeaders: signable });
    expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? signed.headers.Authorization))?.[1];
  } else {
    // Presigned URLs sign UNSIGNED-PAYLOAD; the signer reads that from this header, which must
    // neither be signed nor moved into the query unless the client did so.
    const { "X-Amz-Signature": _signature, ...unsignedQuery } = query;
    const withPayload = signable.has("x-amz-content-sha256") ? headers : { ...headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" };
    const unsignable = signable.has("x-amz-content-sha256") ? new Set<string>() : new Set(["x-amz-content-sha256"]);
    const signed = await signer.presign(
      { ...request, query: unsignedQuery, headers: withPayload },
      { signingDate, expiresIn, signableHeaders: signable, unsignableHeaders: unsignable, unhoistableHeaders: new Set(Object.keys(withPayload)) },
    );
    expected = signed.query?.["X-Amz-Signature"] as string | undefined;
  }
  if (!expected || !sameSignature(expected, provided)) {
    return deny("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
  }
  return { ok: true };
}
