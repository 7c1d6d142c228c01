#!/usr/bin/env node
// The `aerie` command runs the TypeScript sources through tsx, so a checkout works without a build.
import { register } from "tsx/esm/api";
import { fileURLToPath } from "node:url";

register();
const entry = new URL("../cli/aerie.ts", import.meta.url);
const { main } = await import(fileURLToPath(entry));
process.exitCode = await main(process.argv.slice(2));
