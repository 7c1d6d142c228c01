// The agent's MQTT connection, protocol v1 (bridge/protocol/README.md): login with the controller id
// and its provisioned token, last will `availability {offline}` (retained, QoS 1); after every
// (re)connect subscribe to the device's subtree, publish `availability {online}` (retained), then
// `hello`, then deliver the outbox. Reports (feedback, consent, health) go through the outbox of
// the state store: saved before they are sent, removed once the broker acknowledged them (PUBACK),
// sent one at a time so Aerie sees them in the order they were made.
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import type { Cancel, Deployment, DeviceResponse, Hello, RequestName, Telemetry } from "../bridge/protocol/schemas.js";
import type { AgentConfig } from "./config.js";
import { readToken } from "./config.js";
import type { Logger } from "./log.js";
import type { OutboxKind, StateStore } from "./state-store.js";

export interface SessionEvents {
  deployment: [Deployment];
  cancel: [Cancel];
  connected: [];
}

export class MqttSession extends EventEmitter<SessionEvents> {
  private client: MqttClient | undefined;
  private readonly prefix: string;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  private readonly pending = new Map<string, (response: DeviceResponse) => void>();
  private stopped = false;
  /** Set once hello went out on the current connection: reports never precede the hello. */
  private announced = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly store: StateStore,
    private readonly log: Logger,
    private readonly hello: () => Promise<Hello>,
  ) {
    super();
    this.prefix = `${config.mqtt.baseTopic}/devices/${config.controllerId}`;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  topic(leaf: string): string {
    return `${this.prefix}/${leaf}`;
  }

  /** Connects and keeps reconnecting; resolves once the first connection is up or has failed once. */
  start(): void {
    const offline = Buffer.from(JSON.stringify({ state: "offline" }));
    this.client = mqtt.connect(this.config.mqtt.url, {
      // The protocol binds the client id to the login: it is the controller id.
      clientId: this.config.mqtt.clientId ?? this.config.controllerId,
      username: this.config.controllerId,
      password: readToken(this.config),
      clean: true,
      keepalive: this.config.mqtt.keepaliveSeconds,
      reconnectPeriod: 2000,
      connectTimeout: 15_000,
      queueQoSZero: false,
      ...(this.config.mqtt.ca ? { ca: readFileSync(this.config.mqtt.ca) } : {}),
      will: { topic: this.topic("availability"), payload: offline, qos: 1, retain: true },
    });
    this.client.on("connect", () => void this.onConnect());
    this.client.on("error", (error) => this.log.warn("MQTT error", { err: error.message }));
    this.client.on("offline", () => this.log.info("MQTT offline"));
    this.client.on("close", () => {
      this.announced = false;
    });
    this.client.on("message", (topic, payload) => this.onMessage(topic, payload));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await Promise.race([
        client.publishAsync(this.topic("availability"), JSON.stringify({ state: "offline" }), { qos: 1, retain: true }).catch(() => undefined),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
    }
    await client.endAsync(true).catch(() => undefined);
    this.client = undefined;
  }

  private async onConnect(): Promise<void> {
    const client = this.client!;
    try {
      this.log.info("MQTT connected", { url: this.config.mqtt.url });
      await client.subscribeAsync([this.topic("deployment"), this.topic("cancel"), this.topic("response/+")], { qos: 1 });
      await client.publishAsync(this.topic("availability"), JSON.stringify({ state: "online" }), { qos: 1, retain: true });
      await client.publishAsync(this.topic("hello"), JSON.stringify({ messageId: randomUUID(), ...(await this.hello()) }), { qos: 1 });
      this.announced = true;
      this.emit("connected");
      this.flush();
    } catch (error) {
      this.log.warn("announcing after connect failed", { err: (error as Error).message });
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (payload.length === 0) return; // "nothing (any more)"
    let body: unknown;
    try {
      body = JSON.parse(payload.toString("utf8"));
    } catch {
      this.log.warn("ignoring a message that is not JSON", { topic });
      return;
    }
    if (topic === this.topic("deployment")) this.emit("deployment", body as Deployment);
    else if (topic === this.topic("cancel")) this.emit("cancel", body as Cancel);
    else if (topic.startsWith(this.topic("response/"))) {
      const response = body as DeviceResponse;
      this.pending.get(response.correlationId)?.(response);
    }
  }

  /** Saves a report in the outbox (durable) and starts delivering it. Returns its messageId. */
  report(kind: OutboxKind, body: Record<string, unknown>): string {
    const messageId = randomUUID();
    this.store.update((s) => {
      // Health reports are not ordered by the bridge (protocol README: seq is for feedback and consent).
      const seq = kind === "health" ? undefined : (s.reportSeq = (s.reportSeq ?? 0) + 1);
      s.outbox.push({ kind, body: { messageId, ...body, ...(seq === undefined ? {} : { seq }) } });
    });
    this.flush();
    return messageId;
  }

  /** Delivers the outbox in order; a failed send waits for the next connect. */
  flush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = (async () => {
      do {
        this.flushAgain = false;
        for (;;) {
          const next = this.store.state.outbox[0];
          const client = this.client;
          if (!next || !client?.connected || !this.announced || this.stopped) break;
          try {
            await client.publishAsync(this.topic(next.kind), JSON.stringify(next.body), { qos: 1 });
          } catch (error) {
            this.log.warn("report not delivered yet", { kind: next.kind, err: (error as Error).message });
            break;
          }
          this.store.update((s) => {
            s.outbox = s.outbox.filter((entry) => entry.body.messageId !== next.body.messageId);
          });
        }
      } while (this.flushAgain);
    })().finally(() => {
      this.flushing = undefined;
    });
  }

  /** Resolves once the outbox is empty (e.g. before a reboot), or after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.store.state.outbox.length === 0) return true;
      this.flush();
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.store.state.outbox.length === 0;
  }

  async telemetry(metrics: Telemetry["metrics"]): Promise<void> {
    if (!this.client?.connected) return; // measurements are not worth keeping across outages
    const body: Telemetry = { messageId: randomUUID(), ts: new Date().toISOString(), metrics };
    await this.client.publishAsync(this.topic("telemetry"), JSON.stringify(body), { qos: 1 });
  }

  async sendHello(): Promise<void> {
    if (!this.client?.connected) return;
    await this.client.publishAsync(this.topic("hello"), JSON.stringify({ messageId: randomUUID(), ...(await this.hello()) }), { qos: 1 });
  }

  /** request/{name} → response/{name}; undefined when no answer came in time. */
  async request(name: RequestName, timeoutMs = 15_000): Promise<DeviceResponse | undefined> {
    if (!this.client?.connected) return undefined;
    const correlationId = randomUUID();
    const answer = new Promise<DeviceResponse | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(correlationId, (response) => {
        clearTimeout(timer);
        this.pending.delete(correlationId);
        resolve(response);
      });
    });
    await this.client.publishAsync(this.topic(`request/${name}`), JSON.stringify({ correlationId }), { qos: 1 });
    return answer;
  }
}
