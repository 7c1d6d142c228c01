// Hides secrets in anything about to be shown: log records, error messages, `aerie config`.
// Two kinds: values under a secret-looking key (password, token, …) at any depth, and credentials
// inside URLs wherever they appear in text (user:password@ and secret query parameters such as
// ?token= or a presigned URL's X-Amz-Signature), since URLs end up in messages, stacks and nested
// error causes where no key name gives them away.

export const REDACTED = "[redacted]";

/**
 * Keys whose values are secrets, compared in lower case without separators (S3_SECRET_ACCESS_KEY,
 * secretAccessKey and x-secret-access-key alike); also any key ending in one of SECRET_SUFFIXES.
 */
const SECRET_KEYS = new Set(["accesskeyid", "databaseurl", "cookie", "setcookie"]);
const SECRET_SUFFIXES = ["password", "passwd", "passphrase", "token", "secret", "secretaccesskey", "apikey", "privatekey", "authorization", "credentials", "privatekeypem"];

/** Query parameters whose values are secrets (lower case). */
const SECRET_PARAMS = /^(x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|token|access_token|refresh_token|id_token|api_key|apikey|key|secret|password|passwd|pwd|auth|code)$/i;

export function isSecretKey(key: string): boolean {
  const lower = key.toLowerCase().replace(/[^a-z0-9]/g, "");
  return SECRET_KEYS.has(lower) || SECRET_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}

// scheme://userinfo@ where userinfo holds a password (user:secret) or is a bare token.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>]*)@/gi;
// ?name=value or &name=value, inside a URL or on its own.
const QUERY_PARAM = /([?&;])([^=&\s"'<>#]+)=([^&\s"'<>#]*)/g;

/** Text with the credentials of every URL in it replaced. */
export function redactText(text: string): string {
  if (!text.includes("@") && !text.includes("=")) return text;
  return text
    .replace(URL_USERINFO, (_match, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(":");
      // user:password → keep the user; a lone userinfo (https://TOKEN@host) is itself the secret.
      return colon >= 0 ? `${scheme}${userinfo.slice(0, colon)}:${REDACTED}@` : `${scheme}${REDACTED}@`;
    })
    .replace(QUERY_PARAM, (match, separator: string, name: string) => {
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return SECRET_PARAMS.test(decoded) ? `${separator}${name}=${REDACTED}` : match;
    });
}

/** A URL for display: its password and secret parameters hidden. */
export function redactUrl(url: string): string {
  return redactText(url);
}

const MAX_DEPTH = 32;

/**
 * A copy of `value` safe to show: secret keys' values replaced, URL credentials removed from every
 * string, errors turned into plain objects (type, message, stack, code, cause) with the same treatment.
 * Cycles and depth beyond 32 are cut. Values that need no change are returned as they are.
 */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === "string") return redactText(value);
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_DEPTH) return "[too deep]";
  if (seen.has(value)) return "[circular]";
  seen.add(value);
  try {
    if (value instanceof Error) {
      const plain: Record<string, unknown> = { type: value.name, message: redactText(value.message) };
      if (value.stack) plain.stack = redactText(value.stack);
      for (const [key, inner] of Object.entries(value)) plain[key] = isSecretKey(key) ? REDACTED : redactDeep(inner, depth + 1, seen);
      if (value.cause !== undefined) plain.cause = redactDeep(value.cause, depth + 1, seen);
      if (value instanceof AggregateError) plain.errors = value.errors.map((inner) => redactDeep(inner, depth + 1, seen));
      return plain;
    }
    if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1, seen));
    if (value instanceof Date || Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof URL) {
      return value instanceof URL ? redactText(value.href) : value;
    }
    if (value instanceof Map) return redactDeep(Object.fromEntries(value), depth + 1, seen);
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) copy[key] = isSecretKey(key) && inner !== undefined && inner !== null ? REDACTED : redactDeep(inner, depth + 1, seen);
    return copy;
  } finally {
    seen.delete(value);
  }
}
