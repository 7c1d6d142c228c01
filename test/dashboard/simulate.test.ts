// `npm run simulate` from the shell against a running Aerie: devices log in with tokens issued over the API,
// register with their hardware, attributes and VINs, and go offline on Ctrl-C (exit code 0). Bad options: exit 2.
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

const CLI = ["--import", "tsx", "scripts/simulator/cli.ts"];

describe("npm run simulate", function () {
  this.timeout(180_000);
  let test: TestStack;

  before(async () => {
    test = await startTestStack();
  });

  after(async () => {
    await test?.stop();
  });

  it("prints its options with --help and refuses bad ones with exit code 2", () => {
    const help = spawnSync(process.execPath, [...CLI, "--help"], { encoding: "utf8" });
    expect(help.status).to.equal(0);
    expect(help.stdout).to.contain("--failure-rate");
    const bad = spawnSync(process.execPath, [...CLI, "--failure-rate", "2"], { encoding: "utf8" });
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain("--failure-rate");
  });

  it("attaches devices to a running Aerie until interrupted", async () => {
    const child = spawn(process.execPath, [...CLI, "--devices", "3", "--url", test.stack.endpoints.mqtt, "--api", test.stack.endpoints.api,
      "--hardware", "board-x,board-y", "--attribute", "region=eu", "--vin", "--prefix", "shell", "--telemetry-ms", "200"], {
      env: { ...process.env, AERIE_TOKEN: test.adminToken }, stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    type List = { summary: { online: number; byHardware: Record<string, number> }; devices: { controllerId: string; identifiers: Record<string, string>; attributes: Record<string, string> }[] };
    const list = await waitFor("3 online devices", async () => {
      const l = await test.api.request<List>("GET", "/api/v1/devices?search=shell");
      return l.summary.online === 3 ? l : undefined;
    }, 60_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${output}`);
    });
    expect(list.summary.byHardware).to.deep.equal({ "board-x": 2, "board-y": 1 });
    expect(list.devices[0]!.identifiers.vin).to.match(/^SIM\d{14}$/);
    expect(list.devices[0]!.attributes.region).to.equal("eu");
    child.kill("SIGINT");
    expect(await exited, output).to.equal(0);
    await waitFor("offline", async () => ((await test.api.request<List>("GET", "/api/v1/devices?search=shell&online=true")).summary.online === 0 ? true : undefined), 30_000);
  });
});
