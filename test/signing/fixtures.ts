// Per-file Vault stand-in on a free loopback port, with its own data folder.
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startVaultStandin } from "../../infrastructure/vault-standin/index.js";
import { freePort, tempDir } from "../helpers/env.js";

export interface StandinFixture {
  url: string;
  rootToken: string;
  appRole: { roleId: string; secretId: string };
  dataDir: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  remove(): Promise<void>;
}

export async function standinFixture(options: { tokenTtlSeconds?: number } = {}): Promise<StandinFixture> {
  const dir = await tempDir("aerie-vault-");
  const rootToken = `root-${randomBytes(12).toString("hex")}`;
  const appRole = { roleId: `role-${randomBytes(6).toString("hex")}`, secretId: `secret-${randomBytes(12).toString("hex")}` };
  const port = await freePort();
  const start = () => startVaultStandin({ host: "127.0.0.1", port, dataDir: dir.path, rootToken, appRole, tokenTtlSeconds: options.tokenTtlSeconds });
  let server = await start();
  const fixture: StandinFixture = {
    url: server.url,
    rootToken,
    appRole,
    dataDir: dir.path,
    stop: () => server.close(),
    async restart() {
      await server.close();
      server = await start();
    },
    async remove() {
      await server.close().catch(() => undefined);
      await dir.remove();
    },
  };
  return fixture;
}

const run = promisify(execFile);

/** True when `tool` is on PATH; tests that need a Debian tool skip (with the reason) only when it is absent. */
export async function hasTool(tool: string): Promise<boolean> {
  try {
    await run("sh", ["-c", `command -v ${tool}`]);
    return true;
  } catch {
    return false;
  }
}
