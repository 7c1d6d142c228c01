// The MQTT fleet bridge: two MQTT connections with persistent sessions (see LANES), a dispatcher that
// validates what devices send, and extensions that each own one feature. A device's QoS1 message is
// acknowledged only once handled (AckGate), so a crash loses nothing: the broker re-sends to the same session.
// Several instances can run at once: on MQTT v5 they share the device topics ($share/<group>/…), and
// one of them, elected through a Postgres advisory lock, runs the leader-only extensions.
import { hostname } from "node:os";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { SETTINGS } from "../core/config.js";
import type { BridgeContext, BridgeSettings, Extension } from "./extension.js";
import { AckGate } from "./mqtt/ack-gate.js";
import { DeadLetters } from "./dead-letters.js";
import { Dispatcher } from "./dispatcher.js";
import { EventBus } from "./event-bus.js";
import { ActionSyncExtension } from "./extensions/action-sync.js";
import { ConsentExtension } from "./extensions/consent.js";
import { FeedbackExtension } from "./extensions/feedback.js";
import { FeedbackRelayExtension } from "./extensions/feedback-relay.js";
import { FleetGaugesExtension } from "./extensions/fleet-gauges.js";
import { HealthExtension } from "./extensions/health.js";
import { HeartbeatExtension } from "./extensions/heartbeat.js";
import { NoticesExtension } from "./extensions/notices.js";
import { RegistrationExtension } from "./extensions/registration.js";
import { RequestsExtension } from "./extensions/requests.js";
import { RetentionExtension } from "./extensions/retention.js";
import { TelemetryExtension } from "./extensions/telemetry.js";
import { LastSeenExtension } from "./extensions/last-seen.js";
import { HomeAssistantExtension, type HomeAssistantOptions } from "./extensions/homeassistant.js";
import { limitedChannel } from "../hawkbit/limited-channel.js";
import { LeaderElection } from "./leader.js";
import { NoticeBuilder } from "./notices.js";
import { DEVICE_MESSAGE_KINDS, type DeviceMessageKind, Topics } from "./protocol/topics.js";
import type { PayloadLimits } from "./protocol/limits.js";
import { logger } from "../core/log.js";

export type BridgeDependencies = Omit<BridgeContext, "mqtt" | "bus" | "topics" | "deadLetters" | "log" | "notices" | "publish" | keyof BridgeSettings> & Partial<BridgeSettings>;

export const EXTENSION_NAMES = ["registration", "telemetry", "feedback", "feedback-relay", "consent", "health", "notices", "requests", "fleet-gauges", "action-sync", "heartbeat", "retention", "last-seen", "homeassistant"] as const;
export type ExtensionName = (typeof EXTENSION_NAMES)[number];

/**
 * PUBACKs leave each connection in arrival order (AckGate), so one message that waits for hawkBit holds back
 * every later one on its connection. hello (registers the device in hawkBit) and request (may ask hawkBit)
 * therefore have a connection of their own, with availability, which must stay in order with hello (both set
 * presence). On the first, with the instance's own client id, everything waits only for Postgres.
 */
const LANES: readonly { name: string; clientIdSuffix: string; kinds: readonly DeviceMessageKind[] }[] = [
  { name: "data", clientIdSuffix: "", kinds: ["telemetry", "feedback", "consent", "health"] },
  { name: "presence", clientIdSuffix: "-presence", kinds: ["hello", "availability", "request"] },
];

interface Lane {
  name: string;
  client: MqttClient;
  gate: AckGate;
  connected: Promise<void>;
  kinds: readonly DeviceMessageKind[];
  /** Uses the instance's own client id, so it may inherit a session from a bridge with one connection. */
  ownClientId: boolean;
}

/** The bridge instance's client id: configured, or one per host, stable across restarts. */
export function bridgeClientId(configured?: string): string {
  return configured ?? `aerie-bridge-${hostname()}`.slice(0, 64);
}

/** Every client id the bridge connects with (one per connection, see LANES); a broker reserves them to it. */
export function bridgeClientIds(configured?: string): string[] {
  return LANES.map((lane) => `${bridgeClientId(configured)}${lane.clientIdSuffix}`);
}

/** A session survives a bridge outage this long; the broker queues device messages meanwhile. */
const SESSION_EXPIRY_SECONDS = 7 * 24 * 3600;

export interface BridgeOptions {
  mqttUrl: string;
  mqttUsername?: string;
  mqttPassword?: string;
  /**
   * Each connection logs in as `<mqttUsername><its client id suffix>` (`-presence` for the second): for a
   * mosquitto that takes the client id from the login (use_username_as_clientid, Aerie's generated files),
   * where one login can hold only one connection. The client id is then the login too.
   */
  loginPerConnection?: boolean;
  baseTopic: string;
  /** Stable across restarts (the broker keeps this session's queue); unique per instance. */
  clientId?: string;
  /** MQTT v5 shared-subscription group; unset: plain subscriptions (one instance, or aedes). */
  shareGroup?: string;
  /** 5 is implied by shareGroup; aedes speaks 4 (3.1.1) only. */
  protocolVersion?: 4 | 5;
  /** Unacknowledged messages at most, per connection; beyond it the bridge stops reading it (back-pressure). */
  maxInFlight?: number;
  /** Concurrent DDI requests at most. */
  ddiConcurrency?: number;
  /** Only these extensions (default: all). */
  extensions?: readonly ExtensionName[];
  /** Largest payload per upstream leaf (default DEFAULT_PAYLOAD_LIMITS); larger ones become dead letters. */
  payloadLimits?: PayloadLimits;
  /** How often a follower tries to become leader. */
  leaderRetryMs?: number;
  /**
   * How long a device report out of its seq order waits for the reports before it (feedback-relay.ts). Default:
   * 2 s with shared subscriptions (several instances can store one device's reports out of order), 0 otherwise.
   */
  reorderWindowMs?: number;
  /**
   * Until the first connection, wait for the broker (retrying with a delay doubling from 1 s to 30 s,
   * also on "not authorised") instead of failing start(): a mosquitto started alongside Aerie may come
   * up, or load the auth files Aerie just wrote, after Aerie does. stop() ends the wait.
   */
  waitForBroker?: boolean;
  /** Home Assistant MQTT discovery (AERIE_HOMEASSISTANT); unset: off, nothing is published for it. */
  homeAssistant?: HomeAssistantOptions;
}

/** Aerie's configuration defaults, for a bridge embedded without a configuration (tests, benchmarks). */
const DEFAULT_SETTINGS: BridgeSettings = {
  presignTtlSeconds: SETTINGS.presignTtlSeconds.default!,
  syncIntervalMs: SETTINGS.bridgeSyncIntervalMs.default!,
  idleSyncIntervalMs: SETTINGS.bridgeIdleSyncIntervalMs.default!,
  heartbeatMs: SETTINGS.bridgeHeartbeatMs.default!,
  retentionDays: SETTINGS.telemetryRetentionDays.default!,
};

export class FleetBridge {
  private lanes: Lane[] = [];
  private extensions: Extension[] = [];
  private leaderExtensions: Extension[] = [];
  private leadership: Promise<void> = Promise.resolve();
  private election: LeaderElection | undefined;
  private stopping = false;
  private readonly log = logger("bridge");
  readonly clientId: string;

  constructor(private readonly deps: BridgeDependencies, private readonly options: BridgeOptions) {
    this.clientId = bridgeClientId(options.clientId);
  }

  get connected(): boolean {
    return this.lanes.length > 0 && this.lanes.every((lane) => lane.client.connected);
  }

  get isLeader(): boolean {
    return this.election?.isLeader ?? false;
  }

  /** Messages received and not yet acknowledged. */
  get inFlight(): number {
    return this.lanes.reduce((sum, lane) => sum + lane.gate.inFlight, 0);
  }

  private connect({ name, clientIdSuffix, kinds }: (typeof LANES)[number]): Lane {
    const perConnection = this.options.loginPerConnection && this.options.mqttUsername !== undefined;
    const clientId = perConnection ? `${this.options.mqttUsername}${clientIdSuffix}` : `${this.clientId}${clientIdSuffix}`;
    const protocolVersion = this.options.shareGroup ? 5 : (this.options.protocolVersion ?? 4);
    const maxInFlight = this.options.maxInFlight ?? 2000;
    const connectOptions: IClientOptions = {
      clientId,
      username: perConnection ? clientId : this.options.mqttUsername,
      password: this.options.mqttPassword,
      clean: false,
      // Keepalive pings only when the link is idle by the clock, not re-armed on every packet sent: MQTT.js
      // otherwise clears and sets a timer per publish, measurable when a rollout publishes 10,000 notices.
      reschedulePings: false,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      protocolVersion,
      // MQTT.js logs each packet several times through `debug`, which costs a call even when off;
      // DEBUG=mqttjs* still turns its log on.
      ...(process.env.DEBUG ? {} : { log: () => undefined }),
      ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_SECONDS, receiveMaximum: Math.min(65535, maxInFlight) } } : {}),
    };
    // Created synchronously and wired (by the caller, before any await) ahead of the first byte: a persistent
    // session starts delivering its queue right after CONNACK, and a message without a listener would be
    // acknowledged unseen.
    const waiting = this.options.waitForBroker === true;
    if (waiting) connectOptions.reconnectOnConnackError = true;
    const client = mqtt.connect(this.options.mqttUrl, connectOptions);
    const connected = new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      if (!waiting) client.once("error", reject);
      client.once("end", () => reject(new Error("MQTT connection closed before it was established")));
    });
    connected.catch(() => undefined);
    if (waiting) this.backOffUntilConnected(client, name);
    client.on("error", (error) => this.log.warn({ connection: name, err: error.message }, "MQTT error"));
    return { name, client, gate: new AckGate(client, maxInFlight), connected, kinds, ownClientId: clientIdSuffix === "" };
  }

  private backOffUntilConnected(client: MqttClient, connection: string): void {
    let delayMs = 1000;
    let attempt = 0;
    const onClose = () => {
      attempt++;
      this.log.warn({ connection, attempt, retryInMs: delayMs }, "waiting for the MQTT broker");
      // Read by MQTT.js when it schedules the next reconnect.
      client.options.reconnectPeriod = delayMs;
      delayMs = Math.min(delayMs * 2, 30_000);
    };
    client.on("close", onClose);
    client.once("connect", () => {
      client.off("close", onClose);
      client.options.reconnectPeriod = 1000;
      client.options.reconnectOnConnackError = false;
      if (attempt > 0) this.log.info({ connection, attempts: attempt + 1 }, "connected to the MQTT broker");
    });
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.lanes = LANES.map((lane) => this.connect(lane));
    const publisher = this.lanes[0]!.client;
    const topics = new Topics(this.options.baseTopic);
    const bus = new EventBus();
    const settings = { ...DEFAULT_SETTINGS, ...Object.fromEntries(Object.entries(this.deps).filter(([k, v]) => k in DEFAULT_SETTINGS && v !== undefined)) } as BridgeSettings;
    const channel = limitedChannel(this.deps.channel, this.options.ddiConcurrency ?? 16, this.deps.metrics);
    const ctx: BridgeContext = {
      ...this.deps,
      ...settings,
      channel,
      mqtt: publisher,
      topics,
      bus,
      deadLetters: new DeadLetters(this.deps.pool, this.deps.metrics, this.log),
      reorderWindowMs: this.options.reorderWindowMs ?? (this.options.shareGroup ? 2000 : 0),
      notices: new NoticeBuilder({ db: this.deps.db, store: this.deps.store, channel, presignTtlSeconds: settings.presignTtlSeconds }),
      log: this.log,
      publish: (topic, payload, opts) =>
        publisher.publish(topic, payload, opts, (error) => {
          if (error) this.log.warn({ topic, err: error.message }, "publish failed");
        }),
    };
    const dispatcher = new Dispatcher(ctx, this.options.payloadLimits);
    // A session's queue can arrive before the extensions have started: those messages wait for them, in order
    // (PUBACKs leave in arrival order, so one left unhandled would hold back the whole connection).
    let started = false;
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    for (const { client, gate } of this.lanes) {
      client.on("message", (topic, payload, packet) => {
        // After stop() began: leave the message unacknowledged; the broker keeps it for our session.
        if (this.stopping) return gate.track(packet.messageId, new Promise(() => undefined));
        gate.track(packet.messageId, started ? dispatcher.handle(topic, payload) : opened.then(() => dispatcher.handle(topic, payload)));
      });
    }
    const inFlightTimer = setInterval(() => this.deps.metrics.bridgeInFlight.set(this.inFlight), 1000);
    publisher.once("end", () => clearInterval(inFlightTimer));

    const wanted = new Set<string>(this.options.extensions ?? EXTENSION_NAMES);
    const all: Extension[] = [
      new RegistrationExtension(ctx), new TelemetryExtension(ctx), new FeedbackExtension(ctx), new FeedbackRelayExtension(ctx), new ConsentExtension(ctx), new HealthExtension(ctx),
      new NoticesExtension(ctx), new RequestsExtension(ctx), new FleetGaugesExtension(ctx),
      new ActionSyncExtension(ctx), new HeartbeatExtension(ctx), new RetentionExtension(ctx), new LastSeenExtension(ctx),
      ...(this.options.homeAssistant ? [new HomeAssistantExtension(ctx, this.options.homeAssistant)] : []),
    ].filter((e) => wanted.has(e.name));
    this.extensions = all.filter((e) => !e.leaderOnly);
    this.leaderExtensions = all.filter((e) => e.leaderOnly);
    for (const extension of this.extensions) await extension.start();
    open();
    started = true;

    try {
      await Promise.all(this.lanes.map((lane) => this.subscribe(lane, topics)));
    } catch (error) {
      await this.stop();
      throw error;
    }

    if (this.leaderExtensions.length > 0) {
      this.election = new LeaderElection(
        { databaseUrl: this.deps.databaseUrl, baseTopic: this.options.baseTopic, instanceId: this.clientId, retryMs: this.options.leaderRetryMs ?? 5000 },
        (leading) => {
          this.deps.metrics.bridgeLeader.set(leading ? 1 : 0);
          this.leadership = this.leadership.then(() => this.lead(leading)).catch((error) => this.log.error({ err: (error as Error).message }, "leadership change failed"));
        },
      );
      this.election.start();
    }
    this.log.info({ url: this.options.mqttUrl.replace(/\/\/[^@]*@/, "//"), base: this.options.baseTopic, clientId: this.clientId, shareGroup: this.options.shareGroup }, "bridge started");
  }

  private async subscribe({ client, connected, kinds, ownClientId }: Lane, topics: Topics): Promise<void> {
    await connected;
    const granted = await client.subscribeAsync(Object.fromEntries(topics.bridgeSubscriptions(this.options.shareGroup, kinds).map((t) => [t, { qos: 1 as const }])));
    const refused = granted.filter((g) => g.qos > 2);
    if (refused.length > 0) throw new Error(`the broker refused subscriptions: ${refused.map((g) => g.topic).join(", ")}`);
    // A session kept from a bridge that read every kind on one connection still holds the others' subscriptions.
    if (ownClientId) await client.unsubscribeAsync(topics.bridgeSubscriptions(this.options.shareGroup, DEVICE_MESSAGE_KINDS.filter((k) => !kinds.includes(k))));
  }

  private async lead(leading: boolean): Promise<void> {
    if (leading) for (const extension of this.leaderExtensions) await extension.start();
    else for (const extension of [...this.leaderExtensions].reverse()) await extension.stop();
  }

  /**
   * Stops intake, lets each extension flush (their messages are acknowledged as they commit), then
   * closes the connection. The subscriptions stay with the broker's session, which queues meanwhile.
   */
  async stop(): Promise<void> {
    // Once at a time: Aerie may stop a bridge whose start() is still waiting for the broker, and that
    // start() then stops it too.
    this.stopped ??= this.stopOnce().finally(() => (this.stopped = undefined));
    return this.stopped;
  }

  private stopped: Promise<void> | undefined;

  private async stopOnce(): Promise<void> {
    if (this.lanes.length === 0) return;
    this.stopping = true;
    await this.election?.stop();
    await this.leadership;
    for (const extension of [...this.extensions].reverse()) await extension.stop();
    await Promise.all(this.lanes.map((lane) => lane.client.endAsync()));
    this.lanes = [];
  }
}
