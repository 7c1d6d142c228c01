// Device credentials as an operator uses them: issued through the API, required by the embedded
// broker with AERIE_DEVICE_AUTH=token, and refused once revoked.
import { expect } from "chai";
import mqtt from "mqtt";
import { loadConfig } from "../../core/config.js";
import { startAerie, type AerieStack } from "../../core/stack.js";
import { AerieClient, waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { freePort, tempDir } from "../helpers/env.js";

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
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let stack: AerieStack;
  let api: AerieClient;

  before(async () => {
    dir = await tempDir();
    stack = await startAerie(
      loadConfig({
        AERIE_DATA_DIR: dir.path,
        AERIE_DEVICE_AUTH: "token",
        AERIE_POSTGRES_PORT: String(await freePort()),
        AERIE_API_PORT: "0",
        AERIE_MQTT_PORT: "0",
        AERIE_S3_PORT: "0",
        AERIE_HAWKBIT_PORT: "0",
        AERIE_VAULT_PORT: "0",
      }),
    );
    api = new AerieClient(stack.endpoints.api, "fleet-operator");
  });

  after(async () => {
    await stack?.stop();
    await dir?.remove();
  });

  it("admits a device only with the token issued for it, until the token is revoked", async () => {
    const issued = await api.request<{ controllerId: string; username: string; token: string }>("POST", "/api/v1/devices/cred-1/credentials");
    expect(issued.username).to.equal("cred-1");
    expect(issued.token).to.have.length.greaterThan(30);

    expect(await connectError(stack.endpoints.mqtt, { clientId: "device-cred-1" }), "anonymous").to.match(/Not authorized|Bad username or password/i);
    expect(await connectError(stack.endpoints.mqtt, { clientId: "device-cred-1", username: "cred-1", password: "guess" }), "wrong token").to.match(/Not authorized|Bad username or password/i);

    const keyring = new Map((await api.keyring()).keys.map((k) => [k.version, k.pem] as const));
    const device = new SimulatedDevice({ controllerId: "cred-1", mqttUrl: stack.endpoints.mqtt, keyring, token: issued.token });
    await device.start();
    await waitFor("registration", async () => ((await api.devices()).total === 1 ? true : undefined), 20_000);
    await device.stop();

    await api.request("DELETE", "/api/v1/devices/cred-1/credentials", undefined, [204]);
    expect(await connectError(stack.endpoints.mqtt, { clientId: "device-cred-1", username: "cred-1", password: issued.token }), "revoked").to.match(/Not authorized|Bad username or password/i);
    await api.request("DELETE", "/api/v1/devices/cred-1/credentials", undefined, [404]);
    await api.request("POST", "/api/v1/devices/bad%20id/credentials", undefined, [400]);
  });
});
