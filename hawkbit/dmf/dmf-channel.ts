// HawkbitDeviceChannel over hawkBit's Device Management Federation API (AMQP 0-9-1 on RabbitMQ): hawkBit pushes
// each device's actions to Aerie's reply exchange, and Aerie sends status, attributes and registrations to
// `dmf.exchange`. No request is per device over HTTP and nothing polls: the only HTTP calls are two Management
// API reads per software module (cached), because DMF 1.1.0 names a module by type and version only and gives
// artifacts' sha1 and md5 but not the sha256 Aerie's notices are keyed by.
//
// Every instance binds a queue of its own to one fanout reply exchange, so each keeps every device's latest
// action in memory, whichever instance registered the device; the leader's notices read from it. An action
// not (or no longer) known here, after a restart say, is asked for again with THING_CREATED, to which hawkBit
// answers with the device's current action (AmqpMessageHandlerService.registerTarget → sendUpdateCommandToTarget).
import { EventEmitter } from "node:events";
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";
import { logger } from "../../core/log.js";
import type {
  ConfigDataMode, DdiCancelAction, DdiConfirmation, DdiControllerState, DdiDeployment, DdiDeploymentChunk, DdiFeedback, HawkbitDeviceChannel, PushedAction,
} from "../channel.js";
import { HawkbitError, HawkbitNotFoundError } from "../errors.js";
import type { HawkbitManagementClient } from "../management-client.js";
import type { MgmtArtifact } from "../types.js";
import {
  DMF_EXCHANGE, type DmfActionStatus, type DmfActionUpdateStatus, type DmfBatchDownloadAndUpdateRequest, type DmfDownloadAndUpdateRequest,
  type DmfEventTopic, type DmfMultiActionElement, type DmfSoftwareModule, HEADER, JSON_CONTENT_TYPE, eventHeaders,
} from "./protocol.js";

export interface DmfChannelOptions {
  /** amqp://user:password@host:port/vhost of hawkBit's RabbitMQ. */
  url: string;
  tenant: string;
  /** The fanout exchange hawkBit replies to (the targets' address); shared by every Aerie instance. */
  replyExchange?: string;
  /** The Management API, for a module's name and its artifacts' sha256 (once per module, cached). */
  management: Pick<HawkbitManagementClient, "listArtifacts" | "getSoftwareModule">;
  /** How long getDeployment waits for hawkBit's message before asking again and then giving up. */
  deploymentWaitMs?: number;
  reconnectDelayMs?: { base: number; max: number };
}

interface PendingAction {
  actionId: number;
  topic: "DOWNLOAD" | "DOWNLOAD_AND_INSTALL" | "CONFIRM";
  modules: DmfSoftwareModule[];
}

interface DeviceState {
  open?: PendingAction;
  confirm?: PendingAction;
  cancelActionId?: number;
  configDataRequested: boolean;
}

/** DMF does not poll: the heartbeat extension's next look is this far away. */
const NO_POLLING_MS = 24 * 3600_000;
const MODULE_CACHE_MS = 10 * 60_000;

/** DDI feedback → DMF status, as hawkBit's DdiRootController.generateUpdateStatus maps the DDI execution values. */
export function dmfStatusOf(feedback: DdiFeedback): DmfActionStatus {
  switch (feedback.execution) {
    case "closed": return feedback.finished === "failure" ? "ERROR" : "FINISHED";
    case "canceled": return "CANCELED";
    case "rejected": return "WARNING";
    case "download": return "DOWNLOAD";
    case "downloaded": return "DOWNLOADED";
    default: return "RUNNING";
  }
}

/** DDI cancel feedback → DMF status (DdiRootController.generateActionCancelStatus). */
export function dmfCancelStatusOf(feedback: DdiFeedback): DmfActionStatus {
  if (feedback.execution === "rejected") return "CANCEL_REJECTED";
  if (feedback.execution === "canceled") return "CANCELED";
  if (feedback.execution === "closed") return feedback.finished === "failure" ? "CANCEL_REJECTED" : "CANCELED";
  return "RUNNING";
}

export class DmfChannel extends EventEmitter implements HawkbitDeviceChannel {
  readonly transport = "dmf" as const;
  private readonly log = logger("hawkbit-dmf");
  private readonly devices = new Map<string, DeviceState>();
  private readonly registered = new Set<string>();
  private readonly modules = new Map<number, { until: number; name: Promise<string>; artifacts: Promise<MgmtArtifact[]> }>();
  private readonly replyExchange: string;
  private connection: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private ready: Promise<void> | undefined;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private connections = 0;

  constructor(private readonly options: DmfChannelOptions) {
    super();
    this.replyExchange = options.replyExchange ?? "aerie.dmf";
  }

  /** Connects and declares the topology; later losses of the connection reconnect with backoff. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const connection = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    await connection?.close().catch(() => undefined);
  }

  get connected(): boolean {
    return this.channel !== undefined;
  }

  /** Messages sent while no queue of ours was bound are lost: each connection starts a new epoch. */
  get pushEpoch(): number {
    return this.connections;
  }

  private connect(): Promise<void> {
    this.ready = (async () => {
      const connection = await amqp.connect(this.options.url);
      connection.on("error", (error: Error) => this.log.warn({ err: error.message }, "DMF connection error"));
      connection.on("close", () => this.lost(connection));
      const channel = await connection.createConfirmChannel();
      // Declared as hawkBit declares it (DmfAmqpDeclarationConfiguration.dmfSenderExchange): idempotent either way.
      await channel.assertExchange(DMF_EXCHANGE, "fanout", { durable: true });
      await channel.assertExchange(this.replyExchange, "fanout", { durable: true });
      const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, this.replyExchange, "");
      await channel.consume(queue, (message) => {
        if (!message) return;
        try {
          this.receive(message);
        } catch (error) {
          this.log.warn({ err: (error as Error).message, headers: message.properties.headers }, "DMF message not understood; dropped");
        }
        channel.ack(message);
      });
      this.connection = connection;
      this.channel = channel;
      this.failures = 0;
      this.connections++;
      // Anything sent while this instance was away is asked for again on demand (see getDeployment).
      this.registered.clear();
      this.log.info({ exchange: this.replyExchange }, "DMF connected");
    })();
    return this.ready;
  }

  private lost(connection: ChannelModel): void {
    if (this.connection !== connection && this.connection !== undefined) return;
    this.connection = undefined;
    this.channel = undefined;
    if (this.stopped) return;
    const { base, max } = this.options.reconnectDelayMs ?? { base: 500, max: 30_000 };
    const delay = Math.min(max, base * 2 ** this.failures++);
    this.log.warn({ retryInMs: delay }, "DMF connection lost; reconnecting");
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((error) => {
        this.log.warn({ err: (error as Error).message }, "DMF reconnect failed");
        this.lost(connection);
      });
    }, delay);
  }

  private async publish(headers: Record<string, string>, body: unknown, replyTo?: string): Promise<void> {
    await this.ready?.catch(() => undefined);
    const channel = this.channel;
    if (!channel) throw new HawkbitError(undefined, "DMF: not connected to RabbitMQ");
    await new Promise<void>((resolve, reject) => {
      channel.publish(DMF_EXCHANGE, "", Buffer.from(JSON.stringify(body ?? {})), { contentType: JSON_CONTENT_TYPE, headers, ...(replyTo ? { replyTo } : {}), persistent: true }, (error) =>
        error ? reject(new Error(`DMF: RabbitMQ refused the message: ${String(error)}`)) : resolve());
    });
  }

  private state(controllerId: string): DeviceState {
    let state = this.devices.get(controllerId);
    if (!state) {
      state = { configDataRequested: false };
      this.devices.set(controllerId, state);
    }
    return state;
  }

  private receive(message: ConsumeMessage): void {
    const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
    const type = String(headers[HEADER.type] ?? "");
    const thingId = headers[HEADER.thingId] === undefined ? undefined : String(headers[HEADER.thingId]);
    if (headers[HEADER.tenant] !== undefined && String(headers[HEADER.tenant]).toLowerCase() !== this.options.tenant.toLowerCase()) return;
    if (type === "THING_DELETED") {
      if (thingId) {
        this.devices.delete(thingId);
        this.registered.delete(thingId);
      }
      return;
    }
    if (type !== "EVENT") return;
    const topic = String(headers[HEADER.topic] ?? "") as DmfEventTopic;
    const body = message.content.length > 0 ? JSON.parse(message.content.toString("utf8")) : {};
    switch (topic) {
      case "DOWNLOAD":
      case "DOWNLOAD_AND_INSTALL":
      case "CONFIRM":
        if (thingId) this.offer(thingId, topic, body as DmfDownloadAndUpdateRequest);
        return;
      case "CANCEL_DOWNLOAD":
        if (thingId) this.cancel(thingId, Number((body as { actionId: number }).actionId));
        return;
      case "MULTI_ACTION":
        if (thingId) for (const element of (body as { elements: DmfMultiActionElement[] }).elements ?? []) {
          if (element.topic === "CANCEL_DOWNLOAD") this.cancel(thingId, Number(element.action.actionId));
          else if (element.topic === "DOWNLOAD" || element.topic === "DOWNLOAD_AND_INSTALL" || element.topic === "CONFIRM") this.offer(thingId, element.topic, element.action as DmfDownloadAndUpdateRequest);
        }
        return;
      case "BATCH_DOWNLOAD":
      case "BATCH_DOWNLOAD_AND_INSTALL": {
        const batch = body as DmfBatchDownloadAndUpdateRequest;
        const single = topic === "BATCH_DOWNLOAD" ? "DOWNLOAD" : "DOWNLOAD_AND_INSTALL";
        for (const target of batch.targets ?? []) this.offer(target.controllerId, single, { actionId: target.actionId, softwareModules: batch.softwareModules });
        return;
      }
      case "REQUEST_ATTRIBUTES_UPDATE":
        if (thingId) {
          this.state(thingId).configDataRequested = true;
          this.emit("changed", thingId);
        }
        return;
      default:
        return;
    }
  }

  private offer(controllerId: string, topic: PendingAction["topic"], request: DmfDownloadAndUpdateRequest): void {
    const state = this.state(controllerId);
    const pending = { actionId: Number(request.actionId), topic, modules: request.softwareModules ?? [] };
    // The notice needs each module's name and sha256s: asked for now (once, cached), while the rest arrives.
    for (const module of pending.modules) this.module(module.moduleId).name.catch(() => undefined);
    if (topic === "CONFIRM") state.confirm = pending;
    else {
      state.open = pending;
      if (state.confirm?.actionId === pending.actionId) state.confirm = undefined;
    }
    if (state.cancelActionId === pending.actionId) state.cancelActionId = undefined;
    this.emit("changed", controllerId, pending.actionId);
    const modules = pending.modules.map((m) => m.moduleId).sort((a, b) => a - b).join(",");
    this.emit("action", { controllerId, actionId: pending.actionId, phase: topic === "CONFIRM" ? "consent" : "notice", shareKey: `dmf:${topic}:${modules}` } satisfies PushedAction);
  }

  private cancel(controllerId: string, actionId: number): void {
    const state = this.state(controllerId);
    state.cancelActionId = actionId;
    if (state.open?.actionId === actionId) state.open = undefined;
    if (state.confirm?.actionId === actionId) state.confirm = undefined;
    this.emit("changed", controllerId, actionId);
    this.emit("action", { controllerId, actionId, phase: "canceling" } satisfies PushedAction);
  }

  onAction(listener: (action: PushedAction) => void): () => void {
    this.on("action", listener);
    return () => this.off("action", listener);
  }

  /** THING_CREATED with Aerie's reply exchange as the device's address; hawkBit creates the target if it is new. */
  async register(controllerId: string, attributes?: Record<string, string>): Promise<void> {
    const headers = { [HEADER.type]: "THING_CREATED", [HEADER.thingId]: controllerId, [HEADER.tenant]: this.options.tenant, [HEADER.sender]: "aerie", [HEADER.contentType]: JSON_CONTENT_TYPE };
    await this.publish(headers, attributes ? { attributeUpdate: { attributes, mode: "REPLACE" } } : {}, this.replyExchange);
    this.registered.add(controllerId);
  }

  /** THING_CREATED for each, attributes included: one AMQP message per device, confirmed by RabbitMQ together. */
  async registerMany(devices: readonly { controllerId: string; attributes: Record<string, string> }[]): Promise<void> {
    await Promise.all(devices.map((d) => this.register(d.controllerId, d.attributes)));
  }

  async pollController(controllerId: string): Promise<DdiControllerState> {
    if (!this.registered.has(controllerId)) await this.register(controllerId);
    const state = this.state(controllerId);
    return {
      openActionId: state.open?.actionId,
      confirmationActionId: state.confirm?.actionId,
      cancelActionId: state.cancelActionId,
      pollingSleepMs: NO_POLLING_MS,
      configDataRequested: state.configDataRequested,
    };
  }

  private async pending(controllerId: string, actionId: number, which: "open" | "confirm"): Promise<PendingAction> {
    const found = () => {
      const pending = this.devices.get(controllerId)?.[which];
      return pending?.actionId === actionId ? pending : undefined;
    };
    const wait = this.options.deploymentWaitMs ?? 10_000;
    for (let attempt = 0; attempt < 2; attempt++) {
      // Listening before asking: hawkBit's answer can arrive in the same read as RabbitMQ's confirmation.
      let onChange!: (id: string) => void;
      let timer: NodeJS.Timeout | undefined;
      const arrived = new Promise<boolean>((resolve) => {
        onChange = (id: string) => {
          if (id === controllerId && found()) resolve(true);
        };
        this.on("changed", onChange);
        // A short first wait: asking again costs one message, and hawkBit's answer to it is idempotent.
        timer = setTimeout(() => resolve(false), attempt === 0 ? Math.min(3000, wait / 3) : wait - Math.min(3000, wait / 3));
      });
      try {
        if (found()) return found()!;
        // The action may be on its way (Management listed it first) or was sent while this instance was away.
        if (attempt === 1) await this.register(controllerId);
        if (found() || (await arrived)) return found()!;
      } finally {
        clearTimeout(timer);
        this.off("changed", onChange);
      }
    }
    throw new HawkbitNotFoundError(404, `DMF: hawkBit sent no ${which === "open" ? "deployment" : "confirmation request"} for action ${actionId} of ${controllerId}`);
  }

  private module(moduleId: number): { name: Promise<string>; artifacts: Promise<MgmtArtifact[]> } {
    let entry = this.modules.get(moduleId);
    if (!entry || entry.until < Date.now()) {
      const { management } = this.options;
      entry = { until: Date.now() + MODULE_CACHE_MS, name: management.getSoftwareModule(moduleId).then((m) => m.name), artifacts: management.listArtifacts(moduleId) };
      const forget = () => this.modules.delete(moduleId);
      entry.name.catch(forget);
      entry.artifacts.catch(forget);
      this.modules.set(moduleId, entry);
    }
    return entry;
  }

  private async sha256Of(moduleId: number, filename: string, sha1?: string): Promise<string | undefined> {
    const list = await this.module(moduleId).artifacts;
    const match = list.find((a) => (sha1 && a.hashes?.sha1 === sha1) || a.providedFilename === filename);
    return match?.hashes?.sha256;
  }

  private async toDeployment(pending: PendingAction): Promise<DdiDeployment> {
    const chunks: DdiDeploymentChunk[] = [];
    for (const module of pending.modules) {
      const artifacts = [];
      for (const artifact of module.artifacts ?? []) {
        const sha256 = await this.sha256Of(module.moduleId, artifact.filename, artifact.hashes?.sha1);
        artifacts.push({
          filename: artifact.filename,
          size: artifact.size,
          hashes: { sha1: artifact.hashes?.sha1, md5: artifact.hashes?.md5, ...(sha256 ? { sha256 } : {}) },
          links: { downloadHttps: artifact.urls?.HTTPS, downloadHttp: artifact.urls?.HTTP },
        });
      }
      chunks.push({ part: module.moduleType, name: await this.module(module.moduleId).name, version: module.moduleVersion, encrypted: module.encrypted ?? false, artifacts, metadata: module.metadata ?? [] });
    }
    // DMF says download-only (or outside the maintenance window: AmqpMessageDispatcherService.getEventTypeForTarget)
    // or download-and-install; it has no soft/forced distinction, so the device installs when told to.
    const downloadOnly = pending.topic === "DOWNLOAD";
    return {
      actionId: pending.actionId,
      download: "forced",
      update: downloadOnly ? "skip" : "forced",
      type: downloadOnly ? "downloadonly" : "forced",
      ...(pending.topic === "CONFIRM" ? { confirmationRequired: true } : {}),
      chunks,
    };
  }

  async getDeployment(controllerId: string, actionId: number): Promise<DdiDeployment> {
    return this.toDeployment(await this.pending(controllerId, actionId, "open"));
  }

  async getConfirmation(controllerId: string, actionId: number): Promise<DdiDeployment> {
    return this.toDeployment(await this.pending(controllerId, actionId, "confirm"));
  }

  private async sendStatus(controllerId: string, status: DmfActionUpdateStatus): Promise<void> {
    await this.publish(eventHeaders(this.options.tenant, controllerId, "UPDATE_ACTION_STATUS"), status);
  }

  async sendFeedback(controllerId: string, actionId: number, feedback: DdiFeedback): Promise<void> {
    await this.sendStatus(controllerId, { actionId, actionStatus: dmfStatusOf(feedback), timestamp: Date.now(), message: feedback.details ?? [], ...(feedback.code === undefined ? {} : { code: feedback.code }) });
    if (feedback.execution === "closed") {
      const state = this.devices.get(controllerId);
      if (state?.open?.actionId === actionId) state.open = undefined;
    }
  }

  async sendCancelFeedback(controllerId: string, actionId: number, feedback: DdiFeedback): Promise<void> {
    await this.sendStatus(controllerId, { actionId, actionStatus: dmfCancelStatusOf(feedback), timestamp: Date.now(), message: feedback.details ?? [], ...(feedback.code === undefined ? {} : { code: feedback.code }) });
    const state = this.devices.get(controllerId);
    if (state?.cancelActionId === actionId && feedback.execution !== "rejected") state.cancelActionId = undefined;
  }

  async sendConfirmation(controllerId: string, actionId: number, confirmation: DdiConfirmation): Promise<void> {
    await this.sendStatus(controllerId, {
      actionId, actionStatus: confirmation.confirmation === "confirmed" ? "CONFIRMED" : "DENIED", timestamp: Date.now(), message: confirmation.details ?? [],
      ...(confirmation.code === undefined ? {} : { code: confirmation.code }),
    });
  }

  async sendConfigData(controllerId: string, attributes: Record<string, string>, mode: ConfigDataMode = "merge"): Promise<void> {
    await this.publish(eventHeaders(this.options.tenant, controllerId, "UPDATE_ATTRIBUTES"), { attributes, mode: mode.toUpperCase() });
    const state = this.devices.get(controllerId);
    if (state) state.configDataRequested = false;
  }

  async getCancelAction(controllerId: string, actionId: number): Promise<DdiCancelAction> {
    const state = this.devices.get(controllerId);
    if (state?.cancelActionId !== actionId) throw new HawkbitNotFoundError(404, `DMF: no cancellation of action ${actionId} for ${controllerId}`);
    return { actionId, stopActionId: actionId };
  }
}
