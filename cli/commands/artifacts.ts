// `aerie artifacts list|show ID|create FILE|sign ID|delete ID` over the REST API; uploads show a progress bar.
import { createReadStream, statSync } from "node:fs";
import { basename } from "node:path";
import { Transform } from "node:stream";
import cliProgress from "cli-progress";
import { AerieApiError } from "../../scripts/lib/aerie-client.js";
import { client, need, output, parse, runCommand } from "../lib/operator.js";

export const summary = "Artifacts: list, show ID, create FILE [--hardware TYPE] (upload with progress), sign ID, delete ID";

const HELP = `Usage: aerie artifacts <action> [options]
  list [--unbound]                 every artifact
  show ID                          one artifact with its signatures
  create FILE [--hardware TYPE] [--name NAME] [--sign]
                                   upload (progress bar on a terminal), optionally sign with the Vault key
  sign ID                          sign with the Vault transit key
  delete ID                        delete an artifact no release holds`;

export function run(args: string[]): Promise<number> {
  return runCommand("artifacts", HELP, args, async () => {
    const { values, positionals } = parse(args, { unbound: { type: "boolean" }, hardware: { type: "string" }, name: { type: "string" }, sign: { type: "boolean" } });
    const api = client(values);
    const [action, id] = positionals;
    switch (action) {
      case "list":
        output(await api.request("GET", `/api/v1/artifacts${values.unbound ? "?unbound=true" : ""}`), values.json, ["id", "filename", "size", "hardwareType", "sha256"]);
        return 0;
      case "show":
        output(await api.request("GET", `/api/v1/artifacts/${need(id, "ID")}`), values.json);
        return 0;
      case "sign":
        output(await api.signArtifact(need(id, "ID")), values.json);
        return 0;
      case "delete":
        await api.request("DELETE", `/api/v1/artifacts/${need(id, "ID")}`, undefined, [204]);
        if (!values.json) console.log(`artifact ${id} deleted`);
        else output({ id, deleted: true }, true);
        return 0;
      case "create": {
        const file = need(id, "FILE");
        const size = statSync(file).size;
        const name = values.name ?? basename(file);
        // The bar goes to stderr and only on a terminal, so --json output and pipes stay clean.
        const bar = process.stderr.isTTY && !values.json ? new cliProgress.SingleBar({ format: `${name} [{bar}] {percentage}% {value}/{total} bytes`, stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
        bar?.start(size, 0);
        let sent = 0;
        const counting = new Transform({
          transform(chunk: Buffer, _enc, done) {
            sent += chunk.length;
            bar?.update(sent);
            done(null, chunk);
          },
        });
        const query = `filename=${encodeURIComponent(name)}${values.hardware ? `&hardwareType=${encodeURIComponent(values.hardware)}` : ""}`;
        const response = await fetch(`${api.baseUrl}/api/v1/artifacts?${query}`, {
          method: "POST", headers: { ...api.authorization, "content-type": "application/octet-stream", "content-length": String(size) },
          body: createReadStream(file).pipe(counting) as unknown as BodyInit, duplex: "half",
        } as RequestInit);
        bar?.stop();
        const body = await response.json();
        if (response.status !== 201) throw new AerieApiError(response.status, body);
        const signature = values.sign ? await api.signArtifact(body.id) : undefined;
        output(signature ? { ...body, signatures: [signature] } : body, values.json);
        return 0;
      }
      default:
        console.error(`aerie artifacts: unknown action ${action}\n\n${HELP}`);
        return 2;
    }
  });
}
