// PUBACKs leave each MQTT connection in arrival order, so the bridge reads hello/availability/request (which may
// wait for hawkBit) on a connection of its own: a hello stuck on hawkBit must not hold back telemetry.
import { expect } from "chai";
import mqtt from "mqtt";
import { CREDENTIALS } from "../helpers/hawkbit-conformance.js";
import { type BridgeBehindProxy, startBridgeBehindProxy, startInProcessBridge, until } from "./helpers.js";
import { RawDevice } from "./raw-device.js";

describe("bridge: a hello waiting for hawkBit does not hold back telemetry", function () {
  this.timeout(60_000);
  let setup: BridgeBehindProxy;
  let device: RawDevice | undefined;

  before(async () => {
    setup = await startBridgeBehindProxy("lanes-bridge");
  });

  after(async () => {
    await device?.client.endAsync().catch(() => undefined);
    await setup?.stop();
  });

  it("stores and acknowledges telemetry while the device's hello waits for hawkBit, then finishes the hello", async () => {
    // The hello of a new device registers it in hawkBit through a DDI poll: held here until released.
    const held = setup.proxy.holdNext("GET", `/${CREDENTIALS.tenant}/controller/v1/lanes-1`);
    device = await RawDevice.connect(setup.brokerUrl, "lanes-1");
    await device.send("hello", { messageId: device.messageId(), updateClient: "rauc", hardware: "board-z", versions: { rootfs: "1.0.0" } });
    await held.arrived;
    for (let i = 0; i < 20; i++) await device.send("telemetry", { messageId: `lt-${i}`, ts: new Date().toISOString(), metrics: { i } });
    await until("telemetry stored", async () => (await setup.database.count("SELECT count(*) AS n FROM telemetry WHERE controller_id = 'lanes-1'")) === 20);
    // Only the hello is still unacknowledged.
    await until("telemetry acknowledged", async () => setup.bridge.bridge.inFlight === 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(setup.bridge.bridge.inFlight).to.equal(1);

    held.release();
    await until("hello acknowledged", async () => setup.bridge.bridge.inFlight === 0);
    await until("target in hawkBit", async () => (await setup.bridge.management.getTargetAttributes("lanes-1").catch(() => undefined))?.updateClient === "rauc");
  });

  it("drops, from a session kept by a one-connection bridge, the subscriptions that now belong to the other connection", async () => {
    // The session an earlier bridge left: every device kind subscribed under the instance's client id.
    const old = await mqtt.connectAsync(setup.brokerUrl, { clientId: "upgraded-bridge", clean: false });
    await old.subscribeAsync(Object.fromEntries(["hello", "availability", "telemetry", "feedback", "consent", "health", "request/+"].map((k) => [`aerie/v1/devices/+/${k}`, { qos: 1 as const }])));
    await old.endAsync();
    const upgraded = await startInProcessBridge(setup.database, setup.standin, { mqttUrl: setup.brokerUrl, clientId: "upgraded-bridge", extensions: ["registration"] });
    try {
      const hellos = async () => Number((await upgraded.metrics.registry.getSingleMetric("aerie_bridge_messages_total")!.get()).values.find((v) => v.labels.kind === "hello")?.value ?? 0);
      const other = await RawDevice.connect(setup.brokerUrl, "lanes-2");
      await other.send("hello", { messageId: other.messageId(), updateClient: "swupdate", versions: { rootfs: "1.0.0" } });
      await other.send("telemetry", { messageId: "once", ts: new Date().toISOString(), metrics: {} });
      await until("hello read", async () => (await hellos()) >= 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await hellos()).to.equal(1);
      await other.client.endAsync();
    } finally {
      await upgraded.stop();
    }
  });

  it("sent hawkBit only conformant requests", () => {
    setup.standin.assertConformant();
  });
});
