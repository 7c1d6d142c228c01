// hawkBit's Device Management Federation API on a real RabbitMQ: the stand-in's side as hawkBit 1.1.0 behaves
// (driven by a bare amqplib gateway, so the expectations do not come from Aerie's own client), then Aerie's
// DmfChannel through a whole update without a single DDI request.
import { createHash, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";
import { expect } from "chai";
import { DmfChannel } from "../../hawkbit/dmf/dmf-channel.js";
import { DMF_DEAD_LETTER_QUEUE, DMF_EXCHANGE } from "../../hawkbit/dmf/protocol.js";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { type HawkbitStandin, startHawkbitStandin } from "../../infrastructure/hawkbit-standin/index.js";
import { type RabbitMq, startRabbitMq } from "../../infrastructure/rabbitmq/launcher.js";
import { tempDir } from "../helpers/env.js";

const TENANT = "DEFAULT";
const AUTH = { username: "aerie", password: "s3cret" };

async function until<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A DMF gateway with nothing of Aerie's: its own reply exchange and queue, raw messages. */
class BareGateway {
  readonly received: ConsumeMessage[] = [];
  private constructor(readonly connection: ChannelModel, readonly channel: Channel, readonly exchange: string) {}

  static async open(url: string, exchange: string): Promise<BareGateway> {
    const connection = await amqp.connect(url);
    const channel = await connection.createChannel();
    await channel.assertExchange(exchange, "fanout", { durable: true });
    const { queue } = await channel.assertQueue("", { exclusive: true });
    await channel.bindQueue(queue, exchange, "");
    const gateway = new BareGateway(connection, channel, exchange);
    await channel.consume(queue, (m) => m && gateway.received.push(m), { noAck: true });
    return gateway;
  }

  send(headers: Record<string, string>, body: unknown, props: { replyTo?: string; correlationId?: string; contentType?: string } = {}): void {
    this.channel.publish(DMF_EXCHANGE, "", Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)), { contentType: "application/json", headers, ...props });
  }

  next(what: (m: ConsumeMessage) => boolean, label: string): Promise<ConsumeMessage> {
    return until(() => this.received.find(what), (m) => m !== undefined, label) as Promise<ConsumeMessage>;
  }
}

const topicOf = (m: ConsumeMessage) => String(m.properties.headers?.topic ?? m.properties.headers?.type);
const json = (m: ConsumeMessage) => JSON.parse(m.content.toString());

describe("hawkBit DMF over RabbitMQ", function () {
  this.timeout(120_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let rabbit: RabbitMq;
  let standin: HawkbitStandin;
  let mgmt: HawkbitManagementClient;
  let dsId: number;
  let image: Buffer;

  before(async () => {
    dir = await tempDir("aerie-dmf-");
    rabbit = await startRabbitMq({ dir: `${dir.path}/rabbitmq`, vhost: "hawkbit" });
    standin = await startHawkbitStandin({ dataDir: `${dir.path}/hawkbit`, ...AUTH, schedulerIntervalMs: 50, dmfUrl: rabbit.url });
    mgmt = new HawkbitManagementClient({ baseUrl: standin.url, ...AUTH });
    image = Buffer.from("dmf image ".repeat(500));
    const sm = await mgmt.ensureSoftwareModule({ name: "rootfs", version: "2.0.0", type: "os" });
    await mgmt.uploadArtifact(sm.id, Readable.from([image]), { filename: "rootfs.swu", sha256: createHash("sha256").update(image).digest("hex"), size: image.length });
    dsId = (await mgmt.ensureDistributionSet({ name: "fleet", version: "2.0.0", type: "os", modules: [sm.id] })).id;
  });

  after(async () => {
    await standin?.close();
    await rabbit?.stop();
    await dir?.remove();
  });

  async function rollout(name: string, filter: string, type: "forced" | "downloadonly" = "forced", confirmationRequired?: boolean): Promise<number> {
    const created = await mgmt.createRollout({
      name, targetFilterQuery: filter, distributionSetId: dsId, amountGroups: 1, type, ...(confirmationRequired ? { confirmationRequired } : {}),
      successCondition: { condition: "THRESHOLD", expression: "100" }, successAction: { action: "NEXTGROUP", expression: "" },
    });
    await until(() => mgmt.getRollout(created.id), (r) => r.status === "ready", "rollout ready");
    await mgmt.startRollout(created.id);
    return created.id;
  }

  it("registers a thing with its reply exchange and attributes, and dead-letters one without reply_to", async () => {
    const gateway = await BareGateway.open(rabbit.url, "bare.gateway");
    try {
      gateway.send({ type: "THING_CREATED", thingId: "no-reply", tenant: TENANT }, {});
      gateway.send({ type: "THING_CREATED", thingId: "bare-1", tenant: TENANT, sender: "test" }, { name: "Bare one", attributeUpdate: { attributes: { hw: "bare" }, mode: "MERGE" } }, { replyTo: "bare.gateway" });
      gateway.send({ type: "EVENT", topic: "NOT_A_TOPIC", thingId: "bare-1", tenant: TENANT }, {});
      const target = await until(() => mgmt.getTarget("bare-1").catch(() => undefined), (t) => t !== undefined, "target bare-1");
      expect(target!.name).to.equal("Bare one");
      expect(target!.address).to.equal("amqp://hawkbit/bare.gateway");
      expect(await mgmt.getTargetAttributes("bare-1")).to.deep.equal({ hw: "bare" });
      const dead = await until(async () => (await gateway.channel.checkQueue(DMF_DEAD_LETTER_QUEUE)).messageCount, (n) => n >= 2, "two dead letters");
      expect(dead).to.equal(2);
      expect((await mgmt.getTarget("no-reply").catch((error) => error)).kind).to.equal("not-found");
    } finally {
      await gateway.connection.close();
    }
  });

  it("pushes an assignment with hawkBit's headers and body, takes status updates, answers PING", async () => {
    const gateway = await BareGateway.open(rabbit.url, "bare.gateway2");
    try {
      gateway.send({ type: "THING_CREATED", thingId: "bare-2", tenant: TENANT }, "", { replyTo: "bare.gateway2" });
      await until(() => mgmt.getTarget("bare-2").catch(() => undefined), (t) => t !== undefined, "target bare-2");
      gateway.send({ type: "EVENT", topic: "UPDATE_ATTRIBUTES", thingId: "bare-2", tenant: TENANT }, { attributes: { hw: "bare-2" } });
      await until(() => mgmt.getTargetAttributes("bare-2"), (a) => a.hw === "bare-2", "attributes");
      await rollout("bare-2", "controllerId==bare-2");

      const install = await gateway.next((m) => topicOf(m) === "DOWNLOAD_AND_INSTALL", "DOWNLOAD_AND_INSTALL");
      expect(install.properties.headers).to.include({ type: "EVENT", topic: "DOWNLOAD_AND_INSTALL", thingId: "bare-2", tenant: TENANT });
      expect(install.properties.contentType).to.equal("application/json");
      expect(install.properties.correlationId).to.be.a("string").and.not.equal("");
      const request = json(install);
      expect(request.actionId).to.be.a("number");
      expect(request.targetSecurityToken).to.be.a("string");
      const [module] = request.softwareModules;
      expect(module).to.include({ moduleType: "os", moduleVersion: "2.0.0" });
      expect(module.artifacts[0].filename).to.equal("rootfs.swu");
      expect(module.artifacts[0].hashes).to.deep.equal({ sha1: createHash("sha1").update(image).digest("hex"), md5: createHash("md5").update(image).digest("hex") });
      expect(module.artifacts[0].urls.HTTP).to.match(/\/DEFAULT\/controller\/v1\/bare-2\/softwaremodules\/\d+\/artifacts\/rootfs\.swu$/);

      // A cancel rejection for an action nobody is cancelling is refused (handleCancelRejectedState).
      const deadBefore = (await gateway.channel.checkQueue(DMF_DEAD_LETTER_QUEUE)).messageCount;
      gateway.send({ type: "EVENT", topic: "UPDATE_ACTION_STATUS", tenant: TENANT }, { actionId: request.actionId, actionStatus: "CANCEL_REJECTED" });
      await until(async () => (await gateway.channel.checkQueue(DMF_DEAD_LETTER_QUEUE)).messageCount, (n) => n === deadBefore + 1, "dead-lettered cancel rejection");

      gateway.send({ type: "EVENT", topic: "UPDATE_ACTION_STATUS", tenant: TENANT }, { actionId: request.actionId, actionStatus: "RUNNING", message: ["installing"] }, { correlationId: "c-1" });
      gateway.send({ type: "EVENT", topic: "UPDATE_ACTION_STATUS", tenant: TENANT }, { actionId: request.actionId, actionStatus: "FINISHED", message: ["done"] });
      const action = await until(() => mgmt.getAction(request.actionId), (a) => a.status === "finished", "action finished");
      expect((await mgmt.getTarget("bare-2")).updateStatus).to.equal("in_sync");

      const correlationId = randomUUID();
      gateway.send({ type: "PING", tenant: TENANT }, "", { replyTo: "bare.gateway2", correlationId, contentType: "text/plain" });
      const pong = await gateway.next((m) => m.properties.headers?.type === "PING_RESPONSE", "PING_RESPONSE");
      expect(pong.properties.correlationId).to.equal(correlationId);
      expect(Number(pong.content.toString())).to.be.closeTo(Date.now(), 60_000);
    } finally {
      await gateway.connection.close();
    }
  });

  it("with batch.assignments.enabled sends a rollout's assignments as one BATCH message (sendBatchUpdateMessage)", async () => {
    const gateway = await BareGateway.open(rabbit.url, "bare.batch");
    await mgmt.setTenantConfig("batch.assignments.enabled", true);
    try {
      for (const id of ["batch-1", "batch-2", "batch-3"]) gateway.send({ type: "THING_CREATED", thingId: id, tenant: TENANT }, "", { replyTo: "bare.batch" });
      await until(() => mgmt.listTargets({ q: "controllerId==batch-*", limit: 10 }), (page) => page.content.length === 3, "three batch targets");
      await rollout("batch-install", "controllerId==batch-*");
      const install = await gateway.next((m) => topicOf(m) === "BATCH_DOWNLOAD_AND_INSTALL", "BATCH_DOWNLOAD_AND_INSTALL");
      // createMessagePropertiesBatch: no thingId, the topic and type EVENT.
      expect(install.properties.headers).to.deep.equal({ type: "EVENT", topic: "BATCH_DOWNLOAD_AND_INSTALL", tenant: TENANT, "content-type": "application/json" });
      const request = json(install);
      expect(request.targets.map((t: { controllerId: string }) => t.controllerId).sort()).to.deep.equal(["batch-1", "batch-2", "batch-3"]);
      for (const target of request.targets) {
        expect((await mgmt.getAction(target.actionId)).status).to.equal("running");
        expect(target.targetSecurityToken).to.be.a("string").and.not.equal("");
      }
      // One set of modules for all, with the first target's links.
      const first = request.targets[0].controllerId;
      expect(request.softwareModules[0].artifacts[0].urls.HTTP).to.include(`/controller/v1/${first}/`);
      expect(gateway.received.filter((m) => topicOf(m) === "DOWNLOAD_AND_INSTALL")).to.have.length(0);

      // Download-only: BATCH_DOWNLOAD (getBatchEventTopicForAction).
      const closeAll = async () => {
        const open = (await mgmt.listActions({ q: "target.controllerId==batch-*;active==true", limit: 10 })).content;
        for (const action of open) gateway.send({ type: "EVENT", topic: "UPDATE_ACTION_STATUS", tenant: TENANT }, { actionId: action.id, actionStatus: "FINISHED" });
        await until(() => mgmt.listActions({ q: "target.controllerId==batch-*;active==true", limit: 10 }), (page) => page.content.length === 0, "batch actions closed");
      };
      await closeAll();
      await rollout("batch-download", "controllerId==batch-*", "downloadonly");
      const download = json(await gateway.next((m) => topicOf(m) === "BATCH_DOWNLOAD", "BATCH_DOWNLOAD"));
      expect(download.targets).to.have.length(3);

      // Actions waiting for confirmation go out in the batch too, never as CONFIRM: sendBatchUpdateMessage does not
      // look at ActionProperties.isWaitingConfirmation (the single path, sendSingleUpdateMessage, does).
      await closeAll();
      await mgmt.setTenantConfig("user.confirmation.flow.enabled", true);
      const installsBefore = gateway.received.filter((m) => topicOf(m) === "BATCH_DOWNLOAD_AND_INSTALL").length;
      await rollout("batch-consent", "controllerId==batch-*", "forced", true);
      await until(() => gateway.received.filter((m) => topicOf(m) === "BATCH_DOWNLOAD_AND_INSTALL").length, (n) => n > installsBefore, "a batch for the consent rollout");
      const waiting = (await mgmt.listActions({ q: "target.controllerId==batch-*;active==true", limit: 10 })).content;
      expect(waiting.map((a) => a.status)).to.deep.equal(["wait_for_confirmation", "wait_for_confirmation", "wait_for_confirmation"]);
      expect(gateway.received.filter((m) => topicOf(m) === "CONFIRM")).to.have.length(0);
    } finally {
      await mgmt.setTenantConfig("batch.assignments.enabled", false);
      await mgmt.setTenantConfig("user.confirmation.flow.enabled", false);
      await gateway.connection.close();
    }
  });

  it("Aerie's DmfChannel registers, receives the deployment (sha256 from the module's artifacts), reports over AMQP", async () => {
    const channel = new DmfChannel({ url: rabbit.url, tenant: TENANT, replyExchange: "aerie.dmf.test", management: mgmt, deploymentWaitMs: 10_000 });
    await channel.start();
    try {
      const first = await channel.pollController("aerie-1");
      expect(first.openActionId).to.equal(undefined);
      await channel.sendConfigData("aerie-1", { hw: "dmf" }, "replace");
      await until(() => mgmt.getTargetAttributes("aerie-1").catch(() => ({}) as Record<string, string>), (a) => a.hw === "dmf", "attributes over DMF");
      expect((await mgmt.getTarget("aerie-1")).address).to.equal("amqp://hawkbit/aerie.dmf.test");

      const changed = new Promise<number>((resolve) => channel.once("changed", (_id: string, actionId: number) => resolve(actionId)));
      await rollout("aerie-1", "controllerId==aerie-1");
      const actionId = await changed;
      expect((await channel.pollController("aerie-1")).openActionId).to.equal(actionId);
      const deployment = await channel.getDeployment("aerie-1", actionId);
      expect(deployment).to.include({ actionId, type: "forced", download: "forced", update: "forced" });
      expect(deployment.chunks[0]!.artifacts[0]!.hashes.sha256).to.equal(createHash("sha256").update(image).digest("hex"));

      await channel.sendFeedback("aerie-1", actionId, { execution: "proceeding", finished: "none", details: ["installing"] });
      await channel.sendFeedback("aerie-1", actionId, { execution: "closed", finished: "success", details: ["done"] });
      await until(() => mgmt.getAction(actionId), (a) => a.status === "finished", "action finished over DMF");
      expect((await mgmt.getTarget("aerie-1")).lastControllerRequestAt).to.be.a("number");
      expect((await channel.pollController("aerie-1")).openActionId).to.equal(undefined);
    } finally {
      await channel.stop();
    }
  });

  it("a restarted channel gets the open action again by registering (THING_CREATED answers with it)", async () => {
    const first = new DmfChannel({ url: rabbit.url, tenant: TENANT, replyExchange: "aerie.dmf.restart", management: mgmt });
    await first.start();
    await first.pollController("aerie-2");
    const changed = new Promise<number>((resolve) => first.once("changed", (_id: string, actionId: number) => resolve(actionId)));
    await rollout("aerie-2", "controllerId==aerie-2", "downloadonly");
    const actionId = await changed;
    await first.stop();

    const second = new DmfChannel({ url: rabbit.url, tenant: TENANT, replyExchange: "aerie.dmf.restart", management: mgmt, deploymentWaitMs: 30_000 });
    await second.start();
    try {
      const deployment = await second.getDeployment("aerie-2", actionId);
      expect(deployment).to.include({ actionId, type: "downloadonly", update: "skip" });
    } finally {
      await second.stop();
    }
  });
});
