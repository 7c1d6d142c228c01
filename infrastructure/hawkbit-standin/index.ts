// A hawkBit stand-in for Aerie's tests and local runs: the Management API subset and the DDI API Aerie uses,
// answering with hawkBit's shapes, status codes and state machines, persisted under `dataDir`.
import type { AddressInfo } from "node:net";
import express from "express";
import { logger } from "../../core/log.js";
import { ArtifactStorage } from "./artifact-storage.js";
import { basicAuth } from "./auth.js";
import { HawkbitHttpError, exceptionInfoHandler } from "./errors.js";
import { runAutoAssignments } from "./auto-assignment.js";
import { type StandinDmf, startStandinDmf } from "./dmf.js";
import { RolloutEngine } from "./rollout-engine.js";
import type { StandinContext } from "./routes/context.js";
import { ddiRoutes } from "./routes/ddi.js";
import { actionRoutes } from "./routes/mgmt-actions.js";
import { distributionSetRoutes } from "./routes/mgmt-distribution-sets.js";
import { rolloutRoutes } from "./routes/mgmt-rollouts.js";
import { systemRoutes } from "./routes/mgmt-system.js";
import { softwareModuleRoutes } from "./routes/mgmt-software-modules.js";
import { targetRoutes } from "./routes/mgmt-targets.js";
import { typeRoutes } from "./routes/mgmt-types.js";
import { metadataRoutes } from "./routes/mgmt-metadata.js";
import { targetFilterRoutes } from "./routes/mgmt-target-filters.js";
import { targetTagRoutes } from "./routes/mgmt-target-tags.js";
import { targetTypeRoutes } from "./routes/mgmt-target-types.js";
import { distributionSetTagRoutes } from "./routes/mgmt-distribution-set-tags.js";
import { userInfoRoutes } from "./routes/mgmt-userinfo.js";
import { type SpecValidationOptions, specValidators } from "./spec-validation.js";
import { Store } from "./store.js";
import { DEFAULT_POLLING, type PollingLimits, ddiAuthSettings, setConfig } from "./tenant-config.js";

export type { SpecValidationOptions, SpecViolation } from "./spec-validation.js";

export interface HawkbitStandinOptions {
  host?: string;
  port?: number;
  dataDir: string;
  tenant?: string;
  username: string;
  password: string;
  /**
   * Tenant configuration the stand-in starts with, as a provisioned hawkBit would have it (e.g.
   * `{ "authentication.gatewaytoken.enabled": true, "authentication.gatewaytoken.key": "…" }`); keys and values as
   * PUT /rest/v1/system/configs takes them. Applied only to keys the stored state has not set. Without presets every
   * key has hawkBit 1.1.0's default: gateway-token and target-token authentication off, so DDI answers 401.
   */
  tenantConfig?: Record<string, unknown>;
  schedulerIntervalMs?: number;
  /**
   * hawkbit.controller.pollingTime: the global default of the tenant's pollingTime, which DDI hands to devices as
   * `config.polling.sleep` (hawkBit's default is 00:05:00).
   */
  pollingSleep?: string;
  /** hawkbit.controller.minPollingTime (00:00:30) and maxPollingTime (23:59:59): the range PUT pollingTime accepts. */
  minPollingTime?: string;
  maxPollingTime?: string;
  /** Conformance mode for tests: check all traffic against the hawkBit OpenAPI documents. */
  specValidation?: SpecValidationOptions;
  /** Device Management Federation API on this RabbitMQ (amqp://user:password@host:port/vhost); off when unset. */
  dmfUrl?: string;
}

export interface HawkbitStandin {
  url: string;
  close(): Promise<void>;
}

export async function startHawkbitStandin(opts: HawkbitStandinOptions): Promise<HawkbitStandin> {
  const log = logger("hawkbit-standin");
  const store = await Store.open(opts.dataDir, (err) => log.error({ err }, "persisting state failed"));
  const artifacts = new ArtifactStorage(opts.dataDir);
  await artifacts.init();
  const engine = new RolloutEngine(store, log);
  const pollingDefaults: PollingLimits = {
    pollingTime: opts.pollingSleep ?? DEFAULT_POLLING.pollingTime,
    minPollingTime: opts.minPollingTime ?? DEFAULT_POLLING.minPollingTime,
    maxPollingTime: opts.maxPollingTime ?? DEFAULT_POLLING.maxPollingTime,
  };
  store.globalPollingTime = pollingDefaults.pollingTime;
  // Presets are written like PUT /system/configs (converted to each key's type) but without the polling range check,
  // as a server's own properties are not; keys already in the stored state keep their values.
  const presets = Object.entries(opts.tenantConfig ?? {}).filter(([key]) => store.state.tenantConfig?.[key] === undefined);
  for (const [key, value] of presets) setConfig(store, key, value, "system", { ...pollingDefaults, minPollingTime: "00:00:00" });
  if (presets.length > 0) store.changed();
  const auth = ddiAuthSettings(store);
  if (auth.gatewayToken === undefined && !auth.targetToken) {
    log.warn("DDI authentication is off (hawkBit's default): devices get 401 until authentication.gatewaytoken.enabled or authentication.targettoken.enabled is set");
  }
  let dmf: StandinDmf | undefined;
  const ctx: StandinContext = {
    store, engine, artifacts, log, tenant: opts.tenant ?? "DEFAULT", pollingDefaults,
    // Does not wait for the disk: the state is written shortly after, coalesced (see state-file.ts). The kicked
    // tick runs after the handler has answered, as it did when the answer waited for each write.
    async commit() {
      store.changed();
      engine.kick(() => {
        store.changed();
        dmf?.dispatch();
      });
      dmf?.dispatch();
    },
  };

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.use(express.json({ type: ["application/json", "application/hal+json", "application/*+json"], limit: "10mb" }));
  const validation = opts.specValidation ? specValidators(opts.specValidation) : undefined;
  if (validation) app.use(validation.validate);

  const mgmt = express.Router();
  mgmt.use(basicAuth(opts.username, opts.password));
  for (const routes of [
    typeRoutes, softwareModuleRoutes, distributionSetRoutes, targetRoutes, actionRoutes, rolloutRoutes, systemRoutes,
    targetTagRoutes, targetTypeRoutes, metadataRoutes, targetFilterRoutes, distributionSetTagRoutes, userInfoRoutes,
  ]) {
    mgmt.use(routes(ctx));
  }
  app.use("/rest/v1", mgmt);
  app.use(ddiRoutes(ctx));
  app.use((req, _res, next) => {
    next(new HawkbitHttpError(404, "org.springframework.web.servlet.NoHandlerFoundException", "hawkbit.server.error.repo.entityNotFound",
      `No endpoint ${req.method} ${req.path}`));
  });
  if (validation) app.use(validation.report);
  app.use(exceptionInfoHandler((err) => log.error({ err }, "unexpected stand-in error")));

  const server = app.listen(opts.port ?? 0, opts.host ?? "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const ticker = setInterval(() => {
    try {
      const rolled = engine.tick();
      if (runAutoAssignments(store) || rolled) store.changed();
      dmf?.dispatch();
    } catch (err) {
      log.error({ err }, "rollout tick failed");
    }
  }, opts.schedulerIntervalMs ?? 1000);
  ticker.unref();

  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  const url = `http://${host}:${port}`;
  if (opts.dmfUrl) {
    try {
      dmf = await startStandinDmf(store, log, ctx.commit, { url: opts.dmfUrl, tenant: ctx.tenant, baseUrl: () => url });
    } catch (error) {
      clearInterval(ticker);
      server.close();
      await store.close();
      throw error;
    }
  }
  log.info({ port, dmf: opts.dmfUrl !== undefined }, "hawkBit stand-in listening");
  return {
    url,
    async close() {
      clearInterval(ticker);
      await dmf?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      await store.close();
    },
  };
}
