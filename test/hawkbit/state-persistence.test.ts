// The stand-in writes its state file in the background, coalesced, instead of once per request: changes must
// still reach the disk on their own, and every change answered before a clean shutdown (close, or SIGTERM to
// the stand-in's own process) must be there after a restart.
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import { freePort, tempDir } from "../helpers/env.js";
import { CREDENTIALS, type ConformantStandin, eventually, startConformantStandin } from "../helpers/hawkbit-conformance.js";

const MAIN = new URL("../../infrastructure/hawkbit-standin/main.ts", import.meta.url).pathname;
const client = (url: string) => new HawkbitManagementClient({ baseUrl: url, username: CREDENTIALS.username, password: CREDENTIALS.password });
const ddiOf = (url: string) => new DdiChannel({ baseUrl: url, tenant: CREDENTIALS.tenant, gatewayToken: CREDENTIALS.gatewayToken });

interface StoredState {
  targets: { controllerId: string; description?: string; lastControllerRequestAt?: number }[];
}

const stored = async (dir: string): Promise<StoredState> => JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as StoredState;

describe("hawkBit stand-in: coalesced state writes", () => {
  let dir: { path: string; remove: () => Promise<void> };
  let standin: ConformantStandin | undefined;

  beforeEach(async () => {
    dir = await tempDir("aerie-hawkbit-state-");
  });

  afterEach(async () => {
    const running = standin;
    standin = undefined;
    try {
      running?.assertConformant();
    } finally {
      await running?.close();
      await dir.remove();
    }
  });

  it("writes changes in the background, without waiting for a shutdown", async () => {
    standin = await startConformantStandin({ dataDir: dir.path });
    await client(standin.url).createTargets([{ controllerId: "bg-1", name: "bg-1" }, { controllerId: "bg-2", name: "bg-2" }]);
    await eventually(() => stored(dir.path), (s) => s.targets.filter((t) => t.controllerId.startsWith("bg-")).length === 2);
  });

  it("has every change answered before close on disk after a restart, and leaves no temp files", async () => {
    standin = await startConformantStandin({ dataDir: dir.path });
    let mgmt = client(standin.url);
    const ids = Array.from({ length: 300 }, (_, i) => `fleet-${i}`);
    await mgmt.createTargets(ids.map((controllerId) => ({ controllerId, name: controllerId })));
    await Promise.all(ids.slice(0, 50).map((id) => ddiOf(standin!.url).pollController(id)));
    await mgmt.updateTarget("fleet-299", { controllerId: "fleet-299", name: "fleet-299", description: "last change before the shutdown" });
    standin.assertConformant();
    const closing = standin.close();
    standin = undefined;
    await closing;
    expect((await readdir(dir.path)).filter((f) => f.endsWith(".tmp"))).to.deep.equal([]);

    standin = await startConformantStandin({ dataDir: dir.path });
    mgmt = client(standin.url);
    expect((await mgmt.listTargets({ q: "controllerId==fleet-*", limit: 500 })).total).to.equal(300);
    expect((await mgmt.getTarget("fleet-299")).description).to.equal("last change before the shutdown");
    expect((await mgmt.getTarget("fleet-49")).lastControllerRequestAt).to.be.a("number");
    expect((await mgmt.getTarget("fleet-50")).lastControllerRequestAt).to.equal(undefined);
  });

  it("writes the last changes when its own process gets SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
      env: {
        ...process.env, AERIE_LOG_LEVEL: "silent", HAWKBIT_STANDIN_PORT: String(port), HAWKBIT_STANDIN_DATA_DIR: dir.path,
        HAWKBIT_STANDIN_USERNAME: CREDENTIALS.username, HAWKBIT_STANDIN_PASSWORD: CREDENTIALS.password,
        HAWKBIT_STANDIN_GATEWAY_TOKEN: CREDENTIALS.gatewayToken, HAWKBIT_STANDIN_TENANT: CREDENTIALS.tenant,
      },
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      const mgmt = client(url);
      await eventually(() => mgmt.listTargets({ limit: 1 }).then(() => true, () => false), (up) => up, 30_000);
      await mgmt.createTargets([{ controllerId: "sigterm-1", name: "sigterm-1", description: "answered just before SIGTERM" }]);
      child.kill("SIGTERM");
      expect(await exited).to.equal(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    expect((await stored(dir.path)).targets.find((t) => t.controllerId === "sigterm-1")?.description).to.equal("answered just before SIGTERM");
  });
});
