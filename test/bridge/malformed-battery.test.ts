// The malformed-payload battery of issue 9 (item 8) against the embedded broker with device login and the
// real bridge: not JSON, wrong types, 1-100 MB, deep nesting, invalid UTF-8, huge message ids, each sent
// twice. Before: the bridge's broker connection dropped in 6 of 6 runs, redelivery wrote thousands of
// duplicate dead letters, and one 100 MB message added 104 MB to the database and 700 MB to the process.
// Now: the bridge's connections hold, each message that reaches the bridge is one truncated dead letter,
// packets above AERIE_MQTT_MAX_PACKET_BYTES are cut at the broker, and memory returns near its baseline.
import { expect } from "chai";
import v8 from "node:v8";
import vm from "node:vm";
import mqtt from "mqtt";
import { aedesAuth } from "../../bridge/auth/aedes-auth.js";
import { DEAD_LETTER_PAYLOAD_BYTES, DEFAULT_PAYLOAD_LIMITS } from "../../bridge/protocol/limits.js";
import { provisionDevice } from "../../bridge/provisioning.js";
import { DEFAULT_MAX_PACKET_BYTES, startEmbeddedBroker, type EmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";
import { freePort } from "../helpers/env.js";
import { startConformantStandin, type ConformantStandin } from "../helpers/hawkbit-conformance.js";
import { startInProcessBridge, startTestDatabase, until, type InProcessBridge, type TestDatabase } from "./helpers.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const BASE = "aerie/v1";
const DEVICE = "bat-1";
const BRIDGE_ID = "battery-bridge";
const BRIDGE = { username: "aerie-bridge", password: "battery-bridge-secret" };
const MB = 1_000_000;
const TS = "2026-12-05T10:00:00.000Z";

type Expect = "dead letter" | "cut at the broker";
interface Case { name: string; leaf?: string; payload: () => Buffer; expect: Expect; reason?: string }

const json = (value: string) => Buffer.from(value, "utf8");
const CASES: Case[] = [
  { name: "not JSON", payload: () => json("{not json"), expect: "dead letter", reason: "not-json" },
  { name: "binary, not UTF-8", payload: () => Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x7b]), expect: "dead letter", reason: "not-json" },
  { name: "wrong types (telemetry)", payload: () => json('{"messageId":5,"ts":"yesterday","metrics":[]}'), expect: "dead letter", reason: "schema" },
  { name: "wrong types (feedback)", leaf: "feedback", payload: () => json('{"messageId":"x","actionId":"seven","status":"success"}'), expect: "dead letter", reason: "schema" },
  { name: "deep nesting, 20 KB", payload: () => json(`{"messageId":"deep","ts":"${TS}","metrics":{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}}`), expect: "dead letter", reason: "schema" },
  { name: "deep nesting, 1 MB", payload: () => json("[".repeat(MB / 2) + "]".repeat(MB / 2)), expect: "dead letter", reason: "too-large" },
  { name: "invalid UTF-8 inside a string", payload: () => Buffer.concat([json('{"messageId":"'), Buffer.from([0xff, 0xfe, 0xc3]), json(`","ts":"${TS}","metrics":{}}`)]), expect: "dead letter", reason: "not-json" },
  { name: "messageId of 60 KB", payload: () => json(`{"messageId":"${"x".repeat(60_000)}","ts":"${TS}","metrics":{}}`), expect: "dead letter", reason: "schema" },
  { name: "messageId of 1 MB", payload: () => json(`{"messageId":"${"y".repeat(MB)}","ts":"${TS}","metrics":{}}`), expect: "dead letter", reason: "too-large" },
  { name: "telemetry of 1 MB", payload: () => json(`{"messageId":"big","ts":"${TS}","metrics":{"blob":"${"z".repeat(MB - 60)}"}}`), expect: "dead letter", reason: "too-large" },
  { name: "telemetry of 10 MB", payload: () => Buffer.alloc(10 * MB, 0x61), expect: "cut at the broker" },
  { name: "telemetry of 100 MB", payload: () => Buffer.alloc(100 * MB, 0x62), expect: "cut at the broker" },
];

function memory(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

describe("a battery of malformed MQTT payloads", function () {
  this.timeout(300_000);
  let database: TestDatabase;
  let standin: ConformantStandin;
  let broker: EmbeddedBroker;
  let bridge: InProcessBridge;
  let token: string;
  const bridgeDrops: string[] = [];

  /** One connection per message, as an attacker reconnecting after each cut would. */
  async function send(leaf: string, payload: Buffer): Promise<"acknowledged" | "closed"> {
    const client = await mqtt.connectAsync(broker.url, { clientId: DEVICE, username: DEVICE, password: token, reconnectPeriod: 0, connectTimeout: 10_000 });
    try {
      return await Promise.race([
        client.publishAsync(`${BASE}/devices/${DEVICE}/${leaf}`, payload, { qos: 1 }).then(() => "acknowledged" as const, () => "closed" as const),
        new Promise<"closed">((resolve) => client.once("close", () => resolve("closed"))),
      ]);
    } finally {
      await client.endAsync(true).catch(() => undefined);
    }
  }

  before(async () => {
    database = await startTestDatabase();
    standin = await startConformantStandin({ schedulerIntervalMs: 50 });
    token = (await provisionDevice(database.pool, DEVICE)).token;
    broker = await startEmbeddedBroker({
      host: "127.0.0.1", port: await freePort(), maxPacketBytes: DEFAULT_MAX_PACKET_BYTES,
      auth: aedesAuth({ pool: database.pool, baseTopic: BASE, services: { [BRIDGE.username]: BRIDGE.password }, serviceClientIds: [BRIDGE_ID, `${BRIDGE_ID}-presence`] }),
    });
    broker.broker.on("clientDisconnect", (client) => {
      if (client.id.startsWith(BRIDGE_ID)) bridgeDrops.push(client.id);
    });
    bridge = await startInProcessBridge(database, standin, { mqttUrl: broker.url, mqttUsername: BRIDGE.username, mqttPassword: BRIDGE.password, clientId: BRIDGE_ID });
    await until("the bridge connected", async () => bridge.bridge.connected);
  });

  after(async () => {
    await bridge?.stop();
    await broker?.stop();
    await standin?.dispose();
    await database?.stop();
  });

  it("keeps the bridge connected, stores each dead letter once and truncated, and returns to its memory baseline", async () => {
    // Warm up every path once (a valid message), then take the baseline.
    expect(await send("telemetry", json(`{"messageId":"warm-up","ts":"${TS}","metrics":{"t":1}}`))).to.equal("acknowledged");
    await until("the warm-up row", async () => (await database.count("SELECT count(*) AS n FROM telemetry WHERE controller_id = $1", [DEVICE])) === 1);
    const baseline = memory();
    const tableBefore = await database.count("SELECT pg_total_relation_size('dead_letters') AS n");

    const outcomes: Record<string, string[]> = {};
    let peak = 0;
    for (const c of CASES) {
      for (let round = 1; round <= 2; round++) {
        (outcomes[c.name] ??= []).push(await send(c.leaf ?? "telemetry", c.payload()));
        peak = Math.max(peak, process.memoryUsage().rss);
      }
    }
    const expected = CASES.filter((c) => c.expect === "dead letter");
    await until("every dead letter", async () => (await database.count("SELECT count(*) AS n FROM dead_letters")) >= expected.length, 30_000);
    // Whatever was still on its way (a redelivery) would have arrived by now.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const rows = (await database.pool.query<{ source: string; reason: string; bytes: number; kept: number }>(
      "SELECT source, reason, payload_bytes AS bytes, octet_length(payload) AS kept FROM dead_letters ORDER BY id",
    )).rows;
    expect(rows, JSON.stringify(rows.map((r) => [r.reason.slice(0, 40), r.bytes]))).to.have.length(expected.length);
    for (const c of expected) {
      const size = c.payload().length;
      const matching = rows.filter((r) => r.bytes === size && r.source.endsWith(`/${c.leaf ?? "telemetry"}`));
      expect(matching, c.name).to.have.length(1);
      expect(matching[0]!.reason.startsWith(`${c.reason}:`), `${c.name}: ${matching[0]!.reason.slice(0, 80)}`).to.equal(true);
      expect(matching[0]!.kept, c.name).to.equal(Math.min(size, DEAD_LETTER_PAYLOAD_BYTES));
      expect(outcomes[c.name], c.name).to.deep.equal(["acknowledged", "acknowledged"]);
    }
    for (const c of CASES.filter((x) => x.expect === "cut at the broker")) expect(outcomes[c.name], c.name).to.deep.equal(["closed", "closed"]);

    expect(bridgeDrops, "the bridge's connections dropped").to.deep.equal([]);
    expect(bridge.bridge.connected).to.equal(true);
    // Nothing malformed became a telemetry row; a valid message still goes through.
    expect(await send("telemetry", json(`{"messageId":"after","ts":"${TS}","metrics":{"t":2}}`))).to.equal("acknowledged");
    await until("the valid message after the battery", async () => (await database.count("SELECT count(*) AS n FROM telemetry WHERE controller_id = $1", [DEVICE])) === 2);

    const grown = (await database.count("SELECT pg_total_relation_size('dead_letters') AS n")) - tableBefore;
    const after = memory();
    console.log(`      dead letters: ${rows.length} rows, table +${(grown / 1024).toFixed(0)} KiB; heap+buffers ${(baseline / 2 ** 20).toFixed(0)} MiB before, ${(after / 2 ** 20).toFixed(0)} MiB after; peak rss ${(peak / 2 ** 20).toFixed(0)} MiB`);
    expect(grown, "dead_letters table growth").to.be.below(1024 * 1024);
    // The test's own 100 MB buffers are gone by now; what stays is Aerie's.
    expect(after - baseline, "memory above the baseline").to.be.below(32 * 2 ** 20);
    expect(DEFAULT_PAYLOAD_LIMITS.telemetry).to.equal(64 * 1024);
  });
});
