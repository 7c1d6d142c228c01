// `aerie devices list|show ID|delete ID` over the REST API.
import { client, need, output, parse, runCommand } from "../lib/operator.js";

export const summary = "Devices: list [--search S] [--online true|false] [--hardware H] [--attribute k=v], show ID, delete ID";

const HELP = `Usage: aerie devices <action> [options]
  list [--search S] [--online true|false] [--hardware H] [--version V] [--attribute k=v…] [--limit N]
  show ID                  a device with versions, actions (with feedback) and health reports
  delete ID                remove a device from hawkBit, the registry and the broker (admin; refused while an action of it is open)`;

export function run(args: string[]): Promise<number> {
  return runCommand("devices", HELP, args, async () => {
    const { values, positionals } = parse(args, {
      search: { type: "string" }, online: { type: "string" }, hardware: { type: "string" }, version: { type: "string" }, attribute: { type: "string", multiple: true }, limit: { type: "string" },
    });
    const api = client(values);
    const [action, id] = positionals;
    if (action === "show") {
      output(await api.request("GET", `/api/v1/devices/${encodeURIComponent(need(id, "ID"))}`), values.json);
      return 0;
    }
    if (action === "delete") {
      const controllerId = need(id, "ID");
      await api.request("DELETE", `/api/v1/devices/${encodeURIComponent(controllerId)}`, undefined, [204]);
      if (values.json) output({ controllerId, deleted: true }, true);
      else console.log(`device ${controllerId} deleted`);
      return 0;
    }
    if (action !== "list") {
      console.error(`aerie devices: unknown action ${action}\n\n${HELP}`);
      return 2;
    }
    const q = new URLSearchParams();
    for (const k of ["search", "online", "hardware", "version", "limit"] as const) if (values[k]) q.set(k, values[k]!);
    for (const a of values.attribute ?? []) q.append("attribute", a);
    const list = await api.request<{ devices: unknown[]; summary: unknown }>("GET", `/api/v1/devices?${q}`);
    if (values.json) output(list, true);
    else output(list.devices, false, ["controllerId", "online", "hardware", "runningVersion", "lastSeenAt"]);
    return 0;
  });
}
