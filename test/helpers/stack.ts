// Aerie on its embedded stack for a test file: a private data folder, free loopback ports, and one
// stop() that ends every process and removes the folder.
import { loadConfig, type AerieConfig } from "../../core/config.js";
import { startAerie, type AerieStack } from "../../core/stack.js";
import { newSecret } from "../../api/auth/tokens.js";
import { AerieClient } from "../../scripts/lib/aerie-client.js";
import { freePort, tempDir } from "./env.js";

export interface TestStack {
  stack: AerieStack;
  config: AerieConfig;
  /** Client with the bootstrap admin token. */
  api: AerieClient;
  /** The bootstrap admin token (AERIE_BOOTSTRAP_TOKEN), for tests that call the API with fetch. */
  adminToken: string;
  dataDir: string;
  /** Public keys by version, as a simulated device needs them. */
  keyring(): Promise<Map<number, string>>;
  /** Issues a device's MQTT token through the API (the broker requires device login by default). */
  deviceToken(controllerId: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestStack(settings: Record<string, string> = {}): Promise<TestStack> {
  const dir = await tempDir();
  const config = loadConfig({
    AERIE_DATA_DIR: dir.path,
    AERIE_POSTGRES_PORT: String(await freePort()),
    AERIE_API_PORT: "0",
    AERIE_MQTT_PORT: "0",
    AERIE_S3_PORT: "0",
    AERIE_HAWKBIT_PORT: "0",
    AERIE_VAULT_PORT: "0",
    AERIE_BOOTSTRAP_TOKEN: newSecret(),
    ...settings,
  });
  let stack: AerieStack;
  try {
    stack = await startAerie(config);
  } catch (error) {
    await dir.remove();
    throw error;
  }
  const adminToken = stack.adminToken!;
  const api = new AerieClient(stack.endpoints.api, adminToken);
  return {
    stack,
    config,
    api,
    adminToken,
    dataDir: dir.path,
    keyring: async () => new Map((await api.keyring()).keys.map((k) => [k.version, k.pem] as const)),
    deviceToken: (controllerId) => api.issueDeviceToken(controllerId),
    async stop() {
      await stack.stop();
      await dir.remove();
    },
  };
}
