// The MQTT fleet bridge: one MQTT connection, a dispatcher that validates what devices send, and
// extensions that each own one feature. Start order is the order of EXTENSIONS; stop is reversed.
import mqtt, { type MqttClient } from "mqtt";
import type { BridgeContext, Extension } from "./extension.js";
import { DeadLetters } from "./dead-letters.js";
import { Dispatcher } from "./dispatcher.js";
import { EventBus } from "./event-bus.js";
import { DeploymentsExtension } from "./extensions/deployments.js";
import { FeedbackExtension } from "./extensions/feedback.js";
import { HealthExtension } from "./extensions/health.js";
import { RegistrationExtension } from "./extensions/registration.js";
import { TelemetryExtension } from "./extensions/telemetry.js";
import { Topics } from "./protocol/topics.js";
import { logger } from "../core/log.js";

export type BridgeDependencies = Omit<BridgeContext, "mqtt" | "bus" | "topics" | "deadLetters" | "log">;

export interface BridgeOptions {
  mqttUrl: string;
  mqttUsername?: string;
  mqttPassword?: string;
  baseTopic: string;
  clientId?: string;
}

export class FleetBridge {
  private client: MqttClient | undefined;
  private extensions: Extension[] = [];
  private context: BridgeContext | undefined;
  private readonly log = logger("bridge");

  constructor(private readonly deps: BridgeDependencies, private readonly options: BridgeOptions) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(): Promise<void> {
    this.client = await mqtt.connectAsync(this.options.mqttUrl, {
      clientId: this.options.clientId ?? `aerie-bridge-${process.pid}`,
      username: this.options.mqttUsername,
      password: this.options.mqttPassword,
      clean: true,
      reconnectPeriod: 1000,
      protocolVersion: 4,
    });
    const topics = new Topics(this.options.baseTopic);
    const bus = new EventBus();
    const ctx: BridgeContext = { ...this.deps, mqtt: this.client, topics, bus, deadLetters: new DeadLetters(this.deps.pool, this.deps.metrics, this.log), log: this.log };
    this.context = ctx;
    const dispatcher = new Dispatcher(ctx);
    this.extensions = [new RegistrationExtension(ctx), new TelemetryExtension(ctx), new FeedbackExtension(ctx), new HealthExtension(ctx), new DeploymentsExtension(ctx)];
    for (const extension of this.extensions) await extension.start();
    this.client.on("message", (topic, payload) => dispatcher.handle(topic, payload));
    await this.client.subscribeAsync(topics.bridgeSubscriptions().map((topic) => ({ topic, qos: 1 as const })).reduce((all, s) => ({ ...all, [s.topic]: { qos: s.qos } }), {}));
    this.log.info({ url: this.options.mqttUrl.replace(/\/\/[^@]*@/, "//"), base: this.options.baseTopic }, "bridge started");
  }

  /** Stops intake first, then lets each extension flush, then closes the connection. */
  async stop(): Promise<void> {
    if (!this.client) return;
    await this.client.unsubscribeAsync(this.context!.topics.bridgeSubscriptions()).catch(() => undefined);
    for (const extension of [...this.extensions].reverse()) await extension.stop();
    await this.client.endAsync();
    this.client = undefined;
  }
}
