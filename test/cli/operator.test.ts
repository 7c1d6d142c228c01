// The operator CLI over the REST API of a running Aerie, as a shell user runs it: token from AERIE_TOKEN, upload,
// release, preview, campaign creation and `campaigns watch` to the end with simulated devices (exit 0), --json
// output, exit code 2 for bad usage and 1 for a refused token.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { tempDir } from "../helpers/env.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

const run = promisify(execFile);

describe("aerie operator CLI", function () {
  this.timeout(240_000);
  let test: TestStack;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const devices: SimulatedDevice[] = [];

  const aerie = async (args: string[], token?: string): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, ["bin/aerie.js", ...args], { env: { ...process.env, AERIE_URL: test.stack.endpoints.api, AERIE_TOKEN: token ?? test.adminToken, AERIE_CONFIG: join(dir.path, "none.json") } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  before(async () => {
    dir = await tempDir("aerie-cli-");
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
    const keyring = await test.keyring();
    for (const id of ["cli-1", "cli-2"]) {
      const device = new SimulatedDevice({ controllerId: id, mqttUrl: test.stack.endpoints.mqtt, keyring, token: await test.deviceToken(id) });
      await device.start();
      devices.push(device);
    }
    await waitFor("registration", async () => ((await test.api.devices()).total === 2 ? true : undefined), 30_000);
  });

  after(async () => {
    for (const d of devices) await d.stop().catch(() => undefined);
    await test?.stop();
    await dir?.remove();
  });

  it("uploads, releases, previews, creates and watches a campaign to finished", async () => {
    const file = join(dir.path, "cli-2.0.0.swu");
    writeFileSync(file, randomBytes(64 * 1024));
    const upload = await aerie(["artifacts", "create", file, "--sign", "--json"]);
    expect(upload.code, upload.stderr).to.equal(0);
    const artifact = JSON.parse(upload.stdout) as { id: string; size: number; signatures: unknown[] };
    expect(artifact.size).to.equal(64 * 1024);
    expect(artifact.signatures).to.have.length(1);

    const release = await aerie(["releases", "create", "--name", "cli-os", "--version", "2.0.0", "--artifact", artifact.id, "--json"]);
    expect(release.code, release.stderr).to.equal(0);
    const releaseId = (JSON.parse(release.stdout) as { id: string }).id;

    const preview = await aerie(["campaigns", "preview", "--release", releaseId, "--selection", "controllerId==cli-*"]);
    expect(preview.stdout).to.contain("2 selected: cli-1, cli-2");

    const created = await aerie(["campaigns", "create", "--name", "cli-campaign", "--release", releaseId, "--selection", "controllerId==cli-*", "--groups", "2", "--start", "--json"]);
    expect(created.code, created.stderr).to.equal(0);
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const watched = await aerie(["campaigns", "watch", id, "--interval", "0.5"]);
    expect(watched.code, watched.stdout + watched.stderr).to.equal(0);
    expect(watched.stdout).to.contain("finished");
    expect(watched.stdout).to.match(/group-1 +\[#+\] 1\/1/);

    const list = await aerie(["devices", "list", "--json"]);
    expect((JSON.parse(list.stdout) as { devices: { runningVersion: string }[] }).devices.map((d) => d.runningVersion)).to.deep.equal(["2.0.0", "2.0.0"]);
    const table = await aerie(["campaigns", "list"]);
    expect(table.stdout).to.match(/cli-campaign +finished/);

    // Decommissioning: the finished campaign no longer holds the device.
    const first = (JSON.parse(list.stdout) as { devices: { controllerId: string }[] }).devices[0]!.controllerId;
    const deleted = await aerie(["devices", "delete", first, "--json"]);
    expect(deleted.code, deleted.stderr).to.equal(0);
    expect(JSON.parse(deleted.stdout)).to.deep.equal({ controllerId: first, deleted: true });
    expect((await aerie(["devices", "show", first])).code).to.equal(1);
  });

  it("exits 2 on bad usage and 1 when the API refuses", async () => {
    expect((await aerie(["campaigns"])).code).to.equal(2);
    expect((await aerie(["campaigns", "frobnicate", "x"])).code).to.equal(2);
    expect((await aerie(["releases", "create", "--name", "x"])).code).to.equal(2);
    const refused = await aerie(["campaigns", "list"], "aerie_not-a-valid-token");
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain("HTTP 401");
    expect((await aerie(["artifacts", "--help"])).stdout).to.contain("Exit codes");
  });
});
