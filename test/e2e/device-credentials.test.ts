// Device credentials as an operator uses them: issued through the API, required by the embedded
// broker with AERIE_DEVICE_AUTH=token, and refused once revoked.
import { expect } from "chai";
import mqtt from "mqtt";
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
    test = await startTestStack({ AERIE_DEVICE_AUTH: "token" });
    ({ stack, api } = test);
  });

  after(async () => {
    await test?.stop();
  });

  it("admits a device only with the token issued for it, until the token is revoked", async () => {
    const issued = await api.request<{ controllerId: string; username: string; token: string }>("POST", "/api/v1/devices/cred-1/credentials");
    expect(issued.username).to.equal("cred-1");
    expect(issued.token).to.have.length.greaterThan(30);

    expect(await connectError(stack.endpoints.mqtt, { clientId: "device-cred-1" }), "anonymous").to.match(/Not authorized|Bad username or password/i);
    expect(await connectError(stack.endpoints.mqtt, { clientId: "device-cred-1", username: "cred-1", password: "guess" }), "wrong token").to.match(/Not authorized|Bad username or password/i);

    const device = new SimulatedDevice({ controllerId: "cred-1", mqttUrl: stack.endpoints.mqtt, keyring: await test.keyring(), token: issued.token });
    await device.start();
    await waitFor("registration", async () => ((await api.devices()).total === 1 ? true : undefined), 20_000);
    await device.stop();

    await api.request("DELETE", "/api/v1/devices/cred-1/credentials", undefined, [204]);
    expect(await connectError(stack.endpoints.mqtt, { clientId: "device-cred-1", username: "cred-1", password: issued.token }), "revoked").to.match(/Not authorized|Bad username or password/i);
    await api.request("DELETE", "/api/v1/devices/cred-1/credentials", undefined, [404]);
    await api.request("POST", "/api/v1/devices/bad%20id/credentials", undefined, [400]);
  });
});
