// One logger for every part of Aerie. Secrets are hidden at any depth of a record (core/redact.ts):
// values under secret-looking keys, and credentials inside URLs anywhere in the final line (message,
// error stacks, nested causes), so a config dump or an HTTP error object cannot leak a token.
import pino, { type DestinationStream, type Logger } from "pino";
import { redactDeep, redactText } from "./redact.js";

/** Aerie's logger configuration; `destination` only for tests (default: stdout). */
export function createRootLogger(destination?: DestinationStream, level = process.env.AERIE_LOG_LEVEL ?? "info"): Logger {
  const options = {
    level,
    base: undefined,
    formatters: {
      // Keys and nested errors (turned into plain objects, as pino's err serializer would).
      log: (record: Record<string, unknown>) => redactDeep(record) as Record<string, unknown>,
    },
    hooks: {
      // The whole line, message included: URLs with credentials wherever they ended up.
      streamWrite: (line: string) => redactText(line),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export const rootLogger: Logger = createRootLogger();

export function logger(component: string): Logger {
  return rootLogger.child({ component });
}

export type { Logger };

/** A URL with its password and secret parameters hidden, so it can be logged or shown in /readyz. */
export { redactUrl } from "./redact.js";

/** For entry points that choose a default level after the modules (and so the logger) are loaded. */
export function setLogLevel(level: string): void {
  rootLogger.level = level;
}
