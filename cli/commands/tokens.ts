// `aerie tokens create --role operator --expires 30d | list | revoke ID | generate`: API tokens over the
// running Aerie's API. Credentials: --token, else AERIE_TOKEN, else the bootstrap admin token in
// DATA_DIR/secrets.json (same machine). The new token's secret is printed once and never stored here.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROLES } from "../../api/auth/permissions.js";
import { newSecret } from "../../api/auth/tokens.js";
import { loadConfig } from "../../core/config.js";
import { AerieApiError, AerieClient } from "../../scripts/lib/aerie-client.js";

export const summary = "API tokens: create --role ROLE [--expires 30d] [--name N], list, revoke ID, generate (a value for AERIE_BOOTSTRAP_TOKEN)";

const HELP = `Usage: aerie tokens <action> [options]

Actions:
  create    --role ${ROLES.join("|")} [--expires 30d|12h|90m] [--name NAME]
            prints the new token once (only its sha256 is kept)
  list      every token: id, name, role, expiry, last use (never secrets)
  revoke    ID
  generate  prints a fresh random token for AERIE_BOOTSTRAP_TOKEN (talks to nothing)

Options:
  --url URL      Aerie's API (default http://AERIE_HOST:AERIE_API_PORT)
  --token TOKEN  an admin API token (default: AERIE_TOKEN, else the bootstrap token in DATA_DIR/secrets.json)`;

function defaultToken(dataDir: string): string | undefined {
  if (process.env.AERIE_TOKEN) return process.env.AERIE_TOKEN;
  const file = join(dataDir, "secrets.json");
  if (!existsSync(file)) return undefined;
  const stored = (JSON.parse(readFileSync(file, "utf8")) as { adminToken?: unknown }).adminToken;
  return typeof stored === "string" ? stored : undefined;
}

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true,
      options: { role: { type: "string" }, expires: { type: "string" }, name: { type: "string" }, url: { type: "string" }, token: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    console.error(`aerie tokens: ${(error as Error).message}\nRun \`aerie tokens --help\` for usage.`);
    return 2;
  }
  const { values, positionals } = parsed;
  const action = positionals[0];
  if (values.help || !action) {
    (values.help ? console.log : console.error)(HELP);
    return values.help ? 0 : 2;
  }
  if (action === "generate") {
    console.log(newSecret());
    return 0;
  }
  const config = loadConfig();
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host;
  const api = new AerieClient(values.url ?? `http://${host}:${config.apiPort}`, values.token ?? defaultToken(config.dataDir));
  try {
    switch (action) {
      case "create": {
        if (!values.role) {
          console.error(`aerie tokens create: --role is required (${ROLES.join(", ")})`);
          return 2;
        }
        const created = await api.request<{ id: string; name: string; role: string; expiresAt: string | null; token: string }>("POST", "/api/v1/tokens", {
          name: values.name ?? `${values.role}-${new Date().toISOString().slice(0, 10)}`, role: values.role, ...(values.expires ? { expires: values.expires } : {}),
        });
        console.error(`token ${created.id} (${created.name}, ${created.role}, ${created.expiresAt ? `expires ${created.expiresAt}` : "never expires"}); shown only now:`);
        console.log(created.token);
        return 0;
      }
      case "list": {
        const tokens = await api.request<{ id: string; name: string; role: string; expiresAt: string | null; lastUsedAt: string | null; revokedAt: string | null }[]>("GET", "/api/v1/tokens");
        for (const t of tokens) {
          const state = t.revokedAt ? `revoked ${t.revokedAt}` : t.expiresAt ? `expires ${t.expiresAt}` : "no expiry";
          console.log(`${t.id}  ${t.role.padEnd(15)} ${t.name.padEnd(24)} ${state}  last used ${t.lastUsedAt ?? "never"}`);
        }
        return 0;
      }
      case "revoke": {
        const id = positionals[1];
        if (!id) {
          console.error("aerie tokens revoke: the token id is required");
          return 2;
        }
        await api.request("DELETE", `/api/v1/tokens/${encodeURIComponent(id)}`, undefined, [204]);
        console.log(`revoked ${id}`);
        return 0;
      }
      default:
        console.error(`aerie tokens: unknown action '${action}'\n\n${HELP}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof AerieApiError) {
      const message = (error.body as { error?: { message?: string } })?.error?.message ?? JSON.stringify(error.body);
      console.error(`aerie tokens ${action}: HTTP ${error.status}: ${message}`);
      return 1;
    }
    throw error;
  }
}
