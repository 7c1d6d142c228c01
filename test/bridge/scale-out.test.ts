// Several bridge instances on one mosquitto: MQTT v5 shared subscriptions split the device traffic,
// and exactly one instance (Postgres advisory lock) leads; when it is killed, another takes over.
import { expect } from "chai";
import { spawnBridge, startTestDatabase, startTestMosquitto, until, type BridgeChild, type TestDatabase } from "./helpers.js";
import { publishTelemetry } from "./load.js";

describe("bridge scale-out: shared subscriptions and leader election (mosquitto)", function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let broker: Awaited<ReturnType<typeof startTestMosquitto>>;
  const children: BridgeChild[] = [];
  const leaders = () => children.filter((c) => c.process.exitCode === null && c.process.signalCode === null && c.output().lastIndexOf("LEADER") > c.output().lastIndexOf("FOLLOWER"));

  before(async () => {
    database = await startTestDatabase();
    broker = await startTestMosquitto();
    for (const name of ["a", "b"]) {
      children.push(await spawnBridge({
        DATABASE_URL: database.url, MQTT_URL: broker.url, AERIE_BRIDGE_CLIENT_ID: `scale-${name}`, AERIE_BRIDGE_SHARE_GROUP: "aerie",
        BRIDGE_EXTENSIONS: "telemetry,retention",
      }));
    }
  });

  after(async () => {
    for (const child of children) await child.stop().catch(() => undefined);
    await broker?.remove();
    await database?.stop();
  });

  it("splits telemetry between two instances and stores every message exactly once", async () => {
    await publishTelemetry({ url: broker.url, clients: 4, perClient: 2_500, prefix: "shared" });
    await until("10,000 rows", async () => (await database.count("SELECT count(*) AS n FROM telemetry WHERE controller_id LIKE 'shared-%'")) === 10_000, 60_000, 100);
    const perInstance: number[] = [];
    for (const child of children) {
      await child.stop();
      perInstance.push(Number(/TELEMETRY ROWS (\d+)/.exec(child.output())?.[1] ?? -1));
    }
    expect(perInstance.reduce((a, b) => a + b, 0)).to.equal(10_000);
    for (const n of perInstance) expect(n).to.be.greaterThan(1_000);
    // Both back, for the election test.
    children.length = 0;
    for (const name of ["a", "b"]) {
      children.push(await spawnBridge({
        DATABASE_URL: database.url, MQTT_URL: broker.url, AERIE_BRIDGE_CLIENT_ID: `scale-${name}`, AERIE_BRIDGE_SHARE_GROUP: "aerie",
        BRIDGE_EXTENSIONS: "telemetry,retention",
      }));
    }
  });

  it("has exactly one leader, and another takes over when it is killed -9", async () => {
    const first = await until("one leader", async () => (leaders().length === 1 ? leaders()[0] : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(leaders()).to.have.length(1);
    await first.kill9();
    const second = await until("a new leader", async () => (leaders().length === 1 ? leaders()[0] : undefined), 20_000);
    expect(second).not.to.equal(first);
    const holders = await database.count("SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND a.application_name LIKE 'aerie-bridge-leader:%'");
    expect(holders).to.equal(1);
  });
});
