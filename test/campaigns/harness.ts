// Aerie's campaign side on its own: embedded PostgreSQL, the conformant hawkBit stand-in (optionally behind a
// proxy that loses responses), the API and the campaign reconciler, which can be "killed" (dropped with all
// in-memory state) and started again on the same database. Devices are DDI clients, as SWUpdate's suricatta or
// rauc-hawkbit-updater are; what the MQTT bridge would store for them (device, action, health report) is written
// as the bridge does, so the campaign tests do not depend on the bridge.
import { constants, generateKeyPairSync, privateEncrypt, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { Express } from "express";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { type ApiDependencies, type RunningApi, createApp, createServices, listen } from "../../api/server.js";
import { TokenStore, newSecret } from "../../api/auth/tokens.js";
import { CampaignMonitor } from "../../api/services/campaign-monitor.js";
import { WebhookDispatcher, type WebhookDispatcherOptions } from "../../api/webhooks/dispatcher.js";
import { WebhookTargetPolicy } from "../../api/webhooks/target-policy.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import { migrate } from "../../core/db/migrator.js";
import { type Database, closePool, createDatabase, createPool } from "../../core/db/prisma.js";
import { AerieMetrics } from "../../core/metrics.js";
import type { ArtifactStore } from "../../core/storage/artifact-store.js";
import { startEmbeddedPostgres } from "../../infrastructure/embedded/postgres.js";
import type { ArtifactSigner } from "../../api/signer.js";
import { expect } from "chai";
import { AerieApiError, AerieClient } from "../../scripts/lib/aerie-client.js";
import { freePort, tempDir } from "../helpers/env.js";
import { CREDENTIALS, type ConformantStandin, startConformantStandin } from "../helpers/hawkbit-conformance.js";
import { type HawkbitProxy, startHawkbitProxy } from "../helpers/hawkbit-proxy.js";

const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");

export interface CampaignHarness {
  db: Database;
  standin: ConformantStandin;
  proxy: HawkbitProxy;
  hawkbit: HawkbitManagementClient;
  /** Client with an admin API token. */
  api: AerieClient;
  apiUrl: string;
  /** The admin API token the client sends (the bootstrap token), for tests that use fetch or make more tokens. */
  adminToken: string;
  /** A client with a new API token of `role`, created over the API by the admin. */
  clientAs(role: string, name?: string): Promise<AerieClient>;
  /** Drops the API and reconciler (all in-memory state) and starts them again on the same database. */
  restart(): Promise<void>;
  /** Stops the API and the reconciler only. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** One reconciler pass now, for tests that set a long monitor interval to choose when passes happen. */
  reconcile(): Promise<void>;
  /** An artifact row as the upload route writes it, with its bytes in the in-memory S3, signed as POST .../signatures signs it. */
  addArtifact(filename: string, bytes: Buffer): Promise<string>;
  /** Signs the artifact's recorded sha256 again with the harness's signing key (after a test changed the row). */
  sign(artifactId: string): Promise<void>;
  dispose(): Promise<void>;
}

export interface CampaignHarnessOptions {
  monitorIntervalMs?: number;
  webhooks?: WebhookDispatcherOptions;
  /** Puts something in front of Aerie's app (e.g. an OpenAPI validator); gets the app, returns what listens. */
  front?: (app: Express) => Express;
  /** Operator authentication settings (OIDC, open /metrics); API tokens work without. */
  auth?: ApiDependencies["auth"];
  /** Rate limits, CORS, upload limit (api/http/hardening.ts); Aerie's defaults when absent. */
  http?: ApiDependencies["http"];
}

export async function startCampaignHarness(opts: CampaignHarnessOptions = {}): Promise<CampaignHarness> {
  const dir = await tempDir("aerie-campaigns-");
  const postgres = await startEmbeddedPostgres({ dataDir: dir.path, port: await freePort(), password: "test", database: "aerie" });
  await migrate(postgres.url);
  const pool = createPool(postgres.url);
  const db = createDatabase(pool);
  const adminToken = newSecret();
  await new TokenStore(db).ensureBootstrap(adminToken);
  const standin = await startConformantStandin({ schedulerIntervalMs: 50 });
  const proxy = await startHawkbitProxy(standin.url);
  const hawkbit = new HawkbitManagementClient({ baseUrl: proxy.url, username: CREDENTIALS.username, password: CREDENTIALS.password, retryDelayMs: { base: 10, max: 50 } });
  const blobs = new Map<string, Buffer>();
  const store = { get: async (key: string) => Readable.from([blobs.get(key)!]) } as unknown as ArtifactStore;
  // Releases take signed artifacts only: a local RSA key stands in for the Vault transit key (signing itself
  // is tested in test/signing), with the record the artifact signature route writes.
  const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signer = { keyName: "test", publicKeys: async () => [{ version: 1, pem: signingKey.publicKey.export({ type: "spki", format: "pem" }).toString() }] } as unknown as ArtifactSigner;
  const metrics = new AerieMetrics();
  const apiPort = await freePort();
  // Aerie's own DDI channel (gateway token), straight to hawkBit: only stuck-device timeouts use it here.
  const ddi = new DdiChannel({ baseUrl: standin.url, tenant: CREDENTIALS.tenant, gatewayToken: CREDENTIALS.gatewayToken, retryDelayMs: { base: 10, max: 50 } });
  let running: { api: RunningApi; monitor: CampaignMonitor; dispatcher?: WebhookDispatcher } | undefined;

  const harness: CampaignHarness = {
    db, standin, proxy, hawkbit, api: new AerieClient(`http://127.0.0.1:${apiPort}`, adminToken), apiUrl: `http://127.0.0.1:${apiPort}`, adminToken,
    async start() {
      // Signing is not part of campaigns; the signing dependencies are left empty.
      // Webhook receivers in these tests listen on loopback, which Aerie refuses unless allowed.
      const webhookPolicy = new WebhookTargetPolicy({ allow: "127.0.0.1" });
      const deps = { db, store, hawkbit, signer, metrics, readiness: {}, ddi, auth: opts.auth, http: opts.http, webhookPolicy } as unknown as ApiDependencies;
      const services = createServices(deps);
      const monitor = new CampaignMonitor(db, hawkbit, services.campaigns, metrics, opts.monitorIntervalMs ?? 150, services.releases, services.stuckDevices);
      monitor.start();
      const dispatcher = opts.webhooks ? new WebhookDispatcher(db, { policy: webhookPolicy, ...opts.webhooks }) : undefined;
      dispatcher?.start();
      const app = createApp(deps, services);
      const api = await listen(opts.front ? opts.front(app) : app, "127.0.0.1", apiPort);
      running = { api, monitor, dispatcher };
    },
    async clientAs(role, name = `test-${role}`) {
      const created = await harness.api.request<{ token: string }>("POST", "/api/v1/tokens", { name, role, expires: "1d" });
      return new AerieClient(harness.apiUrl, created.token);
    },
    async kill() {
      if (!running) return;
      await running.api.close();
      await running.monitor.stop();
      await running.dispatcher?.stop();
      running = undefined;
    },
    async reconcile() {
      if (!running) throw new Error("the reconciler is not running");
      await running.monitor.runOnce();
    },
    async restart() {
      await harness.kill();
      await harness.start();
    },
    async addArtifact(filename, bytes) {
      const { createHash } = await import("node:crypto");
      const key = `artifacts/${randomUUID()}`;
      blobs.set(key, bytes);
      const row = await db.artifact.create({ data: { filename, s3Key: key, size: BigInt(bytes.length), sha256: createHash("sha256").update(bytes).digest("hex") } });
      await harness.sign(row.id);
      return row.id;
    },
    async sign(artifactId) {
      const { sha256 } = await db.artifact.findUniqueOrThrow({ where: { id: artifactId } });
      // PKCS#1 v1.5 over the recorded digest (DigestInfo + digest, type-1 padded), as Vault signs a prehashed input.
      const value = privateEncrypt({ key: signingKey.privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(sha256, "hex")])).toString("base64");
      await db.signature.create({ data: { artifactId, format: "raw", keyName: "test", keyVersion: 1, algorithm: "rsa-pkcs1v15-sha256", digest: sha256, value } });
    },
    async dispose() {
      await harness.kill();
      await db.$disconnect();
      await closePool(pool);
      await proxy.close();
      await standin.dispose();
      await postgres.stop();
      await dir.remove();
    },
  };
  await harness.start();
  return harness;
}

/**
 * A device polling hawkBit's DDI itself. `record` also writes what the MQTT bridge stores for a device it serves:
 * the device, its action (linked to the campaign by rollout) and, after "rebooting", its health report.
 */
export class DdiDevice {
  readonly actions: { actionId: number; at: number }[] = [];
  healthy = true;
  /** Stops before reporting: the device is stuck downloading. */
  stuck = false;

  constructor(readonly controllerId: string, private readonly baseUrl: string, private readonly db: Database, readonly attributes: Record<string, string> = {}) {}

  private async ddi(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(`${this.baseUrl}/${CREDENTIALS.tenant}/controller/v1/${encodeURIComponent(this.controllerId)}${path}`, {
      ...init, headers: { Authorization: `GatewayToken ${CREDENTIALS.gatewayToken}`, Accept: "application/json", "Content-Type": "application/json" },
    });
    if (!response.ok) throw new Error(`DDI ${path}: HTTP ${response.status}`);
    return response;
  }

  async register(): Promise<void> {
    await this.ddi("");
    await this.ddi("/configData", { method: "PUT", body: JSON.stringify({ mode: "replace", data: this.attributes }) });
    await this.db.device.upsert({ where: { controllerId: this.controllerId }, create: { controllerId: this.controllerId, attributes: this.attributes }, update: {} });
  }

  /** One poll: installs an open deployment (download → reboot → success → health report). */
  async poll(hawkbit: HawkbitManagementClient): Promise<void> {
    let base = await (await this.ddi("")).json() as { _links?: Record<string, { href: string }> };
    // A cancelled action (a stopped campaign) comes first: accepted, as a device that has not installed yet does.
    const cancel = base._links?.cancelAction?.href;
    if (cancel) {
      const cancelId = Number(/cancelAction\/(\d+)/.exec(cancel)![1]);
      await this.ddi(`/cancelAction/${cancelId}`);
      await this.ddi(`/cancelAction/${cancelId}/feedback`, { method: "POST", body: JSON.stringify({ status: { execution: "closed", result: { finished: "success" } } }) });
      base = await (await this.ddi("")).json() as { _links?: Record<string, { href: string }> };
    }
    const href = base._links?.deploymentBase?.href;
    if (!href) return;
    const actionId = Number(/deploymentBase\/(\d+)/.exec(href)![1]);
    if (this.actions.some((a) => a.actionId === actionId)) return;
    this.actions.push({ actionId, at: Date.now() });
    await this.ddi(`/deploymentBase/${actionId}`);
    const device = await this.db.device.findUniqueOrThrow({ where: { controllerId: this.controllerId } });
    const action = await hawkbit.getTargetAction(this.controllerId, actionId);
    const campaign = action.rollout ? await this.db.campaign.findFirst({ where: { hawkbitRolloutId: action.rollout } }) : null;
    const row = await this.db.deviceAction.create({ data: { hawkbitActionId: actionId, deviceId: device.id, campaignId: campaign?.id, status: "downloading" } });
    const feedback = (execution: string, finished: string) =>
      this.ddi(`/deploymentBase/${actionId}/feedback`, { method: "POST", body: JSON.stringify({ status: { execution, result: { finished } } }) });
    await feedback("download", "none");
    if (this.stuck) return;
    await feedback("closed", "success");
    await this.db.deviceAction.update({ where: { id: row.id }, data: { status: "success" } });
    await this.db.auditEvent.create({
      data: { actor: `device:${this.controllerId}`, action: "device.health", subject: `device:${device.id}`, details: { actionId, healthy: this.healthy, bootedSlot: "rootfs.1", runningVersion: "2" } },
    });
  }
}

/** Polls every device until `done` holds. */
export async function runDevices<T>(devices: DdiDevice[], hawkbit: HawkbitManagementClient, done: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const d of devices) await d.poll(hawkbit);
    const value = await done();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("devices did not get there in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Expects the API to refuse with `status`, its body containing `part`; returns the body. */
export async function apiError(promise: Promise<unknown>, status: number, part?: string): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(AerieApiError);
    const e = error as AerieApiError;
    expect(e.status, JSON.stringify(e.body)).to.equal(status);
    if (part) expect(JSON.stringify(e.body)).to.contain(part);
    return e.body as Record<string, unknown>;
  }
  throw new Error(`expected HTTP ${status}`);
}
