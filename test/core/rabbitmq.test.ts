// The RabbitMQ launcher the DMF tests stand on: a real Debian rabbitmq-server on loopback that takes
// only its own user, keeps virtual hosts apart, and leaves no Erlang process behind.
import { expect } from "chai";
import amqp from "amqplib";
import { startRabbitMq, type RabbitMq } from "../../infrastructure/rabbitmq/launcher.js";
import { tempDir } from "../helpers/env.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("infrastructure: RabbitMQ launcher", function () {
  this.timeout(120_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let broker: RabbitMq;

  before(async () => {
    dir = await tempDir("aerie-rabbitmq-");
    broker = await startRabbitMq({ dir: dir.path, vhost: "tenant-a" });
  });

  after(async () => {
    await broker?.stop();
    await dir?.remove();
  });

  it("takes its own user on its vhost and refuses guest and a wrong password", async () => {
    const connection = await amqp.connect(broker.url);
    const channel = await connection.createChannel();
    await channel.assertQueue("probe", { autoDelete: true });
    await connection.close();
    for (const url of [`amqp://guest:guest@127.0.0.1:${broker.port}/tenant-a`, `amqp://${broker.user}:wrong@127.0.0.1:${broker.port}/tenant-a`]) {
      let refused: unknown;
      await amqp.connect(url).then((c) => c.close(), (error) => (refused = error));
      expect(refused, url.replace(/:[^:@]*@/, ":***@")).to.be.instanceOf(Error);
    }
  });

  it("keeps virtual hosts apart", async () => {
    const other = await broker.addVhost("tenant-b");
    const a = await amqp.connect(broker.url);
    const b = await amqp.connect(other);
    try {
      await (await a.createChannel()).assertQueue("only-in-a", { durable: false });
      const channel = await b.createChannel();
      let missing: unknown;
      channel.on("error", () => undefined);
      await channel.checkQueue("only-in-a").catch((error) => (missing = error));
      expect(String(missing)).to.match(/404|NOT_FOUND/);
    } finally {
      await a.close();
      await b.close().catch(() => undefined);
    }
  });

  it("stops the broker and its port mapper", async () => {
    const pid = broker.pid;
    await broker.stop();
    expect(alive(pid)).to.equal(false);
    let refused: unknown;
    await amqp.connect(broker.url).then((c) => c.close(), (error) => (refused = error));
    expect(refused).to.be.instanceOf(Error);
  });
});
