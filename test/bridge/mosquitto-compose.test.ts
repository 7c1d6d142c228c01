// docker-compose's mosquitto: its entrypoint (infrastructure/mosquitto/compose-entrypoint.sh) waits for
// the auth files Aerie keeps in AERIE_MOSQUITTO_AUTH_DIR, starts mosquitto with copies it owns, and
// reloads them when Aerie rewrites them. Run here with Debian's mosquitto and sh instead of the image's.
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { MosquittoAuthSync } from "../../bridge/auth/mosquitto-auth-sync.js";
import { provisionDevice, revokeDevice } from "../../bridge/provisioning.js";
import { logger } from "../../core/log.js";
import { MOSQUITTO_BIN } from "../../infrastructure/mosquitto/launcher.js";
import { freePort, tempDir } from "../helpers/env.js";
import { startTestDatabase, until, type TestDatabase } from "./helpers.js";

const SCRIPT = new URL("../../infrastructure/mosquitto/compose-entrypoint.sh", import.meta.url).pathname;

describe("docker-compose mosquitto with Aerie's generated auth files", function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let dir: { path: string; remove: () => Promise<void> };
  let entrypoint: ChildProcess | undefined;
  let output = "";

  before(async () => {
    database = await startTestDatabase();
    dir = await tempDir("aerie-compose-mosquitto-");
  });

  after(async () => {
    if (entrypoint && entrypoint.exitCode === null) entrypoint.kill("SIGKILL");
    await database?.stop();
    await dir?.remove();
  });

  async function canConnect(url: string, username: string, password: string): Promise<boolean> {
    try {
      const client = await mqtt.connectAsync(url, { clientId: `${username}-${Math.random()}`, username, password, reconnectPeriod: 0, connectTimeout: 3000 });
      await client.endAsync();
      return true;
    } catch {
      return false;
    }
  }

  it("starts mosquitto once Aerie wrote the files, follows credential changes, and stops on SIGTERM", async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const shared = join(dir.path, "shared");
    const installed = join(dir.path, "installed");
    const root = userInfo().uid === 0;
    const config = join(dir.path, "mosquitto.conf");
    await writeFile(config, [
      `listener ${port} 127.0.0.1`, "allow_anonymous false", `password_file ${installed}/passwd`, `acl_file ${installed}/acl`,
      // As in the image: started as root, mosquitto runs as its own user, who owns the installed copies.
      ...(root ? ["user mosquitto"] : []), "log_dest stderr", "",
    ].join("\n"));
    entrypoint = spawn("sh", [SCRIPT], {
      env: { ...process.env, AERIE_AUTH_SOURCE: shared, MOSQUITTO_AUTH_DIR: installed, MOSQUITTO_CONFIG: config, MOSQUITTO_OWNER: root ? "mosquitto" : userInfo().username, AUTH_POLL_SECONDS: "0.2", MOSQUITTO_BIN },
      stdio: ["ignore", "pipe", "pipe"],
    });
    entrypoint.stdout!.on("data", (c: Buffer) => void (output += c.toString()));
    entrypoint.stderr!.on("data", (c: Buffer) => void (output += c.toString()));

    await until("the entrypoint waiting for Aerie's files", async () => output.includes("waiting for Aerie's password and ACL files"));
    expect(await canConnect(url, "aerie-bridge", "bridge-secret")).to.equal(false);

    const first = await provisionDevice(database.pool, "cmp-1");
    const sync = new MosquittoAuthSync({ pool: database.pool, dir: shared, baseTopic: "aerie/v1", services: { "aerie-bridge": "bridge-secret" }, log: logger("test") });
    await sync.write();
    await until("mosquitto accepting the bridge", () => canConnect(url, "aerie-bridge", "bridge-secret"), 20_000, 100);
    expect(await canConnect(url, "cmp-1", first.token)).to.equal(true);
    expect(await canConnect(url, "cmp-1", "wrong-token")).to.equal(false);

    const second = await provisionDevice(database.pool, "cmp-2");
    expect(await canConnect(url, "cmp-2", second.token)).to.equal(false);
    await sync.credentialsChanged();
    await until("mosquitto reloading the new device", () => canConnect(url, "cmp-2", second.token), 20_000, 100);

    await revokeDevice(database.pool, "cmp-1");
    await sync.credentialsChanged();
    await until("mosquitto forgetting the revoked device", async () => !(await canConnect(url, "cmp-1", first.token)), 20_000, 100);
    expect(await canConnect(url, "cmp-2", second.token)).to.equal(true);

    entrypoint.kill("SIGTERM");
    await until("the entrypoint exiting", async () => entrypoint!.exitCode !== null || entrypoint!.signalCode !== null, 10_000, 50);
    expect(await canConnect(url, "cmp-2", second.token)).to.equal(false);
  });
});
