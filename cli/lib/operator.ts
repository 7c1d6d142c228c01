// Shared by the operator commands (artifacts, releases, campaigns, devices, audit): the API client and output.
// URL and token: --url/--token, else AERIE_URL/AERIE_TOKEN, else ~/.config/aerie/config.json ({"url","token"},
// or AERIE_CONFIG), else the local Aerie's address and bootstrap token in DATA_DIR/secrets.json.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig } from "../../core/config.js";
import { AerieApiError, AerieClient } from "../../scripts/lib/aerie-client.js";

export const COMMON_OPTIONS = {
  url: { type: "string" }, token: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

export const COMMON_HELP = `Common options:
  --url URL      Aerie's API (default: AERIE_URL, the config file, else the local Aerie)
  --token TOKEN  API token (default: AERIE_TOKEN, the config file, else the local bootstrap token)
  --json         machine-readable output
Config file: ~/.config/aerie/config.json (or AERIE_CONFIG) with {"url": "...", "token": "..."}.
Exit codes: 0 done, 1 the API refused or failed, 2 bad usage.`;

export class UsageError extends Error {}

export function client(values: { url?: string; token?: string }): AerieClient {
  const file = process.env.AERIE_CONFIG ?? join(homedir(), ".config", "aerie", "config.json");
  const stored = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { url?: string; token?: string }) : {};
  let url = values.url ?? process.env.AERIE_URL ?? stored.url;
  let token = values.token ?? process.env.AERIE_TOKEN ?? stored.token;
  if (!url || !token) {
    const config = loadConfig();
    const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host;
    url ??= `http://${host}:${config.apiPort}`;
    const secrets = join(config.dataDir, "secrets.json");
    if (!token && existsSync(secrets)) token = (JSON.parse(readFileSync(secrets, "utf8")) as { adminToken?: string }).adminToken;
  }
  return new AerieClient(url.replace(/\/$/, ""), token);
}

export function parse<O extends ParseArgsConfig["options"]>(args: string[], options: O) {
  try {
    return parseArgs({ args, allowPositionals: true, options: { ...COMMON_OPTIONS, ...options } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Prints `value` as JSON, or as aligned columns of `columns` for a list, or key: value lines for an object. */
export function output(value: unknown, json: boolean, columns?: string[]): void {
  if (json) {
    console.log(JSON.stringify(value, null, 2));
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v));
  if (Array.isArray(value) && columns) {
    const rows = [columns, ...value.map((row) => columns.map((c) => cell((row as Record<string, unknown>)[c])))];
    const widths = columns.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
    return;
  }
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) console.log(`${k}: ${cell(v)}`);
    return;
  }
  console.log(cell(value));
}

/** Runs an operator command: usage errors exit 2, API refusals 1 with the API's message. */
export async function runCommand(name: string, help: string, args: string[], body: (args: string[]) => Promise<number>): Promise<number> {
  if (args.length === 0 || args[0] === "--help" || args[0] === "-h" || args[0] === "help") {
    (args.length === 0 ? console.error : console.log)(`${help}\n\n${COMMON_HELP}`);
    return args.length === 0 ? 2 : 0;
  }
  try {
    return await body(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`aerie ${name}: ${error.message}\nRun \`aerie ${name} --help\` for usage.`);
      return 2;
    }
    if (error instanceof AerieApiError) {
      const message = (error.body as { error?: { message?: string } })?.error?.message ?? JSON.stringify(error.body);
      console.error(`aerie ${name}: HTTP ${error.status}: ${message}`);
      return 1;
    }
    throw error;
  }
}

export function need(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`${what} is required`);
  return value;
}
