// `aerie releases list|show ID|create|delete ID|devices ID` over the REST API.
import { client, need, output, parse, runCommand } from "../lib/operator.js";

export const summary = "Releases: list, show ID, create --name N --version V --artifact ID…, delete ID, devices ID";

const HELP = `Usage: aerie releases <action> [options]
  list                               every release
  show ID                            a release with its artifacts
  create --name N --version V --artifact ID [--artifact ID…] [--upgradable-from V,…] [--description TEXT]
  delete ID                          delete a release no active campaign uses
  devices ID                         devices that installed it`;

export function run(args: string[]): Promise<number> {
  return runCommand("releases", HELP, args, async () => {
    const { values, positionals } = parse(args, {
      name: { type: "string" }, version: { type: "string" }, artifact: { type: "string", multiple: true }, "upgradable-from": { type: "string" }, description: { type: "string" },
    });
    const api = client(values);
    const [action, id] = positionals;
    switch (action) {
      case "list":
        output(await api.request("GET", "/api/v1/releases"), values.json, ["id", "name", "version", "status", "createdAt"]);
        return 0;
      case "show":
        output(await api.request("GET", `/api/v1/releases/${need(id, "ID")}`), values.json);
        return 0;
      case "devices":
        output(await api.request("GET", `/api/v1/releases/${need(id, "ID")}/devices`), values.json, ["controllerId", "campaign", "installedAt"]);
        return 0;
      case "delete":
        output(await api.request("DELETE", `/api/v1/releases/${need(id, "ID")}`), values.json);
        return 0;
      case "create":
        output(await api.request("POST", "/api/v1/releases", {
          name: need(values.name, "--name"), version: need(values.version, "--version"), artifacts: values.artifact ?? [],
          ...(values["upgradable-from"] ? { upgradableFrom: values["upgradable-from"].split(",") } : {}), ...(values.description ? { description: values.description } : {}),
        }), values.json);
        return 0;
      default:
        console.error(`aerie releases: unknown action ${action}\n\n${HELP}`);
        return 2;
    }
  });
}
