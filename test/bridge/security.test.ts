// Device authentication and topic ACLs on both brokers: aedes (hooks, tokens checked in Postgres) and
// Debian mosquitto (generated password and ACL files). A device is confined to its own subtree.
import { expect } from "chai";
import mqtt, { type MqttClient } from "mqtt";
import { aedesAuth } from "../../bridge/auth/aedes-auth.js";
import { writeMosquittoAuthFiles } from "../../bridge/auth/mosquitto-files.js";
import { provisionDevice, revokeDevice, verifyDeviceToken } from "../../bridge/provisioning.js";
import { startEmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";
import { freePort, tempDir } from "../helpers/env.js";
import { startTestDatabase, startTestMosquitto, until, type TestDatabase } from "./helpers.js";

const BASE = "aerie/v1";
const SERVICE = { "aerie-bridge": "bridge-secret-1" };

async function refused(url: string, username: string, password: string, protocolVersion: 4 | 5): Promise<boolean> {
  try {
    const client = await mqtt.connectAsync(url, { clientId: username, username, password, reconnectPeriod: 0, protocolVersion, connectTimeout: 5000 });
    await client.endAsync();
    return false;
  } catch {
    return true;
  }
}

function aclSuite(name: string, protocolVersion: 4 | 5, startBroker: (database: TestDatabase) => Promise<{ url: string; stop(): Promise<void> }>): void {
  describe(`bridge security on ${name}`, function () {
    this.timeout(60_000);
    let database: TestDatabase;
    let broker: { url: string; stop(): Promise<void> };
    const clients: MqttClient[] = [];
    const tokens: Record<string, string> = {};
    const connect = async (username: string, password: string) => {
      // sic: every client is ended in after(), also those a broker disconnected for a violation.
      // A device connects as itself (client id = controller id); the service account may use any id.
      const clientId = username in SERVICE ? `c-${username}-${clients.length}` : username;
      const client = await mqtt.connectAsync(broker.url, { clientId, username, password, reconnectPeriod: 0, protocolVersion });
      clients.push(client);
      return client;
    };

    before(async () => {
      database = await startTestDatabase();
      for (const id of ["sec-1", "sec-2", "sec-revoked"]) tokens[id] = (await provisionDevice(database.pool, id)).token;
      await revokeDevice(database.pool, "sec-revoked");
      broker = await startBroker(database);
    });

    after(async () => {
      for (const c of clients) await c.endAsync(true).catch(() => undefined);
      await broker?.stop();
      await database?.stop();
    });

    it("stores tokens hashed and checks them", async () => {
      const stored = (await database.pool.query("SELECT token_sha256, mosquitto_hash FROM device_credentials WHERE controller_id = 'sec-1'")).rows[0];
      expect(JSON.stringify(stored)).not.to.contain(tokens["sec-1"]);
      expect(await verifyDeviceToken(database.pool, "sec-1", tokens["sec-1"]!)).to.equal(true);
      expect(await verifyDeviceToken(database.pool, "sec-1", tokens["sec-2"]!)).to.equal(false);
      expect(await verifyDeviceToken(database.pool, "sec-revoked", tokens["sec-revoked"]!)).to.equal(false);
    });

    it("refuses a wrong token, another device's token, a revoked device and anonymous clients", async () => {
      expect(await refused(broker.url, "sec-1", "wrong", protocolVersion)).to.equal(true);
      expect(await refused(broker.url, "sec-1", tokens["sec-2"]!, protocolVersion)).to.equal(true);
      expect(await refused(broker.url, "sec-revoked", tokens["sec-revoked"]!, protocolVersion)).to.equal(true);
      let anonymousRefused = false;
      try {
        const c = await mqtt.connectAsync(broker.url, { clientId: "anon", reconnectPeriod: 0, protocolVersion, connectTimeout: 5000 });
        await c.endAsync();
      } catch {
        anonymousRefused = true;
      }
      expect(anonymousRefused).to.equal(true);
    });

    it("lets a device publish upstream in its own subtree only, and read only its own subtree", async () => {
      const bridge = await connect("aerie-bridge", SERVICE["aerie-bridge"]);
      const seen: string[] = [];
      bridge.on("message", (topic) => seen.push(topic));
      await bridge.subscribeAsync(`${BASE}/#`, { qos: 1 });
      const dev1 = await connect("sec-1", tokens["sec-1"]!);
      const dev2 = await connect("sec-2", tokens["sec-2"]!);

      const own: string[] = [];
      dev1.on("message", (topic) => own.push(topic));
      const ownGranted = await dev1.subscribeAsync([`${BASE}/devices/sec-1/deployment`, `${BASE}/devices/sec-1/cancel`, `${BASE}/devices/sec-1/response/+`], { qos: 1 });
      expect(ownGranted.map((g) => g.qos)).to.deep.equal([1, 1, 1]);
      // Refused (aedes answers 0x80), or granted and then only what the ACL lets it read delivered (mosquitto
      // checks each message against the ACL): either way nothing below reaches it. Its own subtree as a whole
      // would echo its upstream messages back.
      for (const filter of [`${BASE}/devices/sec-1/#`, `${BASE}/devices/sec-2/deployment`, `${BASE}/devices/+/telemetry`, "#"]) {
        await dev1.subscribeAsync(filter, { qos: 1 }).catch(() => undefined);
      }
      await bridge.publishAsync(`${BASE}/devices/sec-2/deployment`, "{}", { qos: 1 });
      await bridge.publishAsync(`${BASE}/devices/sec-1/deployment`, "{}", { qos: 1 });
      await until("own deployment delivered", async () => own.includes(`${BASE}/devices/sec-1/deployment`));
      expect(own.filter((t) => !t.startsWith(`${BASE}/devices/sec-1/`))).to.deep.equal([]);

      await dev1.publishAsync(`${BASE}/devices/sec-1/telemetry`, "{}", { qos: 1 });
      await until("own telemetry through", async () => seen.includes(`${BASE}/devices/sec-1/telemetry`));
      await bridge.publishAsync(`${BASE}/devices/sec-1/response/ping`, "{}", { qos: 1 });
      await until("own response delivered", async () => own.includes(`${BASE}/devices/sec-1/response/ping`));
      // No echo of its own telemetry.
      expect([...new Set(own)]).to.deep.equal([`${BASE}/devices/sec-1/deployment`, `${BASE}/devices/sec-1/response/ping`]);

      // Not delivered: someone else's telemetry, a forged deployment, the operators' subtree. On MQTT v5
      // mosquitto answers with reason code 0x87; on 3.1.1 the broker drops it (aedes also disconnects).
      const before = seen.length;
      for (const topic of [`${BASE}/devices/sec-1/telemetry`, `${BASE}/devices/sec-2/deployment`, `${BASE}/operators/x`]) {
        // A refused QoS1 publish may never be acknowledged (aedes closes the connection instead).
        await Promise.race([dev2.publishAsync(topic, "{}", { qos: 1 }).catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
      }
      await dev1.publishAsync(`${BASE}/devices/sec-1/availability`, "{\"state\":\"online\"}", { qos: 1 }).catch(() => undefined);
      await until("a later allowed message", async () => seen.includes(`${BASE}/devices/sec-1/availability`));
      expect(seen.slice(before)).to.deep.equal([`${BASE}/devices/sec-1/availability`]);
    });
  });
}

aclSuite("aedes", 4, async (database) => {
  const broker = await startEmbeddedBroker({ host: "127.0.0.1", port: await freePort(), auth: aedesAuth({ pool: database.pool, baseTopic: BASE, services: SERVICE }) });
  return { url: broker.url, stop: () => broker.stop() };
});

aclSuite("mosquitto", 5, async (database) => {
  const dir = await tempDir("aerie-mosquitto-auth-");
  const files = await writeMosquittoAuthFiles({ pool: database.pool, dir: dir.path, baseTopic: BASE, services: SERVICE });
  const broker = await startTestMosquitto({ auth: files });
  return { url: broker.url, stop: async () => { await broker.remove(); await dir.remove(); } };
});
