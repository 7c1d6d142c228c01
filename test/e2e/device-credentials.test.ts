// Device credentials as an operator uses them: issued through the API, required by the embedded
// broker with AERIE_DEVICE_AUTH=token, and refused once revoked.
import { expect } from "chai";
import mqtt from "mqtt";
import pg from "pg";
import { bridgeClientIds } from "../../bridge/index.js";
import type { AerieStack } from "../../core/stack.js";
import { type AerieClient, waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

async function connectError(url: string, options: mqtt.IClientOptions): Promise<string | undefined> {
  try {
    const client = await mqtt.connectAsync(url, { ...options, reconnectPeriod: 0, connectTimeout: 5000 });
    await client.endAsync();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

describe("device credentials through the API", function () {
  this.timeout(120_000);
  let test: TestStack;
  let stack: AerieStack;
  let api: AerieClient;

  before(async () => {
    // Device login is the default: nothing to turn on.
    test = await startTestStack();
    ({ stack, api } = test);
  });

  after(async () => {
    await test?.stop();
  });

  it("admits a device only with the token issued for it, until the token is revoked", async () => {
    const issued = await api.request<{ controllerId: string; username: string; token: string }>("POST", "/api/v1/devices/cred-1/credentials");
    expect(issued.username).to.equal("cred-1");
    expect(issued.token).to.have.length.greaterThan(30);

    expect(await connectError(stack.endpoints.mqtt, { clientId: "cred-1" }), "anonymous").to.match(/Not authorized|Bad username or password/i);
    expect(await connectError(stack.endpoints.mqtt, { clientId: "cred-1", username: "cred-1", password: "guess" }), "wrong token").to.match(/Not authorized|Bad username or password/i);

    const device = new SimulatedDevice({ controllerId: "cred-1", mqttUrl: stack.endpoints.mqtt, keyring: await test.keyring(), token: issued.token });
    await device.start();
    await waitFor("registration", async () => ((await api.devices()).total === 1 ? true : undefined), 20_000);
    await device.stop();

    await api.request("DELETE", "/api/v1/devices/cred-1/credentials", undefined, [204]);
    expect(await connectError(stack.endpoints.mqtt, { clientId: "cred-1", username: "cred-1", password: issued.token }), "revoked").to.match(/Not authorized|Bad username or password/i);
    await api.request("DELETE", "/api/v1/devices/cred-1/credentials", undefined, [404]);
    await api.request("POST", "/api/v1/devices/bad%20id/credentials", undefined, [400]);
  });

  it("replaces a live token only when asked to rotate, and closes the old token's connection", async () => {
    const first = await api.issueDeviceToken("cred-rot");
    const again = await api.request<{ error: { code: string; message: string } }>("POST", "/api/v1/devices/cred-rot/credentials", undefined, [409]);
    expect(again.error.code).to.equal("credentials_exist");
    expect(again.error.message).to.contain("rotate");
    await api.request("POST", "/api/v1/devices/cred-rot/credentials?rotate=maybe", undefined, [400]);

    const live = await mqtt.connectAsync(stack.endpoints.mqtt, { clientId: "cred-rot", username: "cred-rot", password: first, reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => live.once("close", () => resolve()));
    const second = await api.issueDeviceToken("cred-rot", true);
    expect(second).not.to.equal(first);
    await closed;
    expect(await connectError(stack.endpoints.mqtt, { clientId: "cred-rot", username: "cred-rot", password: first }), "old token").to.match(/Not authorized|Bad username or password/i);
    expect(await connectError(stack.endpoints.mqtt, { clientId: "cred-rot", username: "cred-rot", password: second }), "new token").to.equal(undefined);
    await live.endAsync(true);
  });

  it("ends a revoked device's live connection at once: nothing it sends afterwards is stored", async () => {
    const token = await api.issueDeviceToken("cred-rev");
    const live = await mqtt.connectAsync(stack.endpoints.mqtt, { clientId: "cred-rev", username: "cred-rev", password: token, reconnectPeriod: 0 });
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    try {
      const telemetry = (id: string) => JSON.stringify({ messageId: id, ts: new Date().toISOString(), metrics: { t: 1 } });
      await live.publishAsync("aerie/v1/devices/cred-rev/telemetry", telemetry("before"), { qos: 1 });
      await waitFor("telemetry before revocation", async () => ((await db.query("SELECT 1 FROM telemetry WHERE controller_id = 'cred-rev'")).rowCount ? true : undefined));
      const closed = new Promise<void>((resolve) => live.once("close", () => resolve()));
      await api.request("DELETE", "/api/v1/devices/cred-rev/credentials", undefined, [204]);
      await closed;
      expect(live.connected).to.equal(false);
      // The client library queues what it cannot send; nothing reaches the broker any more.
      live.publish("aerie/v1/devices/cred-rev/telemetry", telemetry("after"), { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const ids = (await db.query("SELECT message_id FROM telemetry WHERE controller_id = 'cred-rev'")).rows.map((r) => r.message_id);
      expect(ids).to.deep.equal(["before"]);
    } finally {
      await db.end();
      await live.endAsync(true);
    }
  });

  it("binds client ids to logins: a device cannot take another device's or the bridge's session", async () => {
    const token = await api.issueDeviceToken("cred-thief");
    for (const clientId of [...bridgeClientIds(test.config.bridgeClientId), "cred-rot", "device-cred-thief"]) {
      expect(await connectError(stack.endpoints.mqtt, { clientId, username: "cred-thief", password: token }), clientId).to.match(/Identifier rejected|client id/i);
    }
    // The bridge kept both its connections.
    expect((await fetch(`${stack.endpoints.api}/readyz`)).status).to.equal(200);
    expect(await connectError(stack.endpoints.mqtt, { clientId: "cred-thief", username: "cred-thief", password: token })).to.equal(undefined);
  });
});
