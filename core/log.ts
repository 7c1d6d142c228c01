// One logger for every part of Aerie. Secrets are redacted by key name wherever they appear, so a
// config dump or an HTTP error object cannot leak a token into the logs.
import pino, { type Logger } from "pino";

const SECRET_KEYS = [
  "password", "token", "secret", "secretAccessKey", "accessKeyId", "authorization", "Authorization",
  "vaultToken", "hawkbitPassword", "gatewayToken", "s3SecretKey", "databaseUrl", "DATABASE_URL",
];

const redactPaths = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export const rootLogger: Logger = pino({
  level: process.env.AERIE_LOG_LEVEL ?? "info",
  redact: { paths: redactPaths, censor: "[redacted]" },
  base: undefined,
});

export function logger(component: string): Logger {
  return rootLogger.child({ component });
}

export type { Logger };

/** Hides the password of a connection URL so it can be logged or shown in /readyz. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "[unparseable url]";
  }
}

/** For entry points that choose a default level after the modules (and so the logger) are loaded. */
export function setLogLevel(level: string): void {
  rootLogger.level = level;
}
