// `tsx infrastructure/vault-standin/main.ts`: a local Vault stand-in for development and demos.
// Configuration comes from the environment so that no secret appears on a command line.
import { logger } from "../../core/log.js";
import { startVaultStandin } from "./index.js";

const log = logger("vault-standin");

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

async function main(): Promise<void> {
  const roleId = process.env.VAULT_STANDIN_ROLE_ID;
  const secretId = process.env.VAULT_STANDIN_SECRET_ID;
  const standin = await startVaultStandin({
    host: process.env.VAULT_STANDIN_HOST ?? "127.0.0.1",
    port: Number(process.env.VAULT_STANDIN_PORT ?? 8200),
    dataDir: process.env.VAULT_STANDIN_DATA_DIR ?? "data/vault-standin",
    rootToken: required("VAULT_STANDIN_ROOT_TOKEN"),
    appRole: roleId && secretId ? { roleId, secretId } : undefined,
  });
  console.log(`vault stand-in listening on ${standin.url}`);
  const stop = (): void => {
    standin.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: Error) => {
  log.error({ err: error.message }, "vault stand-in failed to start");
  console.error(`vault stand-in: ${error.message}`);
  process.exitCode = 1;
});
