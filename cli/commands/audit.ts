// `aerie audit list [filters] [--format csv|json]` over GET /api/v1/audit.
import { client, output, parse, runCommand } from "../lib/operator.js";

export const summary = "Audit trail: list [--actor A] [--action X] [--subject S] [--from T] [--to T] [--format csv|json]";

const HELP = `Usage: aerie audit list [--actor A] [--action X] [--subject S] [--from RFC3339] [--to RFC3339] [--limit N] [--format csv|json]
  --format csv|json        the API's export (compliance report) written to stdout as is`;

export function run(args: string[]): Promise<number> {
  return runCommand("audit", HELP, args, async () => {
    const { values, positionals } = parse(args, {
      actor: { type: "string" }, action: { type: "string" }, subject: { type: "string" }, from: { type: "string" }, to: { type: "string" }, limit: { type: "string" }, format: { type: "string" },
    });
    if (positionals[0] !== "list") {
      console.error(`aerie audit: unknown action ${positionals[0]}\n\n${HELP}`);
      return 2;
    }
    const api = client(values);
    const q = new URLSearchParams();
    for (const k of ["actor", "action", "subject", "from", "to", "limit", "format"] as const) if (values[k]) q.set(k, values[k]!);
    if (values.format) {
      const response = await fetch(`${api.baseUrl}/api/v1/audit?${q}`, { headers: api.authorization });
      const text = await response.text();
      if (!response.ok) {
        console.error(`aerie audit: HTTP ${response.status}: ${text}`);
        return 1;
      }
      process.stdout.write(text);
      return 0;
    }
    const body = await api.request<unknown>("GET", `/api/v1/audit?${q}`);
    const events = Array.isArray(body) ? body : ((body as { events?: unknown[]; items?: unknown[] }).events ?? (body as { items?: unknown[] }).items ?? []);
    output(values.json ? body : events, values.json, ["at", "actor", "action", "subject"]);
    return 0;
  });
}
