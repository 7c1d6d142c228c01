// npm run build:agent → dist/aerie-agent.cjs: the device agent and its dependencies (mqtt.js, ajv)
// in one CommonJS file for Node 20+, nothing else to install on the device.
import { chmod, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = process.argv[2] ?? join(root, "dist", "aerie-agent.cjs");
await mkdir(dirname(outfile), { recursive: true });
const result = await build({
  entryPoints: [join(root, "agent", "main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: false,
  sourcemap: false,
  legalComments: "none",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
  metafile: true,
});
await chmod(outfile, 0o755);
const bytes = Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
console.log(`${outfile} (${Math.round(bytes / 1024)} KiB)`);
