// `npm run simulate -- --devices 20 --url mqtt://… --api http://…`: attaches simulated devices to a running Aerie
// from the shell. Each device logs in to the broker with its own token (issued over the API with an admin token,
// unless --no-credentials), fetches the keyring, says hello, sends telemetry and installs what it is sent,
// checking size, sha256 and signature. Runs until Ctrl-C, then says goodbye (availability offline) and exits.
import { parseArgs } from "node:util";
import { AerieClient } from "../lib/aerie-client.js";
import { SimulatedDevice } from "./device.js";

const HELP = `Usage: npm run simulate -- [options]

Attaches simulated devices to a running Aerie (MQTT protocol v1) until Ctrl-C.

Options:
  --devices N             how many devices (default 10)
  --url URL               the MQTT broker devices use (default mqtt://127.0.0.1:1883)
  --api URL               Aerie's API, for the keyring and device tokens (default http://127.0.0.1:8080)
  --token TOKEN           an admin API token to issue device MQTT tokens (default: AERIE_TOKEN)
  --no-credentials        connect without device tokens (a broker with AERIE_DEVICE_AUTH=off)
  --prefix P              controller ids P-001, P-002, … (default sim)
  --hardware LIST         hardware types, assigned round robin (default sim-board-rev-a)
  --version V             installed rootfs version at start (default 1.0.0)
  --update-client C       swupdate or rauc (default swupdate)
  --failure-rate R        share of devices whose installs fail, 0..1 (default 0)
  --unhealthy-rate R      share of devices that report unhealthy after an update, 0..1 (default 0)
  --telemetry-ms MS       telemetry period per device (default 5000; 0: none)
  --attribute K=V         an attribute of every device (repeatable), e.g. --attribute region=eu
  --vin                   give each device a VIN as secondary id
  -h, --help              this text`;

function rate(value: string | undefined, name: string): number {
  const n = Number(value ?? 0);
  if (!(n >= 0 && n <= 1)) throw new Error(`--${name} must be between 0 and 1`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        devices: { type: "string", default: "10" }, url: { type: "string", default: "mqtt://127.0.0.1:1883" }, api: { type: "string", default: "http://127.0.0.1:8080" },
        token: { type: "string" }, "no-credentials": { type: "boolean", default: false }, prefix: { type: "string", default: "sim" },
        hardware: { type: "string", default: "sim-board-rev-a" }, version: { type: "string", default: "1.0.0" }, "update-client": { type: "string", default: "swupdate" },
        "failure-rate": { type: "string" }, "unhealthy-rate": { type: "string" }, "telemetry-ms": { type: "string", default: "5000" },
        attribute: { type: "string", multiple: true, default: [] }, vin: { type: "boolean", default: false }, help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`simulate: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const count = Number(values.devices);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) {
    console.error("simulate: --devices must be an integer from 1 to 10000");
    return 2;
  }
  const updateClient = values["update-client"];
  if (updateClient !== "swupdate" && updateClient !== "rauc") {
    console.error("simulate: --update-client must be swupdate or rauc");
    return 2;
  }
  let failureRate: number;
  let unhealthyRate: number;
  try {
    failureRate = rate(values["failure-rate"], "failure-rate");
    unhealthyRate = rate(values["unhealthy-rate"], "unhealthy-rate");
  } catch (error) {
    console.error(`simulate: ${(error as Error).message}`);
    return 2;
  }
  const attributes: Record<string, string> = {};
  for (const pair of values.attribute) {
    const [key, ...rest] = pair.split("=");
    if (!key || rest.length === 0) {
      console.error(`simulate: --attribute must be key=value (got ${pair})`);
      return 2;
    }
    attributes[key] = rest.join("=");
  }
  const token = values.token ?? process.env.AERIE_TOKEN;
  const credentials = !values["no-credentials"];
  if (credentials && !token) {
    console.error("simulate: device tokens need an admin API token (--token or AERIE_TOKEN), or pass --no-credentials");
    return 2;
  }
  const api = new AerieClient(values.api, token);
  const keyring = new Map((await api.keyring()).keys.map((k) => [k.version, k.pem] as const));
  const hardware = values.hardware.split(",").map((h) => h.trim()).filter(Boolean);
  const failing = Math.round(count * failureRate);
  const unhealthy = Math.round(count * unhealthyRate);
  const devices: SimulatedDevice[] = [];
  for (let i = 1; i <= count; i++) {
    const controllerId = `${values.prefix}-${String(i).padStart(3, "0")}`;
    const device = new SimulatedDevice({
      controllerId, mqttUrl: values.url, keyring, hardware: hardware[(i - 1) % hardware.length], version: values.version, updateClient,
      attributes, secondaryIds: values.vin ? { vin: `SIM${String(i).padStart(14, "0")}` } : undefined,
      telemetryIntervalMs: Number(values["telemetry-ms"]) || undefined,
      // The last devices are the failing and unhealthy ones, so which ones is predictable.
      failInstall: i > count - failing, healthy: !(i > count - failing - unhealthy && i <= count - failing),
      token: credentials ? await api.issueDeviceToken(controllerId) : undefined,
    });
    await device.start();
    devices.push(device);
    device.nextOutcome().then(function report(outcome): void {
      console.log(`${controllerId}: action ${outcome.actionId} ${outcome.status}${outcome.version ? ` → ${outcome.version}` : ""}${outcome.detail ? ` (${outcome.detail})` : ""}`);
      void device.nextOutcome().then(report);
    });
  }
  console.log(`${count} simulated devices attached to ${values.url} (${failing} failing installs, ${unhealthy} unhealthy); Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  console.log("stopping: devices go offline");
  await Promise.all(devices.map((d) => d.stop().catch(() => undefined)));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`simulate: ${(error as Error).message}`);
    process.exit(1);
  },
);
