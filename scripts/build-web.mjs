#!/usr/bin/env node
// Builds the dashboard (web/, React + Vite) into web/dist, which the API serves at /. Run by `npm install`
// (postinstall) and before `npm start` (prestart); skipped when web/dist is newer than every source file, so a
// start costs a build only after the dashboard changed. `--force` always builds. Built files are never committed.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL("../web/", import.meta.url));
const marker = join(web, "dist", "index.html");

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const sources = ["src", "index.html", "vite.config.ts"].map((p) => join(web, p));
const stale = process.argv.includes("--force") || !existsSync(marker) || Math.max(...sources.map(newest)) > statSync(marker).mtimeMs;
if (!stale) process.exit(0);

let build;
try {
  ({ build } = await import("vite"));
} catch {
  // A production install without devDependencies: the dashboard needs a full `npm install` to be built.
  console.warn("dashboard not built: vite is not installed (npm install without --omit=dev builds it)");
  process.exit(0);
}
const started = Date.now();
await build({ configFile: join(web, "vite.config.ts"), logLevel: "warn" });
console.log(`dashboard built into web/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
