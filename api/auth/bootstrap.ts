// The first admin token, as Grafana does with its first admin password: on the first start Aerie creates
// it, prints it once on the console (never through the logger) and keeps it in DATA_DIR/secrets.json (0600)
// so tools on the same machine (npm run demo, tests) find it. AERIE_BOOTSTRAP_TOKEN sets it instead.
// Once revoked, it is not created again (unless AERIE_BOOTSTRAP_TOKEN names one).
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { logger } from "../../core/log.js";
import { newSecret, type TokenStore } from "./tokens.js";

const log = logger("auth");

async function readSecrets(file: string): Promise<Record<string, unknown>> {
  return existsSync(file) ? (JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>) : {};
}

async function writeSecrets(file: string, secrets: Record<string, unknown>): Promise<void> {
  const temp = `${file}.${process.pid}.auth.tmp`;
  await writeFile(temp, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  await rename(temp, file);
  await chmod(file, 0o600);
}

/** Makes sure the bootstrap admin token exists; returns its secret when known (env or secrets.json). */
export async function bootstrapAdminToken(tokens: TokenStore, dataDir: string, configured?: string, print: (text: string) => void = (t) => process.stdout.write(t)): Promise<string | undefined> {
  if (configured) {
    await tokens.ensureBootstrap(configured);
    return configured;
  }
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, "secrets.json");
  const stored = (await readSecrets(file)).adminToken;
  if (typeof stored === "string") {
    await tokens.ensureBootstrapIfPresent(stored);
    return stored;
  }
  if (await tokens.hasBootstrap()) return undefined;
  const secret = newSecret();
  await tokens.ensureBootstrap(secret);
  await writeSecrets(file, { ...(await readSecrets(file)), adminToken: secret });
  log.info({ file }, "created the bootstrap admin token (printed once on the console, kept in DATA_DIR/secrets.json)");
  print(`\n  Aerie bootstrap admin token (shown once; also in ${file}):\n\n    ${secret}\n\n  Create personal tokens with it (aerie tokens create --role operator) and revoke it when done.\n\n`);
  return secret;
}
