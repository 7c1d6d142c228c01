// A simulated SWUpdate/RAUC device speaking Aerie's v1 MQTT protocol, as a real device client
// would: it announces itself, sends telemetry, and installs what it is told to after checking the
// download's size, sha256 and signature against its keyring. Used by the demo and the tests.
import { randomUUID } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import type { Cancel, Consent, ConsentDecision, Deployment, DeploymentArtifact, DeviceResponse, Feedback, FeedbackStatus, Health, Hello, RequestName, Telemetry } from "../../bridge/protocol/schemas.js";
import { Topics } from "../../bridge/protocol/topics.js";
import type { PublicKeyInput } from "../../signing/verify.js";
import { verifyDownloadedArtifact } from "./verify-artifact.js";

/** A simulated device holds its download in memory. */
const MAX_DOWNLOAD = 512 * 1024 * 1024;

export interface SimulatedDeviceOptions {
  controllerId: string;
  mqttUrl: string;
  baseTopic?: string;
  hardware?: string;
  updateClient?: "swupdate" | "rauc";
  version?: string;
  attributes?: Record<string, string>;
  secondaryIds?: Record<string, string>;
  /** Public keys by key version, as devices ship them (GET /api/v1/keyring). */
  keyring: Map<number, PublicKeyInput>;
  /** The CA bundle (GET /api/v1/keyring/ca.pem) for CMS-signed artifacts (.swu, RAUC bundles). */
  caBundle?: string;
  telemetryIntervalMs?: number;
  /** Fails the install step, to exercise error paths. */
  failInstall?: boolean;
  /** Only records deployment notices instead of installing them (a device waiting for its user). */
  holdDeployments?: boolean;
  /** What the post-boot health report says after an update (default healthy). */
  healthy?: boolean;
  /** With `healthy: false`: like an A/B device, reports the unhealthy boot, goes back to the old slot and
   *  reports failure (instead of success with an unhealthy report). */
  rollback?: boolean;
  /** MQTT password: the token from provisioning (username is the controller id). */
  token?: string;
  /** Answer to a deployment that asks for consent (default accept). */
  consent?: ConsentDecision;
  /** Answer to a cancel notice (default: accept it unless already installing). */
  cancel?: "accept" | "reject";
}

export type UpdateOutcome = { actionId: number; status: "success" | "failure"; detail?: string; version?: string };

export class SimulatedDevice {
  private client: MqttClient | undefined;
  private readonly topics: Topics;
  private telemetryTimer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private connectedOnce = false;
  private readonly handled = new Set<number>();
  private readonly outcomeListeners: ((outcome: UpdateOutcome) => void)[] = [];
  version: string;
  readonly outcomes: UpdateOutcome[] = [];
  /** Every deployment notice received, in order, including repeats. */
  readonly notices: Deployment[] = [];
  /** Every cancel notice received, in order. */
  readonly cancels: Cancel[] = [];
  telemetrySent = 0;
  /** The payload of the last telemetry sent, as sent (tests: a redelivery repeats it byte for byte). */
  lastTelemetry: string | undefined;
  private installing = new Set<number>();
  private readonly canceled = new Set<number>();
  private readonly pendingRequests = new Map<string, (response: DeviceResponse) => void>();

  constructor(private readonly options: SimulatedDeviceOptions) {
    this.topics = new Topics(options.baseTopic ?? "aerie/v1");
    this.version = options.version ?? "1.0.0";
  }

  get controllerId(): string {
    return this.options.controllerId;
  }

  async start(): Promise<void> {
    const availability = this.topics.device(this.controllerId, "availability");
    this.client = await mqtt.connectAsync(this.options.mqttUrl, {
      // The broker binds the client id to the login: a device connects only as itself.
      clientId: this.controllerId,
      clean: true,
      ...(this.options.token ? { username: this.controllerId, password: this.options.token } : {}),
      reconnectPeriod: 500,
      will: { topic: availability, payload: Buffer.from(JSON.stringify({ state: "offline" })), qos: 1, retain: true },
    });
    // Like a real device client: announce itself again on every reconnect, since the broker (and
    // Aerie) may have restarted and kept nothing.
    this.client.on("connect", () => {
      if (this.connectedOnce) void this.announce().catch(() => undefined);
    });
    this.client.on("message", (topic, payload) => {
      if (payload.length === 0) return;
      if (topic === this.topics.device(this.controllerId, "deployment")) void this.onDeployment(payload);
      else if (topic === this.topics.device(this.controllerId, "cancel")) void this.onCancel(payload);
      else if (topic.startsWith(this.topics.response(this.controllerId, ""))) this.onResponse(payload);
    });
    this.connectedOnce = true;
    await this.announce();
    if (this.options.telemetryIntervalMs) {
      this.telemetryTimer = setInterval(() => void this.sendTelemetry(), this.options.telemetryIntervalMs);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.telemetryTimer);
    if (!this.client) return;
    // Disconnected (the broker refused it, e.g. its device was deleted): a QoS 1 publish would wait for a connection
    // that never comes; the broker already published its offline will.
    const connected = this.client.connected;
    if (connected) await this.client.publishAsync(this.topics.device(this.controllerId, "availability"), JSON.stringify({ state: "offline" }), { qos: 1, retain: true }).catch(() => undefined);
    await this.client.endAsync(!connected);
    this.client = undefined;
  }

  private async announce(): Promise<void> {
    await this.client!.subscribeAsync(
      [this.topics.device(this.controllerId, "deployment"), this.topics.device(this.controllerId, "cancel"), this.topics.response(this.controllerId, "+")], { qos: 1 });
    await this.client!.publishAsync(this.topics.device(this.controllerId, "availability"), JSON.stringify({ state: "online" }), { qos: 1, retain: true });
    await this.hello();
  }

  /** Publishes anything on its own connection (tests: repeated or malformed messages). */
  async publishRaw(topic: string, payload: string | Buffer, options: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    await this.client!.publishAsync(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false });
  }

  /** Resolves with the next update this device finishes (success or failure). */
  nextOutcome(): Promise<UpdateOutcome> {
    return new Promise((resolve) => this.outcomeListeners.push(resolve));
  }

  async hello(): Promise<void> {
    const hello: Hello = {
      messageId: this.nextMessageId(),
      hardware: this.options.hardware ?? "sim-board-rev-a",
      updateClient: this.options.updateClient ?? "swupdate",
      compatible: this.options.hardware ?? "sim-board-rev-a",
      versions: { rootfs: this.version },
      slots: [
        { name: "rootfs.0", bootname: "A", state: "booted", version: this.version },
        { name: "rootfs.1", bootname: "B", state: "inactive" },
      ],
      secondaryIds: this.options.secondaryIds,
      attributes: this.options.attributes,
    };
    await this.publish("hello", hello);
  }

  async sendTelemetry(metrics: Telemetry["metrics"] = { cpuLoad: Math.round(Math.random() * 100) / 100, memFreeKb: 100_000 + Math.floor(Math.random() * 1000) }): Promise<string> {
    const telemetry: Telemetry = { messageId: this.nextMessageId(), ts: new Date().toISOString(), metrics };
    this.lastTelemetry = JSON.stringify(telemetry);
    await this.publish("telemetry", telemetry);
    this.telemetrySent++;
    return telemetry.messageId;
  }

  private nextMessageId(): string {
    return `${this.controllerId}-${++this.sequence}-${randomUUID().slice(0, 8)}`;
  }

  /** A device-initiated query (request/{name}); resolves with the bridge's response. */
  async request(name: RequestName, timeoutMs = 10_000): Promise<DeviceResponse> {
    const correlationId = randomUUID();
    const answered = new Promise<DeviceResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingRequests.delete(correlationId);
        reject(new Error(`no response to ${name} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pendingRequests.set(correlationId, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
    });
    await this.client!.publishAsync(this.topics.request(this.controllerId, name), JSON.stringify({ correlationId }), { qos: 1 });
    return answered;
  }

  private onResponse(payload: Buffer): void {
    try {
      const response = JSON.parse(payload.toString("utf8")) as DeviceResponse;
      this.pendingRequests.get(response.correlationId)?.(response);
      this.pendingRequests.delete(response.correlationId);
    } catch {
      // not ours to judge
    }
  }

  private async onCancel(payload: Buffer): Promise<void> {
    let cancel: Cancel;
    try {
      cancel = JSON.parse(payload.toString("utf8"));
    } catch {
      return;
    }
    this.cancels.push(cancel);
    const refuse = this.options.cancel === "reject" || this.installing.has(cancel.actionId);
    if (!refuse) this.canceled.add(cancel.actionId);
    await this.feedback(cancel.actionId, refuse ? "cancel-rejected" : "canceled", { details: [refuse ? "already installing" : "stopped before installing"] });
  }

  private async publish(kind: "hello" | "telemetry" | "feedback" | "health" | "consent", body: object): Promise<void> {
    await this.client?.publishAsync(this.topics.device(this.controllerId, kind), JSON.stringify(body), { qos: 1 });
  }

  private async feedback(actionId: number, status: FeedbackStatus, extra: Partial<Feedback> = {}): Promise<void> {
    await this.publish("feedback", { messageId: this.nextMessageId(), actionId, status, ...extra } satisfies Feedback);
  }

  private async onDeployment(payload: Buffer): Promise<void> {
    let deployment: Deployment;
    try {
      deployment = JSON.parse(payload.toString("utf8"));
    } catch {
      return;
    }
    this.notices.push(deployment);
    if (this.options.holdDeployments || this.canceled.has(deployment.actionId)) return;
    if (deployment.consentRequired) {
      await this.publish("consent", { messageId: this.nextMessageId(), actionId: deployment.actionId, decision: this.options.consent ?? "accept" } satisfies Consent);
      return;
    }
    // A retained notice is delivered again on every reconnect: install each action once.
    if (this.handled.has(deployment.actionId)) return;
    this.handled.add(deployment.actionId);
    const { actionId } = deployment;
    try {
      for (const artifact of deployment.artifacts) await this.download(actionId, artifact);
      await this.feedback(actionId, "downloaded");
      if (this.canceled.has(actionId)) return;
      this.installing.add(actionId);
      await this.feedback(actionId, "installing");
      if (this.options.failInstall) throw new Error("install failed: simulated write error on rootfs.1");
      await this.feedback(actionId, "rebooting");
      if (this.options.rollback && this.options.healthy === false) {
        await this.publish("health", { messageId: this.nextMessageId(), actionId, bootedSlot: "rootfs.1", runningVersion: deployment.release.version, healthy: false, checks: { services: false } } satisfies Health);
        await this.publish("health", { messageId: this.nextMessageId(), actionId, bootedSlot: "rootfs.0", runningVersion: this.version, healthy: false, checks: { bootedUpdatedSlot: false } } satisfies Health);
        throw new Error(`health check services failed; rolled back: running ${this.version}`);
      }
      this.version = deployment.release.version;
      await this.feedback(actionId, "success", { details: [`running ${deployment.release.name} ${this.version}`] });
      await this.publish("health", { messageId: this.nextMessageId(), actionId, bootedSlot: "rootfs.1", runningVersion: this.version, healthy: this.options.healthy ?? true, checks: { services: this.options.healthy ?? true } } satisfies Health);
      this.finish({ actionId, status: "success", version: this.version });
    } catch (error) {
      const detail = (error as Error).message;
      await this.feedback(actionId, "failure", { details: [detail] });
      this.finish({ actionId, status: "failure", detail });
    }
  }

  private finish(outcome: UpdateOutcome): void {
    this.outcomes.push(outcome);
    for (const listener of this.outcomeListeners.splice(0)) listener(outcome);
  }

  /** Downloads from the best offer, then checks size, sha256 and signature as the device's update client would. */
  private async download(actionId: number, artifact: DeploymentArtifact): Promise<void> {
    const offer = [...artifact.offers].filter((o) => o.scheme === "s3-presigned").sort((a, b) => a.metric - b.metric)[0];
    if (!offer) throw new Error(`no download offer this device can use for ${artifact.filename}`);
    if (!artifact.signature) throw new Error(`${artifact.filename} is not signed`);
    if (artifact.size > MAX_DOWNLOAD) throw new Error(`${artifact.filename}: ${artifact.size} bytes is more than this simulated device keeps`);
    await this.feedback(actionId, "downloading", { progress: 0 });
    const response = await fetch(offer.url);
    if (!response.ok || !response.body) throw new Error(`download of ${artifact.filename} failed: HTTP ${response.status}`);
    // Kept whole: a .swu or RAUC bundle is checked from its parts (sw-description, the bundle's CMS).
    const chunks: Buffer[] = [];
    let received = 0;
    let reported = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(Buffer.from(chunk));
      received += chunk.length;
      if (received > artifact.size) throw new Error(`${artifact.filename}: more than the announced ${artifact.size} bytes`);
      const percent = Math.floor((received / artifact.size) * 100);
      if (percent - reported >= 50 && percent < 100) {
        reported = percent;
        await this.feedback(actionId, "downloading", { progress: percent });
      }
    }
    await verifyDownloadedArtifact(artifact, Buffer.concat(chunks), { keyring: this.options.keyring, caBundle: this.options.caBundle });
  }
}
