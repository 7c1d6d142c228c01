// The stand-in's Device Management Federation API on a real RabbitMQ, as hawkBit 1.1.0's hawkbit-dmf-amqp does it
// (read from the 1.1.0 source, not copied): the declarations of DmfAmqpDeclarationConfiguration, the receiving side
// of AmqpMessageHandlerService and the sending side of AmqpMessageDispatcherService.
//
// hawkBit sends on repository events (an assignment, a cancellation, a deletion). The stand-in has no event bus, so
// the dispatcher compares each DMF target's open action with what it last sent and sends the difference, right
// after every change the stand-in commits and on every scheduler tick. The result on the wire is the same: one
// message per assignment, cancellation or deletion, to the address the target registered with.
import { randomUUID } from "node:crypto";
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";
import type { Logger } from "../../core/log.js";
import {
  DMF_DEAD_LETTER_EXCHANGE, DMF_DEAD_LETTER_QUEUE, DMF_EXCHANGE, DMF_RECEIVER_QUEUE, type DmfActionStatus, type DmfActionUpdateStatus,
  type DmfAttributeUpdate, type DmfCreateThing, type DmfEventTopic, type DmfSoftwareModule, HEADER, JSON_CONTENT_TYPE, eventHeaders,
} from "../../hawkbit/dmf/protocol.js";
import { activateAutoConfirm, applyCancelFeedback, applyConfirmation, applyDeploymentFeedback, type Feedback, openAction } from "./actions.js";
import type { ActionRec, TargetRec } from "./model.js";
import { configValue } from "./tenant-config.js";
import { newSecurityToken } from "./routes/mgmt-targets.js";
import type { Store } from "./store.js";

/** ControllerManagement's user for targets registered over DMF. */
const DMF_USER = "AMQP-Controller";
/** Tenant key BATCH_ASSIGNMENTS_ENABLED (TenantConfigurationProperties), false by default. */
const BATCH_ASSIGNMENTS = "batch.assignments.enabled";
/**
 * JpaDeploymentManagement.ACTION_PAGE_LIMIT: a rollout group starts its actions a page at a time, one assignment
 * event (so, in batch mode, one message) per page.
 */
const ACTION_PAGE_LIMIT = 1000;
/** AmqpDeadletterProperties.ttl default: three weeks. */
const DEAD_LETTER_TTL_MS = 21 * 24 * 3600_000;

export interface DmfOptions {
  url: string;
  tenant: string;
  /** The stand-in's HTTP origin, for the artifact download links (ArtifactUrlResolver, ApiType.DMF). */
  baseUrl: () => string;
}

export interface StandinDmf {
  /** Sends what changed since the last call (the stand-in calls it after each commit and tick). */
  dispatch(): void;
  close(): Promise<void>;
}

/** A message hawkBit refuses: AmqpRejectAndDontRequeueException, so RabbitMQ dead-letters it. */
class Reject extends Error {}

type Sent = "install" | "download" | "confirm" | "cancel";

function header(message: ConsumeMessage, key: string): string | undefined {
  const value = (message.properties.headers ?? {})[key];
  return value === undefined || value === null ? undefined : String(value);
}

function body<T>(message: ConsumeMessage): T {
  // BaseAmqpService.checkContentTypeJson / convertMessage.
  const contentType = message.properties.contentType ?? header(message, HEADER.contentType);
  if (!String(contentType ?? "").includes("json")) throw new Reject(`Content-Type is not JSON compatible: ${contentType}`);
  try {
    return JSON.parse(message.content.toString("utf8")) as T;
  } catch {
    throw new Reject("Message body is not valid JSON");
  }
}

/** AmqpMessageHandlerService.mapStatus, expressed as the DDI feedback the stand-in's state machine folds in. */
function feedbackOf(status: DmfActionStatus, messages: string[], code: number | undefined): { cancel: boolean; feedback: Feedback } {
  const base = { details: messages, ...(code === undefined ? {} : { code }) };
  switch (status) {
    case "DOWNLOAD": return { cancel: false, feedback: { ...base, execution: "download", finished: "none" } };
    case "DOWNLOADED": return { cancel: false, feedback: { ...base, execution: "downloaded", finished: "none" } };
    case "RETRIEVED":
    case "RUNNING": return { cancel: false, feedback: { ...base, execution: "proceeding", finished: "none" } };
    case "FINISHED": return { cancel: false, feedback: { ...base, execution: "closed", finished: "success" } };
    case "ERROR": return { cancel: false, feedback: { ...base, execution: "closed", finished: "failure" } };
    case "WARNING": return { cancel: false, feedback: { ...base, execution: "rejected", finished: "none" } };
    // Status.CANCELED goes to addCancelActionStatus, which closes the action: the DDI cancel feedback that maps to it
    // is closed+success (DDI's `canceled` execution is a WARNING there).
    case "CANCELED": return { cancel: true, feedback: { ...base, execution: "closed", finished: "success" } };
    case "CANCEL_REJECTED": return { cancel: true, feedback: { ...base, execution: "rejected", finished: "none" } };
    default: throw new Reject("Status for action does not exist.");
  }
}

export async function startStandinDmf(store: Store, log: Logger, commit: () => Promise<void>, opts: DmfOptions): Promise<StandinDmf> {
  const connection: ChannelModel = await amqp.connect(opts.url);
  const vhost = decodeURIComponent(new URL(opts.url).pathname.slice(1)) || "/";
  const receiver = await connection.createChannel();
  // DmfAmqpDeclarationConfiguration: dmf.exchange (fanout) → dmf_receiver (durable, dead-lettered), the dead-letter
  // exchange and its queue with a three-week TTL.
  await receiver.assertExchange(DMF_DEAD_LETTER_EXCHANGE, "fanout", { durable: true });
  await receiver.assertQueue(DMF_DEAD_LETTER_QUEUE, { durable: true, arguments: { "x-message-ttl": DEAD_LETTER_TTL_MS } });
  await receiver.bindQueue(DMF_DEAD_LETTER_QUEUE, DMF_DEAD_LETTER_EXCHANGE, "");
  await receiver.assertExchange(DMF_EXCHANGE, "fanout", { durable: true });
  await receiver.assertQueue(DMF_RECEIVER_QUEUE, { durable: true, arguments: { "x-dead-letter-exchange": DMF_DEAD_LETTER_EXCHANGE } });
  await receiver.bindQueue(DMF_RECEIVER_QUEUE, DMF_EXCHANGE, "");

  // Sending to an exchange that does not exist closes an AMQP channel; a fresh one replaces it (RabbitTemplate
  // logs such a failure and goes on).
  let sender: Channel | undefined;
  const senderChannel = async (): Promise<Channel> => {
    if (sender) return sender;
    const channel = await connection.createChannel();
    channel.on("error", (error: Error) => log.warn({ err: error.message }, "DMF send failed"));
    channel.on("close", () => {
      if (sender === channel) sender = undefined;
    });
    sender = channel;
    return channel;
  };

  /** DefaultAmqpMessageSenderService.sendMessage: the address's path is the exchange; a fresh correlation id. */
  const send = async (address: string | undefined, headers: Record<string, string>, payload: unknown, extra: { contentType?: string; correlationId?: string } = {}) => {
    if (!address?.startsWith("amqp://")) return;
    const exchange = decodeURIComponent(new URL(address).pathname.slice(1));
    const content = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
    (await senderChannel()).publish(exchange, "", content, {
      contentType: extra.contentType ?? JSON_CONTENT_TYPE, headers, correlationId: extra.correlationId ?? randomUUID(),
    });
  };

  const modulesOf = (target: TargetRec, action: ActionRec): DmfSoftwareModule[] =>
    store.distributionSet(action.distributionSetId).moduleIds.map((id) => {
      const module = store.softwareModule(id);
      const metadata = (module.metadata ?? []).filter((m) => m.targetVisible).map(({ key, value }) => ({ key, value }));
      return {
        moduleId: module.id,
        moduleType: store.softwareModuleType(module.typeId).key,
        moduleVersion: module.version,
        ...(module.encrypted ? { encrypted: true } : {}),
        // AmqpMessageDispatcherService.convertArtifact: sha1 and md5 only, and the DDI download link per protocol.
        artifacts: store.artifactsOf(module.id).map((a) => {
          const href = `${opts.baseUrl()}/${opts.tenant}/controller/v1/${encodeURIComponent(target.controllerId)}/softwaremodules/${module.id}/artifacts/${encodeURIComponent(a.filename)}`;
          return { filename: a.filename, hashes: { sha1: a.sha1, md5: a.md5 }, size: a.size, lastModified: a.lastModifiedAt, urls: { HTTP: href } };
        }),
        ...(metadata.length > 0 ? { metadata } : {}),
      };
    });

  /** What hawkBit would send for the target's open action (getEventTypeForTarget; cancellations first). */
  const wanted = (action: ActionRec): Sent =>
    action.status === "canceling" ? "cancel"
      : action.status === "wait_for_confirmation" ? "confirm"
        : action.actionType === "downloadonly" ? "download" : "install";

  const sent = new Map<number, Sent>();
  const amqpTargets = new Map<string, string>();

  /** AmqpMessageDispatcherService.sendSingleUpdateMessage / sendCancelMessageToTarget. */
  const sendAction = async (target: TargetRec, action: ActionRec, kind: Sent) => {
    sent.set(action.id, kind);
    if (kind === "cancel") {
      await send(target.address, eventHeaders(opts.tenant, target.controllerId, "CANCEL_DOWNLOAD"), { actionId: action.id });
      return;
    }
    const topic: DmfEventTopic = kind === "confirm" ? "CONFIRM" : kind === "download" ? "DOWNLOAD" : "DOWNLOAD_AND_INSTALL";
    await send(target.address, eventHeaders(opts.tenant, target.controllerId, topic), {
      actionId: action.id, targetSecurityToken: target.securityToken, softwareModules: modulesOf(target, action),
    });
  };

  /**
   * AmqpMessageDispatcherService.sendBatchUpdateMessage (batch.assignments.enabled): one BATCH_DOWNLOAD or
   * BATCH_DOWNLOAD_AND_INSTALL message per assignment event, naming every target and its action, with the first
   * target's modules and links ("all targets in a batch use the same set of software modules"), sent to the
   * first target's address. The topic comes from the first action (getBatchEventTopicForAction: download-only,
   * or outside a maintenance window, which the stand-in does not have). The batch path does not look at
   * confirmation: an action waiting for it goes out in the batch too, as in hawkBit.
   */
  const sendBatch = async (batch: { target: TargetRec; action: ActionRec }[]) => {
    const [first] = batch;
    if (!first) return;
    for (const { action } of batch) sent.set(action.id, wanted(action));
    const topic: DmfEventTopic = first.action.actionType === "downloadonly" ? "BATCH_DOWNLOAD" : "BATCH_DOWNLOAD_AND_INSTALL";
    const headers = { [HEADER.contentType]: JSON_CONTENT_TYPE, [HEADER.tenant]: opts.tenant, [HEADER.topic]: topic, [HEADER.type]: "EVENT" };
    await send(first.target.address, headers, {
      timestamp: Date.now(),
      targets: batch.map(({ target, action }) => ({ actionId: action.id, controllerId: target.controllerId, targetSecurityToken: target.securityToken })),
      softwareModules: modulesOf(first.target, first.action),
    });
  };

  let dispatching = Promise.resolve();
  const dispatchNow = async () => {
    const present = new Set<string>();
    let sentInTurn = 0;
    // Assignments found by this scan, per distribution set and action type: the stand-in's nearest to one assignment
    // event (see README, known deviations).
    const batches = configValue(store, BATCH_ASSIGNMENTS).value === true ? new Map<string, { target: TargetRec; action: ActionRec }[]>() : undefined;
    for (const target of store.state.targets) {
      // hawkBit sends from its own threads while it serves REST; a rollout start of 10,000 must not hold the
      // stand-in's REST API (Aerie reads the module's artifacts meanwhile) until the last message is out.
      if (++sentInTurn % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (!target.address?.startsWith("amqp://")) continue;
      present.add(target.controllerId);
      amqpTargets.set(target.controllerId, target.address);
      const action = openAction(store, target.controllerId);
      if (!action) continue;
      const kind = wanted(action);
      if (sent.get(action.id) === kind) continue;
      if (batches && kind !== "cancel") {
        const key = `${action.distributionSetId}:${action.actionType}`;
        const batch = batches.get(key) ?? [];
        batches.set(key, batch);
        batch.push({ target, action });
        if (batch.length === ACTION_PAGE_LIMIT) {
          batches.delete(key);
          await sendBatch(batch);
        }
      } else await sendAction(target, action, kind);
    }
    for (const batch of batches?.values() ?? []) await sendBatch(batch);
    // TargetDeletedEvent → THING_DELETED to the address the target had.
    for (const [controllerId, address] of amqpTargets) {
      if (present.has(controllerId)) continue;
      amqpTargets.delete(controllerId);
      await send(address, { [HEADER.type]: "THING_DELETED", [HEADER.thingId]: controllerId, [HEADER.tenant]: opts.tenant, [HEADER.contentType]: JSON_CONTENT_TYPE }, Buffer.alloc(0));
    }
  };
  // Each dispatch compares every AMQP target's open action with what was sent: one queued behind the one under way
  // covers every change made before it starts, so a burst of messages (10,000 THING_CREATED) costs one more
  // scan, not one each.
  let queued = false;
  const dispatch = () => {
    if (queued) return;
    queued = true;
    dispatching = dispatching.then(() => {
      queued = false;
      return dispatchNow();
    }).catch((err) => log.error({ err }, "DMF dispatch failed"));
  };

  /** AmqpMessageHandlerService.registerTarget: find or register, address amqp://{vhost}/{replyTo}, attributes, then the current action. */
  const registerTarget = (message: ConsumeMessage) => {
    const thingId = header(message, HEADER.thingId);
    if (!thingId) throw new Reject("ThingId is null");
    const replyTo = message.properties.replyTo;
    if (!replyTo) throw new Reject("No ReplyTo was set for the createThing message.");
    const empty = message.content.length === 0 || message.content.toString() === '""';
    const create: DmfCreateThing = empty ? {} : body<DmfCreateThing>(message);
    let target = store.findTarget(thingId);
    if (!target) {
      target = {
        id: store.nextId("targets"), controllerId: thingId, name: create.name ?? thingId, securityToken: newSecurityToken(),
        requestAttributes: true, attributes: {}, updateStatus: "registered", ...store.audit(DMF_USER),
      };
      store.state.targets.push(target);
    }
    target.address = `amqp://${vhost}/${replyTo}`;
    target.lastControllerRequestAt = Date.now();
    if (target.updateStatus === "unknown") target.updateStatus = "registered";
    if (create.attributeUpdate) updateAttributes(target, create.attributeUpdate);
    store.touch(target, DMF_USER);
    // sendUpdateCommandToTarget: the current action is sent again even if it was sent before.
    const action = openAction(store, thingId);
    if (action) sent.delete(action.id);
  };

  /** ControllerManagement.updateControllerAttributes with the DMF update mode (MERGE when absent). */
  const updateAttributes = (target: TargetRec, update: DmfAttributeUpdate) => {
    const attributes = update.attributes ?? {};
    if (!Object.values(attributes).every((v) => typeof v === "string")) throw new Reject("Attribute values must be strings");
    const mode = update.mode ?? "MERGE";
    if (mode === "REPLACE") target.attributes = { ...attributes };
    else if (mode === "REMOVE") for (const key of Object.keys(attributes)) delete target.attributes[key];
    else if (mode === "MERGE") Object.assign(target.attributes, attributes);
    else throw new Reject(`Unknown update mode ${String(mode)}`);
    target.requestAttributes = false;
  };

  /** AmqpMessageHandlerService.updateActionStatus. */
  const updateActionStatus = (message: ConsumeMessage) => {
    const update = body<DmfActionUpdateStatus>(message);
    const action = store.state.actions.find((a) => a.id === Number(update.actionId));
    if (!action) throw new Reject(`Got intermediate notification about action ${update.actionId} but action does not exist`);
    const target = store.target(action.controllerId);
    const messages = [...(update.message ?? [])];
    if (message.properties.correlationId) messages.push(`Update Server: DMF message correlation-id ${message.properties.correlationId}`);
    if (update.actionStatus === "CONFIRMED" || update.actionStatus === "DENIED") {
      applyConfirmation(store, action, target, update.actionStatus === "CONFIRMED", messages, update.code);
    } else {
      // handleCancelRejectedState: a cancel rejection for an action not being cancelled is refused.
      if (update.actionStatus === "CANCEL_REJECTED" && action.status !== "canceling" && action.status !== "canceled") {
        throw new Reject(`Cancel rejected message is not allowed, if action is on state: ${action.status.toUpperCase()}`);
      }
      // "Device reported status code: <code>" is added by the action functions, as DdiRootController/AmqpMessageHandlerService do.
      const { cancel, feedback } = feedbackOf(update.actionStatus, messages, update.code);
      if (cancel) applyCancelFeedback(store, action, target, feedback);
      else applyDeploymentFeedback(store, action, target, feedback);
    }
    target.lastControllerRequestAt = Date.now();
  };

  const onMessage = async (message: ConsumeMessage) => {
    const type = header(message, HEADER.type);
    const tenant = header(message, HEADER.tenant);
    if (!type || !tenant) throw new Reject("Invalid message! tenant and type header are mandatory!");
    if (tenant.toUpperCase() !== opts.tenant.toUpperCase()) throw new Reject(`Unknown tenant ${tenant}`);
    switch (type) {
      case "THING_CREATED":
        registerTarget(message);
        break;
      case "THING_REMOVED": {
        const thingId = header(message, HEADER.thingId);
        if (!thingId) throw new Reject("ThingId is null");
        store.state.targets = store.state.targets.filter((t) => t.controllerId !== thingId);
        break;
      }
      case "EVENT": {
        const topic = header(message, HEADER.topic);
        const thingId = header(message, HEADER.thingId);
        if (topic === "UPDATE_ACTION_STATUS") updateActionStatus(message);
        else if (topic === "UPDATE_ATTRIBUTES") {
          if (!thingId) throw new Reject("ThingId is null");
          const target = store.findTarget(thingId);
          if (!target) throw new Reject(`Target ${thingId} does not exist`);
          updateAttributes(target, body<DmfAttributeUpdate>(message));
        } else if (topic === "UPDATE_AUTO_CONFIRM") {
          if (!thingId) throw new Reject("ThingId is null");
          const auto = body<{ enabled: boolean; initiator?: string; remark?: string }>(message);
          const target = store.target(thingId);
          if (auto.enabled) activateAutoConfirm(store, target, auto.initiator, auto.remark ?? "Activated using Device Management Federation API.");
          else target.autoConfirm = undefined;
        } else throw new Reject("Got event without appropriate topic.");
        break;
      }
      case "PING":
        // sendPingResponseToDmfReceiver: only with a correlation id, to the reply-to exchange, text/plain timestamp.
        if (message.properties.correlationId && message.properties.replyTo) {
          await send(`amqp://${vhost}/${message.properties.replyTo}`, { [HEADER.type]: "PING_RESPONSE", [HEADER.tenant]: tenant }, Buffer.from(String(Date.now())), {
            contentType: "text/plain", correlationId: message.properties.correlationId,
          });
        }
        return;
      default:
        throw new Reject("No handle method was found for the given message type.");
    }
    await commit();
  };

  await receiver.consume(DMF_RECEIVER_QUEUE, (message) => {
    if (!message) return;
    onMessage(message).then(
      () => {
        receiver.ack(message);
        dispatch();
      },
      (error: Error) => {
        // Refused messages go to the dead-letter exchange (requeue false), as hawkBit's listener container does.
        if (!(error instanceof Reject)) log.warn({ err: error.message }, "DMF message failed");
        receiver.nack(message, false, false);
      },
    );
  });
  connection.on("error", (error: Error) => log.warn({ err: error.message }, "DMF connection error"));
  log.info({ vhost }, "hawkBit stand-in DMF listening");

  return {
    dispatch,
    async close() {
      await dispatching;
      await connection.close().catch(() => undefined);
    },
  };
}
