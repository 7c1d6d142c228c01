// Lossless telemetry on Debian mosquitto: the bridge (a child process) acknowledges a QoS1 message only
// after its row committed, keeps a persistent session, and holds back when Postgres is away.
import { expect } from "chai";
import mqtt, { type MqttClient } from "mqtt";
import { randomBytes } from "node:crypto";
import { spawnBridge, startTestDatabase, startTestMosquitto, until, type BridgeChild, type TestDatabase } from "./helpers.js";
import { publishTelemetry, telemetryPayload } from "./load.js";

describe("bridge: lossless telemetry into PostgreSQL (mosquitto, QoS1)", function () {
  this.timeout(240_000);
  let database: TestDatabase;
  let broker: Awaited<ReturnType<typeof startTestMosquitto>>;
  const children: BridgeChild[] = [];
  const clients: MqttClient[] = [];

  const bridgeEnv = () => ({ DATABASE_URL: database.url, MQTT_URL: broker.url, AERIE_BRIDGE_CLIENT_ID: "ingest-bridge", MQTT_PROTOCOL_VERSION: "5" });
  const rows = (prefix: string) => database.count("SELECT count(*) AS n FROM telemetry WHERE controller_id LIKE $1", [`${prefix}-%`]);

  before(async () => {
    database = await startTestDatabase();
    broker = await startTestMosquitto();
  });

  after(async () => {
    for (const client of clients) await client.endAsync().catch(() => undefined);
    for (const child of children) await child.stop().catch(() => undefined);
    await broker?.remove();
    await database?.stop();
  });

  it("kill -9 of the bridge while 100,000 QoS1 messages flow; after a restart exactly 100,000 unique rows", async () => {
    let bridge = await spawnBridge(bridgeEnv());
    children.push(bridge);
    const load = publishTelemetry({ url: broker.url, clients: 10, perClient: 10_000, prefix: "kill" });
    const atKill = await until("rows before the kill", async () => { const n = await rows("kill"); return n >= 15_000 ? n : undefined; }, 60_000, 20);
    await bridge.kill9();
    const published = await load;
    expect(published.sent).to.equal(100_000);
    const whileDown = await rows("kill");
    expect(whileDown).to.be.below(100_000);
    bridge = await spawnBridge(bridgeEnv());
    children.push(bridge);
    await until("100,000 rows", async () => (await rows("kill")) === 100_000, 120_000, 200);
    expect(atKill).to.be.below(100_000);
    expect(await database.count("SELECT count(DISTINCT message_id) AS n FROM telemetry WHERE controller_id LIKE 'kill-%'")).to.equal(100_000);
    await bridge.stop();
  });

  it("loses nothing when PostgreSQL restarts mid-stream", async () => {
    const bridge = await spawnBridge(bridgeEnv());
    children.push(bridge);
    const load = publishTelemetry({ url: broker.url, clients: 4, perClient: 5_000, prefix: "pgrestart" });
    await until("rows before the restart", async () => (await rows("pgrestart")) >= 3_000, 60_000, 20);
    await database.restart();
    await load;
    await until("20,000 rows", async () => (await rows("pgrestart")) === 20_000, 120_000, 200);
    expect(bridge.process.exitCode).to.equal(null);
    await bridge.stop();
  });

  it("turns malformed input into dead letters and keeps running", async () => {
    const bridge = await spawnBridge(bridgeEnv());
    children.push(bridge);
    const before = await database.count("SELECT count(*) AS n FROM dead_letters");
    const client = await mqtt.connectAsync(broker.url, { clientId: "fuzzer", protocolVersion: 5 });
    clients.push(client);
    const good = (id: string) => `aerie/v1/devices/${id}/telemetry`;
    const cases: [string, string | Buffer][] = [
      [good("fuzz-1"), "not json"],
      [good("fuzz-1"), "{\"messageId\":"],
      [good("fuzz-1"), "[]"],
      [good("fuzz-1"), "null"],
      [good("fuzz-1"), JSON.stringify({ messageId: "x" })],
      [good("fuzz-1"), JSON.stringify({ messageId: "x", ts: "yesterday", metrics: {} })],
      [good("fuzz-1"), JSON.stringify({ messageId: "x", ts: new Date().toISOString(), metrics: { nested: { a: 1 } } })],
      [good("fuzz-1"), JSON.stringify({ messageId: "nul", ts: new Date().toISOString(), metrics: { s: "a\u0000b" } })],
      [good("fuzz-1"), JSON.stringify({ messageId: "", ts: new Date().toISOString(), metrics: {} })],
      [good("fuzz-1"), JSON.stringify({ messageId: "y".repeat(500), ts: new Date().toISOString(), metrics: {} })],
      [good("fuzz-1"), JSON.stringify({ messageId: "year0", ts: "0000-01-01T00:00:00Z", metrics: {} })],
      [good("fuzz-1"), JSON.stringify({ messageId: "extra", ts: new Date().toISOString(), metrics: {}, evil: true })],
      [good("fuzz-1"), Buffer.from([0xff, 0xfe, 0x00, 0x01])],
      [good("fuzz-1"), "{".repeat(100_000)],
      [good("fuzz-1"), JSON.stringify({ messageId: "big", ts: new Date().toISOString(), metrics: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, i])) })],
      [good("bad id!"), telemetryPayload("x", 1)],
      ["aerie/v1/devices/fuzz-1/request/nonexistent", JSON.stringify({ correlationId: "c" })],
      ["aerie/v1/devices/fuzz-1/feedback", JSON.stringify({ messageId: "f", actionId: -1, status: "success" })],
      ["aerie/v1/devices/fuzz-1/hello", JSON.stringify({ updateClient: "mender" })],
      ["aerie/v1/devices/fuzz-1/consent", JSON.stringify({ messageId: "c", actionId: 1, decision: "maybe" })],
    ];
    for (let i = 0; i < 200; i++) cases.push([good(`fuzz-${i % 7}`), randomBytes(1 + (i * 37) % 300)]);
    for (const [topic, payload] of cases) await client.publishAsync(topic, payload, { qos: 1 });
    const expected = cases.length;
    await until("dead letters", async () => (await database.count("SELECT count(*) AS n FROM dead_letters")) - before >= expected, 30_000, 100);
    const valid = telemetryPayload("fuzz-ok", 1);
    await client.publishAsync(good("fuzz-ok"), valid, { qos: 1 });
    const stored = (id: string) => database.count("SELECT count(*) AS n FROM telemetry WHERE controller_id = $1", [id]);
    await until("a valid row after the fuzzing", async () => (await stored("fuzz-ok")) === 1);
    expect(await stored("fuzz-1")).to.equal(0);
    expect(bridge.process.exitCode).to.equal(null);
    await client.endAsync();
    await bridge.stop();
  });
});
