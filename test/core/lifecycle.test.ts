// `aerie start` as an operator runs it: a real child process, stopped by a signal.
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive } from "../../infrastructure/embedded/postgres.js";
import { freePort, tempDir } from "../helpers/env.js";

const BIN = new URL("../../bin/aerie.js", import.meta.url).pathname;

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("aerie start", function () {
  this.timeout(120_000);

  it("refuses an invalid variable with its name and exit code 2", async () => {
    const child = spawn(process.execPath, [BIN, "start"], { env: { ...process.env, AERIE_API_PORT: "99999" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    expect(await exitOf(child)).to.equal(2);
    expect(stderr).to.contain("AERIE_API_PORT").and.contain("port number");
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`runs the embedded stack and on ${signal} stops every process it started, exiting 0`, async () => {
      const dir = await tempDir();
      const ports = { api: await freePort(), pg: await freePort() };
      const child = spawn(process.execPath, [BIN, "start"], {
        env: {
          ...process.env,
          AERIE_LOG_LEVEL: "warn",
          AERIE_DATA_DIR: dir.path,
          AERIE_API_PORT: String(ports.api),
          AERIE_POSTGRES_PORT: String(ports.pg),
          AERIE_MQTT_PORT: "0",
          AERIE_S3_PORT: "0",
          AERIE_HAWKBIT_PORT: "0",
          AERIE_VAULT_PORT: "0",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const exited = exitOf(child);
      let stderr = "";
      child.stderr!.on("data", (chunk) => (stderr += chunk));
      try {
        let stdout = "";
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on("data", (chunk) => {
            stdout += chunk;
            if (stdout.includes("Press Ctrl-C to stop.")) resolve();
          });
          child.once("exit", (code) => reject(new Error(`exited early with ${code}: ${stdout}`)));
        });
        const ready = await fetch(`http://127.0.0.1:${ports.api}/readyz`);
        expect(ready.status).to.equal(200);
        const postgresPid = Number(readFileSync(join(dir.path, "postgres", "postmaster.pid"), "utf8").split("\n")[0]);
        expect(isAlive(postgresPid)).to.equal(true);

        child.kill(signal);
        expect(await exited).to.equal(0);
        expect(isAlive(postgresPid), "embedded PostgreSQL still running").to.equal(false);
        await fetch(`http://127.0.0.1:${ports.api}/healthz`).then(
          () => expect.fail("API still answering"),
          () => undefined,
        );
      } catch (error) {
        // What Aerie logged tells a crash from a refused connection.
        (error as Error).message += `\nexit code ${child.exitCode}, Aerie's stderr:\n${stderr.slice(-4000)}`;
        throw error;
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
        await dir.remove();
      }
    });
  }
});
