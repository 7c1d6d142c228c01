// Monitoring as code, checked against the real things: the committed rule file and Grafana dashboards are what
// infrastructure/observability/generate.ts makes; promtool (Debian's prometheus) accepts the rules and the
// config; a real Prometheus scrapes a running Aerie with the bearer token while simulated devices send
// telemetry, a malformed message and a campaign runs, and then every PromQL expression of every rule and panel
// returns data; every SQL panel query runs against the real schema.
import { expect } from "chai";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import pg from "pg";
import { ALERTS, DASHBOARDS, RECORDING_RULES } from "../../infrastructure/observability/monitoring.js";
import { generate } from "../../infrastructure/observability/generate.js";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { freePort, tempDir } from "../helpers/env.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

const INFRA = new URL("../../infrastructure/", import.meta.url).pathname;

/** Expressions every Prometheus panel and rule asks; alert expressions are conditions, so their left side is asked. */
function expressions(): { what: string; expr: string }[] {
  return [
    ...RECORDING_RULES.map((r) => ({ what: `recording rule ${r.record}`, expr: r.expr })),
    ...RECORDING_RULES.map((r) => ({ what: `recorded series ${r.record}`, expr: r.record })),
    ...ALERTS.map((a) => ({ what: `alert ${a.alert}`, expr: a.expr.replace(/ (==|>|<) [\d.]+/g, "") })),
    ...DASHBOARDS.flatMap((d) => d.panels.flatMap((p) => (p.kind === "prometheus" ? [{ what: `${d.title} / ${p.title}`, expr: p.expr }] : []))),
  ];
}

describe("monitoring: Prometheus rules, Grafana dashboards, against a real Prometheus and schema", function () {
  this.timeout(300_000);
  let test: TestStack;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  const devices: SimulatedDevice[] = [];

  before(async () => {
    dir = await tempDir("aerie-prometheus-");
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
  });

  after(async () => {
    for (const d of devices) await d.stop().catch(() => undefined);
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill("SIGTERM");
      await new Promise((r) => prometheus!.once("exit", r));
    }
    await test?.stop();
    await dir?.remove();
  });

  it("has the generated rule file and dashboards committed as generated", () => {
    for (const [path, text] of Object.entries(generate())) expect(readFileSync(join(INFRA, path), "utf8"), `infrastructure/${path} (run infrastructure/observability/generate.ts)`).to.equal(text);
    for (const d of DASHBOARDS) expect(JSON.parse(readFileSync(join(INFRA, "grafana/dashboards", `${d.uid}.json`), "utf8")).panels).to.have.length(d.panels.length);
  });

  it("passes promtool check rules and check config", () => {
    const rules = join(dir.path, "rules.yml");
    writeFileSync(rules, readFileSync(join(INFRA, "prometheus/rules.yml")));
    writeFileSync(join(dir.path, "aerie-token"), test.adminToken);
    const config = readFileSync(join(INFRA, "prometheus/prometheus.yml"), "utf8").replaceAll("/etc/prometheus/", `${dir.path}/`);
    writeFileSync(join(dir.path, "prometheus.yml"), config);
    expect(execFileSync("promtool", ["check", "rules", rules], { encoding: "utf8" })).to.contain("SUCCESS");
    expect(execFileSync("promtool", ["check", "config", join(dir.path, "prometheus.yml")], { encoding: "utf8" })).to.contain("SUCCESS");
  });

  it("every PromQL expression of every rule and panel returns data from a real Prometheus scraping Aerie", async () => {
    // Scrape and evaluate every second, so that rates have samples within seconds.
    const target = new URL(test.stack.endpoints.api).host;
    const config = readFileSync(join(dir.path, "prometheus.yml"), "utf8").replace(/scrape_interval: \d+s/, "scrape_interval: 1s").replace(/evaluation_interval: \d+s/, "evaluation_interval: 1s").replace('"aerie:8080"', `"${target}"`);
    writeFileSync(join(dir.path, "prometheus.yml"), config);
    writeFileSync(join(dir.path, "rules.yml"), readFileSync(join(dir.path, "rules.yml"), "utf8").replace("interval: 30s", "interval: 1s"));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    let log = "";
    prometheus = spawn("prometheus", [`--config.file=${join(dir.path, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir.path, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
    prometheus.stderr!.on("data", (d) => (log += d));

    // Activity: devices with telemetry, one malformed message (a dead letter), a campaign with a success and a failure.
    const keyring = await test.keyring();
    for (const [id, failInstall] of [["mon-1", false], ["mon-2", true]] as const) {
      const device = new SimulatedDevice({ controllerId: id, mqttUrl: test.stack.endpoints.mqtt, keyring, token: await test.deviceToken(id), telemetryIntervalMs: 200, failInstall });
      await device.start();
      devices.push(device);
    }
    const raw = await mqtt.connectAsync(test.stack.endpoints.mqtt, { username: "mon-raw", password: await test.deviceToken("mon-raw"), clientId: "mon-raw" });
    const image = randomBytes(4096);
    const artifact = await test.api.uploadArtifact("mon-2.0.0.swu", image, image.length);
    await test.api.signArtifact(artifact.id);
    const release = await test.api.createRelease({ name: "mon-os", version: "2.0.0", artifacts: [artifact.id] });
    const campaign = await test.api.request<{ id: string }>("POST", "/api/v1/campaigns", { name: "mon-campaign", releaseId: release.id, selection: "controllerId==mon-*", groups: 1, errorThreshold: 100, start: true });
    await waitFor("campaign ended", async () => (["finished", "stopped", "aborted"].includes((await test.api.campaign(campaign.id)).status) ? true : undefined), 120_000);
    // A malformed telemetry message is a dead letter.
    await raw.publishAsync("aerie/v1/devices/mon-raw/telemetry", "not json", { qos: 1 });
    await raw.endAsync();

    const query = async (expr: string) => {
      const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
    };
    await waitFor(`Prometheus scraping Aerie\n${log}`, async () => ((await query('up{job="aerie"} == 1').catch(() => undefined))?.data?.result.length ? true : undefined), 60_000);
    const empty = await waitFor("every expression to return data", async () => {
      const missing: string[] = [];
      for (const { what, expr } of expressions()) {
        const answer = await query(expr);
        expect(answer.status, `${what}: ${expr}: ${answer.error}`).to.equal("success");
        if (!answer.data?.result.length) missing.push(`${what}: ${expr}`);
      }
      return missing.length === 0 ? missing : undefined;
    }, 60_000).catch(async () => {
      const missing: string[] = [];
      for (const { what, expr } of expressions()) if (!(await query(expr)).data?.result.length) missing.push(`${what}: ${expr}`);
      return missing;
    });
    expect(empty, "expressions without data").to.deep.equal([]);
  });

  it("every SQL panel query runs against the real schema", async () => {
    const db = new pg.Client({ connectionString: test.stack.databaseUrl });
    await db.connect();
    try {
      for (const d of DASHBOARDS) {
        for (const p of d.panels) {
          if (p.kind !== "sql") continue;
          // Grafana's macro, as its PostgreSQL data source expands it.
          const sql = p.sql.replace(/\$__timeFilter\(([\w.]+)\)/g, "$1 BETWEEN now() - interval '6 hours' AND now()");
          await db.query(sql).catch((error: Error) => expect.fail(`${d.title} / ${p.title}: ${error.message}`));
        }
      }
      const counts = await db.query("SELECT count(*)::int AS n FROM devices");
      expect(counts.rows[0].n).to.be.greaterThan(0);
    } finally {
      await db.end();
    }
  });
});
