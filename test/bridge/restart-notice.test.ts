// The restart bug (issue 10, item 6): Aerie restarts with its in-memory broker, so no retained notice survives,
// and a device reconnects and says hello before the new bridge has subscribed, so its hello is lost. The new
// leader must still publish the device's pending deployment: it may not take an open action it read from
// Postgres for already announced.
import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import { startEmbeddedBroker } from "../../infrastructure/embedded/mqtt-broker.js";
import { freePort } from "../helpers/env.js";
import { startConformantStandin, type ConformantStandin } from "../helpers/hawkbit-conformance.js";
import { startInProcessBridge, startTestDatabase, until, type InProcessBridge, type TestDatabase } from "./helpers.js";
import { RawDevice, startRollout } from "./raw-device.js";

describe("bridge: a pending deployment after a restart, for a device whose hello came before the bridge", function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let standin: ConformantStandin;
  let broker: { url: string; stop(): Promise<void> } | undefined;
  let bridge: InProcessBridge | undefined;
  const clients: RawDevice[] = [];

  before(async () => {
    database = await startTestDatabase();
    standin = await startConformantStandin({ schedulerIntervalMs: 50 });
  });

  after(async () => {
    for (const d of clients) await d.client.endAsync().catch(() => undefined);
    await bridge?.stop();
    await broker?.stop();
    await standin?.dispose();
    await database?.stop();
  });

  it("publishes the open action's notice again from the new leader", async () => {
    const port = await freePort();
    broker = await startEmbeddedBroker({ host: "127.0.0.1", port });
    bridge = await startInProcessBridge(database, standin, { mqttUrl: broker.url, clientId: "rn-bridge-1" });
    await until("leadership", async () => bridge!.bridge.isLeader);
    const first = await RawDevice.connect(broker.url, "rn-1");
    clients.push(first);
    await first.send("hello", { messageId: first.messageId(), updateClient: "swupdate", hardware: "board-x", versions: { rootfs: "1.0.0" } });
    await until("rn-1 registered", async () => (await database.count("SELECT count(*) AS n FROM devices WHERE controller_id = 'rn-1'")) === 1);
    const actionId = await startRollout(bridge.management, "rn-rollout", "rn-1");
    const notice = await first.next<{ actionId: number }>("deployment");
    expect(notice.actionId).to.equal(actionId);

    // Aerie stops, and its broker with it: nothing retained survives.
    await first.client.endAsync();
    await bridge.stop();
    bridge = undefined;
    await broker.stop();
    broker = await startEmbeddedBroker({ host: "127.0.0.1", port });

    // The device is back first and says hello to nobody.
    const again = await RawDevice.connect(broker.url, "rn-1");
    clients.push(again);
    await again.send("hello", { messageId: again.messageId(), updateClient: "swupdate", hardware: "board-x", versions: { rootfs: "1.0.0" } });
    await sleep(200);
    const notices = () => again.received.filter((m) => m.topic === again.topic("deployment") && m.payload.length > 0);
    expect(notices(), "no notice before Aerie is back").to.deep.equal([]);

    bridge = await startInProcessBridge(database, standin, { mqttUrl: broker.url, clientId: "rn-bridge-2" });
    const renewed = await again.next<{ actionId: number }>("deployment");
    expect(renewed.actionId).to.equal(actionId);
  });

  it("sent hawkBit only conformant requests", () => standin.assertConformant());
});
