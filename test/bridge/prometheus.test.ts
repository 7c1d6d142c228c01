// Prometheus integration: the real Debian prometheus scrapes Aerie's /metrics every second, and what it stored
// is checked through its HTTP API — the fleet gauges and counters carry the values the device traffic implies,
// and no series is labelled per device (label cardinality stays flat as the fleet grows).
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AerieClient } from "../../scripts/lib/aerie-client.js";
import { loadConfig } from "../../core/config.js";
import { startAerie, type AerieStack } from "../../core/stack.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { freePort, tempDir } from "../helpers/env.js";
import { until } from "./helpers.js";

const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";
const TELEMETRY_PER_DEVICE = 5;
const DEVICES = ["prom-dev-1", "prom-dev-2", "prom-dev-3", "prom-dev-4"];

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe("Prometheus scrapes Aerie's fleet metrics", function () {
  this.timeout(120_000);
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  let stack: AerieStack | undefined;
  let prometheus: ChildProcess | undefined;
  let promUrl = "";
  let promOutput = "";
  const devices: SimulatedDevice[] = [];

  async function query(expression: string): Promise<Sample[]> {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expression)}`);
    const body = (await response.json()) as { status: string; data: { result: Sample[] }; error?: string };
    if (body.status !== "success") throw new Error(`query ${expression}: ${body.error}`);
    return body.data.result;
  }

  /** The single value of `expression` once Prometheus has it equal to `expected` (first scrape: after 5–6 s). */
  async function expectValue(expression: string, expected: number, timeoutMs = 45_000): Promise<void> {
    let last: string | undefined;
    await until(`${expression} == ${expected} in Prometheus`, async () => {
      const result = await query(expression);
      last = result.map((s) => s.value[1]).join(",") || "no sample";
      return result.length === 1 && Number(result[0]!.value[1]) === expected;
    }, timeoutMs, 250).catch((error) => {
      throw new Error(`${(error as Error).message}; Prometheus had ${last}`);
    });
  }

  before(async function () {
    if (!existsSync(PROMETHEUS_BIN)) {
      console.log(`    skipped: no prometheus binary at ${PROMETHEUS_BIN} (apt-get install --no-install-recommends prometheus)`);
      this.skip();
    }
    dir = await tempDir("aerie-prometheus-");
    stack = await startAerie(loadConfig({
      AERIE_DATA_DIR: join(dir.path, "aerie"),
      AERIE_LOG_LEVEL: process.env.AERIE_LOG_LEVEL ?? "silent",
      AERIE_POSTGRES_PORT: String(await freePort()),
      AERIE_API_PORT: String(await freePort()),
      AERIE_MQTT_PORT: String(await freePort()),
      AERIE_S3_PORT: String(await freePort()),
      AERIE_VAULT_PORT: String(await freePort()),
      AERIE_HAWKBIT_PORT: String(await freePort()),
    }));

    const api = new URL(stack.endpoints.api);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const configFile = join(dir.path, "prometheus.yml");
    await writeFile(configFile, [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: aerie",
      "    metrics_path: /metrics",
      // /metrics takes a token unless AERIE_METRICS_PUBLIC=true; Prometheus sends it as a bearer token.
      "    authorization:",
      `      credentials: ${stack.adminToken}`,
      "    static_configs:",
      `      - targets: ["${api.host}"]`,
      "",
    ].join("\n"));
    prometheus = spawn(PROMETHEUS_BIN, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir.path, "prometheus-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    prometheus.stdout!.on("data", (c: Buffer) => void (promOutput = (promOutput + c.toString()).slice(-8000)));
    prometheus.stderr!.on("data", (c: Buffer) => void (promOutput = (promOutput + c.toString()).slice(-8000)));
    await until("prometheus ready", async () => {
      if (prometheus!.exitCode !== null) throw new Error(`prometheus exited: ${promOutput}`);
      return (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200;
    }, 20_000, 100);

    // Device traffic: four devices say hello, three stay online, each sends telemetry; one message is
    // delivered twice (stored once), two are malformed (dead letters).
    const client = new AerieClient(stack.endpoints.api, stack.adminToken);
    for (const controllerId of DEVICES) {
      const device = new SimulatedDevice({ controllerId, mqttUrl: stack.endpoints.mqtt, keyring: new Map(), token: await client.issueDeviceToken(controllerId) });
      await device.start();
      devices.push(device);
    }
    let duplicate = "";
    for (const device of devices.slice(0, 3)) {
      for (let i = 0; i < TELEMETRY_PER_DEVICE; i++) duplicate = await device.sendTelemetry({ temperature: 40 + i });
    }
    await devices[3]!.stop();
    // Each on the device's own connection: the broker admits a device only as itself.
    // A redelivery: the same message (messageId and ts) again.
    expect(JSON.parse(devices[2]!.lastTelemetry!).messageId).to.equal(duplicate);
    await devices[2]!.publishRaw("aerie/v1/devices/prom-dev-3/telemetry", devices[2]!.lastTelemetry!);
    await devices[1]!.publishRaw("aerie/v1/devices/prom-dev-2/telemetry", "{not json");
    await devices[1]!.publishRaw("aerie/v1/devices/prom-dev-2/feedback", JSON.stringify({ messageId: "x", actionId: "seven", status: "success" }));
  });

  after(async () => {
    for (const device of devices) await device.stop().catch(() => undefined);
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = new Promise<void>((resolve) => prometheus!.once("exit", () => resolve()));
      prometheus.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000).then(() => prometheus!.kill("SIGKILL"))]);
      await exited;
    }
    await stack?.stop();
    await dir?.remove();
  });

  it("scrapes /metrics successfully", async () => {
    await expectValue('up{job="aerie"}', 1);
    const health = await fetch(`${promUrl}/api/v1/targets`).then((r) => r.json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
    expect(health.data.activeTargets.map((t) => [t.health, t.lastError])).to.deep.equal([["up", ""]]);
  });

  it("has the fleet gauges: online devices, devices by version, leadership", async () => {
    // The gauges are refreshed from Postgres every 15 s (fleet-gauges.ts), then scraped within 1 s.
    await expectValue("aerie_devices_online", 3);
    await expectValue('aerie_devices_by_version{version="1.0.0"}', DEVICES.length);
    await expectValue("aerie_bridge_leader", 1);
  });

  it("has the counters: telemetry rows (duplicates excluded), dead letters by reason, messages by kind", async () => {
    await expectValue("aerie_telemetry_rows_total", 3 * TELEMETRY_PER_DEVICE);
    await expectValue('aerie_bridge_dead_letters_total{reason="not-json"}', 1);
    await expectValue('aerie_bridge_dead_letters_total{reason="schema"}', 1);
    await expectValue("sum(aerie_bridge_dead_letters_total)", 2);
    await expectValue('aerie_bridge_messages_total{kind="hello"}', DEVICES.length);
    // 15 stored, the duplicate and the malformed one received too.
    const telemetry = await query('aerie_bridge_messages_total{kind="telemetry"}');
    expect(Number(telemetry[0]?.value[1])).to.be.at.least(3 * TELEMETRY_PER_DEVICE + 1);
    await expectValue("aerie_telemetry_write_errors_total", 0);
  });

  it("labels no series per device (label cardinality)", async () => {
    const response = await fetch(`${promUrl}/api/v1/series?${new URLSearchParams({ "match[]": '{job="aerie"}' })}`);
    const series = ((await response.json()) as { data: Record<string, string>[] }).data;
    expect(series.length, "series scraped from Aerie").to.be.greaterThan(20);
    const labelNames = new Set(series.flatMap((s) => Object.keys(s)));
    const perDevice = [...labelNames].filter((name) => /device|controller|client|target|topic/i.test(name));
    expect(perDevice, "label names that identify a device").to.deep.equal([]);
    const offending = series.filter((s) => Object.entries(s).some(([name, value]) => name !== "__name__" && DEVICES.some((id) => value.includes(id))));
    expect(offending, "series with a controller id in a label value").to.deep.equal([]);
    // One series per metric where no label is declared: the online gauge is a single fleet-wide number.
    expect(series.filter((s) => s.__name__ === "aerie_devices_online")).to.have.length(1);
  });
});
