// Aerie's REST API: /api/v1 (artifacts, releases, campaigns, devices, keyring), /metrics,
// /healthz (the process is alive) and /readyz (every dependency answers).
import { redactText } from "../core/redact.js";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import type pg from "pg";
import type { HawkbitManagementClient } from "../hawkbit/management-client.js";
import { HawkbitError } from "../hawkbit/errors.js";
import type { Database } from "../core/db/prisma.js";
import type { AerieMetrics } from "../core/metrics.js";
import type { ArtifactStore } from "../core/storage/artifact-store.js";
import { logger } from "../core/log.js";
import { HttpError } from "./http-error.js";
import { servedOpenApiDocument } from "./openapi.js";
import { checkAll, type DependencyCheck } from "./readiness.js";
import { artifactRoutes } from "./routes/artifacts.js";
import { campaignRoutes } from "./routes/campaigns.js";
import { deviceCredentialRoutes } from "./routes/device-credentials.js";
import { deviceRemovalRoutes } from "./routes/device-removal.js";
import { deviceRoutes } from "./routes/devices.js";
import { releaseRoutes } from "./routes/releases.js";
import { ArtifactService } from "./services/artifacts.js";
import { CampaignService } from "./services/campaigns.js";
import { ReleaseService } from "./services/releases.js";
import type { ArtifactSigner } from "./signer.js";
import type { TransitSigner } from "../signing/vault/transit-signer.js";
import { buildRoutes } from "./routes/builds.js";
import { keyringRoutes } from "./routes/keyring.js";
import { SigningService } from "./services/signing.js";
import { signatureVerifier } from "./services/release-signatures.js";
import { deviceGroupRoutes } from "./routes/device-groups.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { DeviceGroupService } from "./services/device-groups.js";
import { type FeedbackChannel, StuckDevices } from "./services/stuck-devices.js";
import { WebhookService } from "./webhooks/subscriptions.js";
import type { WebhookTargetPolicy } from "./webhooks/target-policy.js";
import { audit } from "./audit.js";
import { allow } from "./auth/allow.js";
import { createAuthenticator } from "./auth/authenticate.js";
import { OidcVerifier, type OidcSettings } from "./auth/oidc.js";
import { TokenStore } from "./auth/tokens.js";
import { meRoutes, tokenRoutes } from "./routes/tokens.js";
import { auditRoutes } from "./routes/audit.js";
import {
  applyServerTimeouts, authFailureLimiter, SERVER_OPTIONS, corsPolicy, HTTP_DEFAULTS, type HttpSettings, mutationLimiter, refuseNulInBody, refuseNulInUrl, securityHeaders,
} from "./http/hardening.js";
import { artifactCatalogRoutes, campaignPreviewRoutes, releaseCatalogRoutes } from "./routes/catalog.js";
import { CampaignPreviewService } from "./services/campaign-preview.js";
import { CatalogService } from "./services/catalog.js";
import { EventHub } from "./events/hub.js";
import { eventRoutes } from "./routes/events.js";
import { dashboard } from "./routes/dashboard.js";

const log = logger("api");

export interface ApiDependencies {
  db: Database;
  store: ArtifactStore;
  hawkbit: HawkbitManagementClient;
  signer: ArtifactSigner;
  /** node-postgres pool shared with Prisma, for the raw-SQL paths (device credentials). */
  pool: pg.Pool;
  /** Signed-only releases (AERIE_REQUIRE_SIGNED); absent means true. */
  requireSigned?: boolean;
  /** The Vault transit key itself, for artifacts whose format embeds the signature (SWU, RAUC). */
  transit: TransitSigner;
  metrics: AerieMetrics;
  readiness: Record<string, DependencyCheck>;
  /** The device channel to hawkBit (DDI, gateway token), for failing stuck devices; without it the timeout is off. */
  ddi?: FeedbackChannel;
  /** Called after a device credential was issued or revoked (e.g. to rewrite mosquitto's auth files). */
  credentialsChanged?: (disconnect?: string) => Promise<void>;
  /** Where webhooks may point (AERIE_WEBHOOK_ALLOW); default: public addresses only. */
  webhookPolicy?: WebhookTargetPolicy;
  /** Operator authentication (api/auth): OIDC issuer, and whether /metrics is open. API tokens always work. */
  auth?: { oidc?: OidcSettings; metricsPublic?: boolean };
  /** CORS origins, rate limits and the artifact size limit (api/http/hardening.ts); defaults when absent. */
  http?: HttpSettings;
}

export interface ApiServices {
  artifacts: ArtifactService;
  releases: ReleaseService;
  campaigns: CampaignService;
  signing: SigningService;
  deviceGroups: DeviceGroupService;
  webhooks: WebhookService;
  /** Present when the dependencies include a device channel; the campaign monitor applies stuck timeouts with it. */
  stuckDevices?: StuckDevices;
  catalog: CatalogService;
  campaignPreview: CampaignPreviewService;
  /** Live events (GET /api/v1/events); listens on PostgreSQL only while someone subscribes. */
  events: EventHub;
}

export function createServices(deps: ApiDependencies): ApiServices {
  const artifacts = new ArtifactService(deps.db, deps.store, deps.signer, deps.metrics);
  const deviceGroups = new DeviceGroupService(deps.db, deps.hawkbit);
  const signing = new SigningService(deps.db, deps.store, deps.transit, artifacts);
  const verifier = signatureVerifier(deps, signing);
  signing.useVerifier(verifier);
  return {
    artifacts,
    signing,
    releases: new ReleaseService(deps.db, deps.hawkbit, deps.store, { verifier, requireSigned: deps.requireSigned ?? true }),
    campaigns: new CampaignService(deps.db, deps.hawkbit, deviceGroups, { transport: deps.ddi?.transport }),
    deviceGroups,
    webhooks: new WebhookService(deps.db, deps.webhookPolicy),
    stuckDevices: deps.ddi ? new StuckDevices(deps.db, deps.hawkbit, deps.ddi) : undefined,
    catalog: new CatalogService(deps.db, deps.hawkbit, deps.store),
    campaignPreview: new CampaignPreviewService(deps.db, deps.hawkbit, deviceGroups),
    events: new EventHub(deps.db, (deps.pool as { options?: object } | undefined)?.options ?? {}),
  };
}

async function renderError(error: unknown, req: Request, res: Response, db: Database | undefined): Promise<void> {
  if (error instanceof HttpError && error.status === 403 && req.principal && db) {
    // Denials are part of the trail: who tried what, and why it was refused.
    await audit(db, req.principal.id, "access.denied", `${req.method} ${req.originalUrl.split("?")[0]}`.slice(0, 500), { code: error.code, reason: error.message })
      .catch((err: unknown) => log.error({ err }, "could not audit a denied request"));
  }
  if (error instanceof HttpError) {
    // The rest of an over-long body is not read: the connection ends after this answer.
    if (error.status === 413) res.set("Connection", "close");
    if (error.status === 401) res.set("WWW-Authenticate", `Bearer realm="aerie"`);
    res.status(error.status).json({ error: { status: error.status, code: error.code, message: error.message, details: error.details } });
    return;
  }
  if (error instanceof HawkbitError) {
    // hawkBit's own refusal (4xx) is the caller's problem and keeps its code; its failures are ours.
    const status = error.status && error.status < 500 ? error.status : 502;
    res.status(status).json({ error: { status, code: "hawkbit", message: redactText(error.message), hawkbit: { status: error.status, errorCode: error.errorCode } } });
    return;
  }
  const body = error as { type?: string; status?: number; message?: string };
  if (body?.type === "entity.too.large") {
    res.status(413).set("Connection", "close").json({ error: { status: 413, code: "too_large", message: `request body too large: ${body.message}` } });
    return;
  }
  if (body?.type === "entity.parse.failed") {
    res.status(body.status ?? 400).json({ error: { status: body.status ?? 400, code: "bad_request", message: `unreadable JSON body: ${body.message}` } });
    return;
  }
  log.error({ err: error }, "unhandled API error");
  res.status(500).json({ error: { status: 500, code: "internal", message: "internal error" } });
}

export function createApp(deps: ApiDependencies, services: ApiServices): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("json spaces", 2);
  const http = { ...HTTP_DEFAULTS, ...deps.http };
  app.use(securityHeaders());
  const cors = corsPolicy(http.corsOrigins);
  if (cors) app.use(cors);
  app.use(refuseNulInUrl);

  app.get("/healthz", (_req, res) => {
    res.json({ status: "alive" });
  });
  app.get("/readyz", async (_req, res) => {
    const dependencies = await checkAll(deps.readiness);
    const ready = Object.values(dependencies).every((d) => d.state === "up");
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not-ready", dependencies });
  });
  const metrics = async (_req: Request, res: Response) => {
    res.set("Content-Type", deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  };
  if (deps.auth?.metricsPublic) app.get("/metrics", metrics);

  // The dashboard's page and assets hold no data (it signs in with a token for every API call).
  app.use(dashboard());

  // Everything below needs an authenticated principal (API token or OIDC JWT).
  const tokens = new TokenStore(deps.db);
  const authenticator = createAuthenticator(tokens, deps.auth?.oidc ? new OidcVerifier(deps.auth.oidc) : undefined);
  app.use(authFailureLimiter(http.authFailuresPerMinute));
  app.use(authenticator.middleware);
  app.use(mutationLimiter(http.mutationsPerMinute));
  app.get("/openapi.json", allow("read"), (_req, res) => {
    res.json(servedOpenApiDocument(deps.auth?.oidc?.issuer));
  });
  if (!deps.auth?.metricsPublic) app.get("/metrics", allow("read"), metrics);

  const v1 = express.Router();
  v1.use("/artifacts", artifactRoutes(services.artifacts, http.maxArtifactBytes));
  v1.use(express.json({ limit: "1mb" }));
  v1.use(refuseNulInBody);
  v1.use("/artifacts", artifactCatalogRoutes(services.catalog));
  v1.use("/releases", releaseRoutes(services.releases));
  v1.use("/releases", releaseCatalogRoutes(services.catalog));
  v1.use("/campaigns", campaignPreviewRoutes(services.campaignPreview));
  v1.use("/campaigns", campaignRoutes(services.campaigns));
  v1.use("/devices", deviceRoutes(deps.db));
  v1.use("/devices", deviceCredentialRoutes(deps.db, deps.pool, deps.credentialsChanged));
  v1.use("/devices", deviceRemovalRoutes(deps.db, { pool: deps.pool, hawkbit: deps.hawkbit, credentialsChanged: deps.credentialsChanged ?? (async () => undefined) }));
  v1.use("/device-groups", deviceGroupRoutes(services.deviceGroups));
  v1.use("/webhooks", webhookRoutes(services.webhooks));
  v1.use("/events", eventRoutes(services.events));
  v1.use("/keyring", keyringRoutes(deps.signer, services.signing));
  v1.use("/builds", buildRoutes(services.signing));
  v1.use("/tokens", tokenRoutes(deps.db, tokens));
  v1.use("/me", meRoutes());
  v1.use("/audit", auditRoutes(deps.db));
  app.use("/api/v1", v1);

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: { status: 404, code: "not_found", message: `no route ${req.method} ${req.path}` } });
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => renderError(error, req, res, deps.db));
  return app;
}

export interface RunningApi {
  url: string;
  /** The HTTP server (its timeouts are api/http/hardening.ts's SERVER_OPTIONS). */
  server: Server;
  close(): Promise<void>;
}

export async function listen(app: express.Express, host: string, port: number): Promise<RunningApi> {
  const sockets = new Set<Socket>();
  const server: Server = await new Promise((resolve, reject) => {
    const s = createServer(SERVER_OPTIONS, app).listen(port, host, () => resolve(s));
    s.once("error", reject);
  });
  applyServerTimeouts(server);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://${host}:${actualPort}`,
    server,
    async close() {
      // Long-lived answers (Server-Sent Events) end now instead of holding the close for the grace period.
      app.emit("aerie:closing");
      // Stop intake, let requests in progress finish briefly, then cut idle keep-alive sockets.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(timer);
    },
  };
}
