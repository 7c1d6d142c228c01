// Starts Aerie: each external service from its variable, or embedded when the variable is unset,
// then the API, the bridge and the campaign monitor. Stops in reverse order: intake first (API,
// bridge subscriptions), then flushing (telemetry batches), then the services, Postgres last.
// A failure half-way stops whatever had started, so no child process outlives a failed start.
import { join } from "node:path";
import { HawkbitManagementClient } from "../hawkbit/management-client.js";
import { createApp, createServices, listen } from "../api/server.js";
import { CampaignMonitor } from "../api/services/campaign-monitor.js";
import { WebhookDispatcher } from "../api/webhooks/dispatcher.js";
import { WebhookTargetPolicy } from "../api/webhooks/target-policy.js";
import { bridgeClientIds, FleetBridge } from "../bridge/index.js";
import { homeAssistantAccount } from "../bridge/extensions/homeassistant.js";
import { disconnectDevice as aedesDisconnect } from "../bridge/auth/aedes-auth.js";
import { embeddedBrokerAccess } from "../bridge/auth/embedded-access.js";
import { MosquittoAuthSync } from "../bridge/auth/mosquitto-auth-sync.js";
import { bridgeAccounts } from "../bridge/auth/mosquitto-files.js";
import { DdiChannel } from "../hawkbit/ddi-channel.js";
import { prepareHawkbit } from "../hawkbit/startup.js";
import { startDmfChannel } from "./hawkbit-dmf.js";
import { startHawkbitStandin } from "../infrastructure/hawkbit-standin/index.js";
import { startEmbeddedBroker } from "../infrastructure/embedded/mqtt-broker.js";
import { startEmbeddedPostgres } from "../infrastructure/embedded/postgres.js";
import { startEmbeddedS3 } from "../infrastructure/embedded/s3.js";
import { startVaultStandin } from "../infrastructure/vault-standin/index.js";
import { bootstrapAdminToken } from "../api/auth/bootstrap.js";
import { TokenStore } from "../api/auth/tokens.js";
import { TransitSigner } from "../signing/vault/transit-signer.js";
import type { AerieConfig } from "./config.js";
import { migrate } from "./db/migrator.js";
import { closePool, createDatabase, createPool } from "./db/prisma.js";
import { logger, redactUrl } from "./log.js";
import { ShutdownSequence, unlessAborted } from "./shutdown.js";
import { lockDataDir } from "./data-lock.js";
import { assertPortsFree, type PortClaim } from "./ports.js";
import { AerieMetrics } from "./metrics.js";
import { loadEmbeddedSecrets } from "./secrets.js";
import { ArtifactStore } from "./storage/artifact-store.js";
import { transitArtifactSigner } from "./transit-artifact-signer.js";

const log = logger("stack");

export interface AerieEndpoints {
  api: string;
  mqtt: string;
  s3: string;
  hawkbit: string;
  vault: string;
  database: string;
}

export interface AerieStack {
  endpoints: AerieEndpoints;
  /** With credentials: for tools and tests, never for logs (endpoints.database is the redacted form). */
  databaseUrl: string;
  /** Credentials of the hawkBit in use (the stand-in's generated ones when embedded). */
  hawkbit: { url: string; username: string; password: string; tenant: string; gatewayToken: string };
  /** The bootstrap admin API token, when known (AERIE_BOOTSTRAP_TOKEN or DATA_DIR/secrets.json): for tools and tests, never for logs. */
  adminToken?: string;
  stop(): Promise<void>;
}

/** The ports this configuration listens on (embedded services only where their variable is unset). */
function portClaims(config: AerieConfig): PortClaim[] {
  const claims: PortClaim[] = [{ variable: "AERIE_API_PORT", host: config.host, port: config.apiPort }];
  if (!config.databaseUrl) claims.push({ variable: "AERIE_POSTGRES_PORT", host: "127.0.0.1", port: config.postgresPort });
  if (!config.mqttUrl) claims.push({ variable: "AERIE_MQTT_PORT", host: config.host, port: config.mqttPort });
  if (!config.s3Endpoint) claims.push({ variable: "AERIE_S3_PORT", host: config.host, port: config.s3Port });
  if (!config.hawkbitUrl) claims.push({ variable: "AERIE_HAWKBIT_PORT", host: config.host, port: config.hawkbitPort });
  if (!config.vaultAddr) claims.push({ variable: "AERIE_VAULT_PORT", host: config.host, port: config.vaultPort });
  return claims.filter((claim) => claim.port !== 0);
}

export interface StartOptions {
  /** Aborted (SIGTERM/SIGINT during start-up): start-up stops and stops whatever had started. */
  signal?: AbortSignal;
}

export async function startAerie(config: AerieConfig, options: StartOptions = {}): Promise<AerieStack> {
  const parts = new ShutdownSequence(log, undefined, options.signal);
  const stopAll = () => parts.stopAll();
  try {
    // Before anything else: a second Aerie on this folder must not touch the first one's services.
    const lock = await lockDataDir(config.dataDir);
    parts.add("data folder lock", () => lock.release());
    await assertPortsFree(portClaims(config));
    const secrets = await loadEmbeddedSecrets(config.dataDir);

    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const postgres = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.postgresPort, password: secrets.postgresPassword, database: "aerie" });
      parts.add("postgres", () => postgres.stop());
      databaseUrl = postgres.url;
    }
    await migrate(databaseUrl);
    const pool = createPool(databaseUrl);
    parts.add("database pool", () => closePool(pool));
    const db = createDatabase(pool);
    parts.add("prisma", () => db.$disconnect());

    let s3Endpoint = config.s3Endpoint;
    if (!s3Endpoint) {
      const s3 = await startEmbeddedS3({
        dataDir: config.dataDir, host: config.host, port: config.s3Port,
        credentials: { accessKeyId: config.s3AccessKeyId ?? secrets.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey ?? secrets.s3SecretAccessKey },
      });
      parts.add("embedded s3", () => s3.stop());
      s3Endpoint = s3.endpoint;
    }
    const store = new ArtifactStore({
      endpoint: s3Endpoint,
      publicEndpoint: config.s3PublicEndpoint,
      region: config.s3Region,
      bucket: config.s3Bucket,
      accessKeyId: config.s3AccessKeyId ?? secrets.s3AccessKeyId,
      secretAccessKey: config.s3SecretAccessKey ?? secrets.s3SecretAccessKey,
    });
    parts.add("artifact store", async () => store.destroy());
    await store.ensureBucket();

    // Home Assistant's read-only login (AERIE_HOMEASSISTANT_MQTT_PASSWORD), on the embedded broker or in mosquitto's files.
    const homeAssistantLogin = config.homeAssistant && config.homeAssistantMqttPassword
      ? homeAssistantAccount(config.homeAssistantMqttUsername, config.homeAssistantMqttPassword, config.homeAssistantPrefix) : {};
    let mqttUrl = config.mqttUrl;
    let disconnectDevice: ((controllerId: string) => Promise<void>) | undefined;
    let mqttUsername: string | undefined = config.mqttUsername;
    let mqttPassword: string | undefined = config.mqttPassword;
    if (!mqttUrl) {
      // Device login is on unless AERIE_DEVICE_AUTH=off (warned about at every start).
      const access = embeddedBrokerAccess({ mode: config.deviceAuth, pool, baseTopic: config.mqttBaseTopic, bridgeClientIds: bridgeClientIds(config.bridgeClientId), log, ...homeAssistantLogin });
      mqttUsername = access.username;
      mqttPassword = access.password;
      const broker = await startEmbeddedBroker({ host: config.host, port: config.mqttPort, auth: access.auth, maxPacketBytes: config.mqttMaxPacketBytes });
      // A revoked or rotated token's live connection ends at once (tokens are checked only at CONNECT).
      disconnectDevice = async (controllerId) => void aedesDisconnect(broker.broker, controllerId);
      parts.add("embedded broker", () => broker.stop());
      mqttUrl = broker.url;
    }

    const hawkbit = {
      url: config.hawkbitUrl ?? "",
      username: config.hawkbitUsername ?? "admin",
      password: config.hawkbitPassword ?? secrets.hawkbitPassword,
      tenant: config.hawkbitTenant,
      gatewayToken: config.hawkbitGatewayToken ?? secrets.hawkbitGatewayToken,
    };
    if (!config.hawkbitUrl) {
      const standin = await startHawkbitStandin({
        host: config.host,
        port: config.hawkbitPort,
        dataDir: join(config.dataDir, "hawkbit"),
        tenant: hawkbit.tenant,
        username: hawkbit.username,
        password: hawkbit.password,
        // Starts with hawkBit's defaults (gateway-token authentication off): Aerie switches it on below, as with any hawkBit.
        dmfUrl: config.hawkbitDmfUrl,
      });
      parts.add("hawkbit stand-in", () => standin.close());
      hawkbit.url = standin.url;
    }

    let vaultAddr = config.vaultAddr;
    const vaultToken = config.vaultToken ?? secrets.vaultToken;
    if (!vaultAddr) {
      const vault = await startVaultStandin({ host: config.host, port: config.vaultPort, dataDir: join(config.dataDir, "vault"), rootToken: vaultToken });
      parts.add("vault stand-in", () => vault.close());
      vaultAddr = vault.url;
    }
    const transit = new TransitSigner({ endpoint: vaultAddr, token: vaultToken, mount: config.vaultTransitMount, keyName: config.vaultTransitKey });
    await transit.ensureKey("rsa-3072");
    const signer = transitArtifactSigner(transit, config.vaultTransitKey);

    const metrics = new AerieMetrics();
    const management = new HawkbitManagementClient({ baseUrl: hawkbit.url, username: hawkbit.username, password: hawkbit.password });
    const channel = config.hawkbitDmfUrl
      ? await startDmfChannel({ url: config.hawkbitDmfUrl, tenant: hawkbit.tenant, replyExchange: config.hawkbitDmfReplyExchange, management }, pool, parts)
      : new DdiChannel({ baseUrl: hawkbit.url, tenant: hawkbit.tenant, gatewayToken: hawkbit.gatewayToken });
    // Over DMF the bridge needs no gateway token.
    const hawkbitReady = await prepareHawkbit(management, config.hawkbitDmfUrl ? undefined : hawkbit.gatewayToken, log);

    const bridge = new FleetBridge(
      {
        db, pool, databaseUrl, metrics, store, hawkbit: management, channel,
        presignTtlSeconds: config.presignTtlSeconds, syncIntervalMs: config.bridgeSyncIntervalMs, idleSyncIntervalMs: config.bridgeIdleSyncIntervalMs,
        heartbeatMs: config.bridgeHeartbeatMs, retentionDays: config.telemetryRetentionDays,
      },
      {
        mqttUrl, mqttUsername, mqttPassword, baseTopic: config.mqttBaseTopic,
        // Aerie's mosquitto files bind client ids to logins: the bridge's client ids are then its logins.
        clientId: config.mosquittoAuthDir ? mqttUsername : config.bridgeClientId, loginPerConnection: Boolean(config.mosquittoAuthDir),
        shareGroup: config.bridgeShareGroup, maxInFlight: config.bridgeMaxInFlight, payloadLimits: config.mqttPayloadLimits,
        // Started by hand or by compose, mosquitto may need Aerie's files before it accepts the bridge.
        waitForBroker: Boolean(config.mosquittoAuthDir),
        homeAssistant: config.homeAssistant ? { prefix: config.homeAssistantPrefix } : undefined,
      },
    );
    const readiness = {
      postgres: async () => void (await pool.query("SELECT 1")),
      s3: async () => void (await store.ensureBucket()),
      mqtt: async () => {
        if (!bridge.connected) throw new Error("bridge is not connected to the broker");
      },
      hawkbit: hawkbitReady,
      vault: async () => `key ${config.vaultTransitKey} v${(await transit.keyInfo()).latestVersion}`,
    };
    let rewriteMosquittoFiles: (() => Promise<void>) | undefined;
    if (config.mosquittoAuthDir) {
      const authSync = new MosquittoAuthSync({ pool, dir: config.mosquittoAuthDir, baseTopic: config.mqttBaseTopic, services: bridgeAccounts(mqttUsername!, mqttPassword!), log, ...homeAssistantLogin });
      await authSync.write();
      rewriteMosquittoFiles = authSync.credentialsChanged;
    }
    const credentialsChanged = async (disconnect?: string) => {
      await rewriteMosquittoFiles?.();
      if (disconnect) await disconnectDevice?.(disconnect);
    };
    if (!config.requireSigned) log.warn("AERIE_REQUIRE_SIGNED=false: releases are created without checking their artifacts' signatures (signed-only deployments are off)");
    // Webhooks reach public addresses only, unless AERIE_WEBHOOK_ALLOW lists more (logged: an explicit opening).
    const webhookPolicy = new WebhookTargetPolicy({ allow: config.webhookAllow });
    if (config.webhookAllow) log.warn({ allow: config.webhookAllow }, "webhooks may target these non-public hosts and networks (AERIE_WEBHOOK_ALLOW)");
    const adminToken = await bootstrapAdminToken(new TokenStore(db), config.dataDir, config.bootstrapToken);
    const auth = {
      metricsPublic: config.metricsPublic,
      oidc: config.oidcIssuer ? { issuer: config.oidcIssuer, audience: config.oidcAudience!, rolesClaim: config.oidcRolesClaim, jwksUrl: config.oidcJwksUrl } : undefined,
    };
    if (config.metricsPublic) log.warn("AERIE_METRICS_PUBLIC=true: /metrics answers without a token");
    const apiDependencies = { db, pool, store, hawkbit: management, signer, transit, metrics, readiness, ddi: channel, credentialsChanged, auth, webhookPolicy, requireSigned: config.requireSigned,
      http: { corsOrigins: config.corsOrigins, authFailuresPerMinute: config.rateLimitAuthFailures, mutationsPerMinute: config.rateLimitMutations, maxArtifactBytes: config.maxArtifactBytes } };
    const services = createServices(apiDependencies);

    // Registered before it connects: a bridge still waiting for its broker is stopped with the rest.
    parts.add("bridge", () => bridge.stop());
    await unlessAborted(bridge.start(), options.signal);
    const monitor = new CampaignMonitor(db, management, services.campaigns, metrics, 1000, services.releases, services.stuckDevices);
    monitor.start();
    parts.add("campaign monitor", () => monitor.stop());
    // Stopped (in-flight requests aborted, their leases left to expire) before the database goes away.
    const webhooks = new WebhookDispatcher(db, {
      policy: webhookPolicy,
      maxAttempts: config.webhookMaxAttempts, retryBaseMs: config.webhookRetryBaseMs, retryMaxMs: config.webhookRetryMaxMs, timeoutMs: config.webhookTimeoutMs,
    });
    webhooks.start();
    parts.add("webhook dispatcher", () => webhooks.stop());
    // Started last so that it is stopped first: intake ends before anything it uses goes away.
    const api = await listen(createApp(apiDependencies, services), config.host, config.apiPort);
    parts.add("api", () => api.close());

    const endpoints: AerieEndpoints = { api: api.url, mqtt: mqttUrl, s3: s3Endpoint, hawkbit: hawkbit.url, vault: vaultAddr, database: redactUrl(databaseUrl) };
    log.info(endpoints, "Aerie is running");
    return { endpoints, databaseUrl, hawkbit, adminToken, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
