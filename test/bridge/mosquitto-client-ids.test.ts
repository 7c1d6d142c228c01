// Debian's mosquitto with the files Aerie generates (AERIE_MOSQUITTO_AUTH_DIR): the client id is the login
// (use_username_as_clientid), so a device connecting with the bridge's client id neither takes over the
// bridge's session nor loses the telemetry the broker acknowledged (found before: 99 of 119 messages lost);
// the bridge's second connection has a login of its own; a revoked token stops counting once mosquitto
// reloads the files (SIGHUP), also for a connection that is already open.
import { expect } from "chai";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { MosquittoAuthSync } from "../../bridge/auth/mosquitto-auth-sync.js";
import { bridgeAccounts } from "../../bridge/auth/mosquitto-files.js";
import { provisionDevice, revokeDevice } from "../../bridge/provisioning.js";
import { logger } from "../../core/log.js";
import { tempDir } from "../helpers/env.js";
import { startConformantStandin, type ConformantStandin } from "../helpers/hawkbit-conformance.js";
import { startInProcessBridge, startTestDatabase, startTestMosquitto, until, type InProcessBridge, type TestDatabase } from "./helpers.js";

const BASE = "aerie/v1";
const BRIDGE_USER = "aerie-bridge";
const BRIDGE_PASSWORD = "bridge-secret-for-tests";

describe("mosquitto binds client ids to logins and drops revoked devices on reload", function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let standin: ConformantStandin;
  let authDir: { path: string; remove: () => Promise<void> };
  let sync: MosquittoAuthSync;
  let broker: Awaited<ReturnType<typeof startTestMosquitto>>;
  let bridge: InProcessBridge;
  const tokens: Record<string, string> = {};
  const clients: MqttClient[] = [];

  const connect = async (clientId: string, username: string, password: string) => {
    const client = await mqtt.connectAsync(broker.url, { clientId, username, password, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
    clients.push(client);
    return client;
  };
  const telemetry = (id: string) => JSON.stringify({ messageId: id, ts: new Date().toISOString(), metrics: { n: 1 } });
  const stored = async (controllerId: string) => database.count("SELECT count(*) AS n FROM telemetry WHERE controller_id = $1", [controllerId]);

  before(async () => {
    database = await startTestDatabase();
    standin = await startConformantStandin({ schedulerIntervalMs: 50 });
    for (const id of ["mq-thief", "mq-honest", "mq-revoked"]) tokens[id] = (await provisionDevice(database.pool, id)).token;
    authDir = await tempDir("aerie-mosquitto-auth-");
    sync = new MosquittoAuthSync({ pool: database.pool, dir: authDir.path, baseTopic: BASE, services: bridgeAccounts(BRIDGE_USER, BRIDGE_PASSWORD), log: logger("test") });
    await sync.write();
    broker = await startTestMosquitto({ auth: { passwordFile: join(authDir.path, "passwd"), aclFile: join(authDir.path, "acl") } });
    bridge = await startInProcessBridge(database, standin, {
      mqttUrl: broker.url, mqttUsername: BRIDGE_USER, mqttPassword: BRIDGE_PASSWORD, loginPerConnection: true, clientId: BRIDGE_USER, protocolVersion: 5,
      extensions: ["telemetry"],
    });
  });

  after(async () => {
    for (const client of clients) await client.endAsync(true).catch(() => undefined);
    await bridge?.stop();
    await broker?.remove();
    await authDir?.remove();
    await standin?.dispose();
    await database?.stop();
  });

  it("lets the bridge's two connections in with their own logins", async () => {
    await until("the bridge connected", async () => bridge.bridge.connected);
    // One login holds one connection: without its own account, the presence connection would take the first one's place.
    const files = await import("node:fs/promises").then((fs) => fs.readFile(join(authDir.path, "passwd"), "utf8"));
    expect(files.split("\n").map((l) => l.split(":")[0]).filter(Boolean)).to.include.members([BRIDGE_USER, `${BRIDGE_USER}-presence`]);
  });

  it("gives a device that claims the bridge's client id its own session: the bridge keeps its connections and every message", async () => {
    const honest = await connect("mq-honest", "mq-honest", tokens["mq-honest"]!);
    const overheard: string[] = [];
    const TOTAL = 119;
    for (let i = 1; i <= TOTAL; i++) {
      await honest.publishAsync(`${BASE}/devices/mq-honest/telemetry`, telemetry(`m-${i}`), { qos: 1 });
      if (i % 20 === 0) {
        // The takeover attempt, on both of the bridge's client ids.
        for (const clientId of [BRIDGE_USER, `${BRIDGE_USER}-presence`]) {
          const thief = await connect(clientId, "mq-thief", tokens["mq-thief"]!);
          thief.on("message", (topic) => overheard.push(topic));
          await thief.subscribeAsync(`${BASE}/devices/+/telemetry`, { qos: 1 }).catch(() => undefined);
        }
      }
    }
    await until(`all ${TOTAL} acknowledged messages stored`, async () => (await stored("mq-honest")) === TOTAL, 30_000);
    expect(bridge.bridge.connected).to.equal(true);
    expect(overheard).to.deep.equal([]);
    expect(await stored("mq-thief")).to.equal(0);
  });

  it("stops a revoked device's open connection from publishing once mosquitto reloads the files", async () => {
    const device = await connect("mq-revoked", "mq-revoked", tokens["mq-revoked"]!);
    let closed = false;
    device.on("close", () => void (closed = true));
    await device.publishAsync(`${BASE}/devices/mq-revoked/telemetry`, telemetry("before"), { qos: 1 });
    await until("telemetry before revocation", async () => (await stored("mq-revoked")) === 1);

    await revokeDevice(database.pool, "mq-revoked");
    await sync.write();
    broker.reload();
    // SIGHUP is handled by mosquitto's main loop, not at once: give it that moment.
    await new Promise((r) => setTimeout(r, 500));
    // Whatever the open connection still sends after the reload is refused (or the connection is gone).
    const deadline = Date.now() + 3000;
    let attempts = 0;
    while (Date.now() < deadline) {
      attempts++;
      await Promise.race([device.publishAsync(`${BASE}/devices/mq-revoked/telemetry`, telemetry(`after-${attempts}`), { qos: 1 }).catch(() => undefined), new Promise((r) => setTimeout(r, 300))]);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const rows = (await database.pool.query("SELECT message_id FROM telemetry WHERE controller_id = 'mq-revoked'")).rows.map((r) => r.message_id);
    expect(rows).to.deep.equal(["before"]);
    const late = rows.filter((id) => id !== "before");
    console.log(`      revoked connection: ${closed ? "closed by mosquitto" : "left open, every publish refused"}; ${attempts} attempts, ${late.length} stored`);
    await until("the revoked login refused", async () => {
      try {
        await (await mqtt.connectAsync(broker.url, { clientId: "mq-revoked", username: "mq-revoked", password: tokens["mq-revoked"]!, protocolVersion: 5, reconnectPeriod: 0 })).endAsync();
        return false;
      } catch {
        return true;
      }
    });
  });
});
