// Writes bridge/protocol/schemas/*.json from schemas.ts (the source of truth); run after changing it:
//   npx tsx bridge/protocol/write-schemas.ts
import { mkdir, writeFile } from "node:fs/promises";
import { SCHEMAS } from "./schemas.js";

export const SCHEMA_DIR = new URL("./schemas/", import.meta.url);

export function schemaFiles(): Record<string, string> {
  return Object.fromEntries(Object.entries(SCHEMAS).map(([name, schema]) => [
    `${name}.json`,
    `${JSON.stringify({ $schema: "https://json-schema.org/draft/2020-12/schema", ...schema }, null, 2)}\n`,
  ]));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  await mkdir(SCHEMA_DIR, { recursive: true });
  for (const [file, text] of Object.entries(schemaFiles())) await writeFile(new URL(file, SCHEMA_DIR), text);
}
