// A local stand-in for the parts of HashiCorp Vault that Aerie uses: transit signing keys (create,
// read, rotate, sign, verify, CSR, certificate chain) and AppRole login. Same paths, parameter names,
// response envelopes and status codes as Vault, so the production client runs against it unchanged.
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { logger } from "../../core/log.js";
import { TokenRegistry, type AppRoleCredentials } from "./auth.js";
import { KeyStore, StandinError } from "./keystore.js";
import { csrRequest, keyType, setCertificateRequest, signRequest, verifyRequest } from "./transit.js";

export interface VaultStandinOptions {
  host?: string;
  port?: number;
  dataDir: string;
  rootToken: string;
  /** The one AppRole the stand-in accepts at /v1/auth/approle/login. */
  appRole?: AppRoleCredentials;
  tokenTtlSeconds?: number;
}

export interface VaultStandin {
  url: string;
  close(): Promise<void>;
}

const log = logger("vault-standin");

function envelope(data: unknown, auth: unknown = null): Record<string, unknown> {
  return { request_id: randomUUID(), lease_id: "", renewable: false, lease_duration: 0, data, wrap_info: null, warnings: null, auth };
}

type Handler = (req: Request, res: Response) => Promise<void>;

export async function startVaultStandin(opts: VaultStandinOptions): Promise<VaultStandin> {
  const store = new KeyStore(opts.dataDir);
  await store.init();
  const tokens = new TokenRegistry(opts.rootToken, opts.appRole, opts.tokenTtlSeconds ?? 3600);
  const app = express();
  app.disable("x-powered-by");
  // Vault reads the body as JSON whatever the Content-Type (curl --data sends form encoding).
  app.use(express.json({ type: () => true, limit: "4mb" }));

  app.get("/v1/sys/health", (_req, res) => {
    res.json({
      initialized: true, sealed: false, standby: false, performance_standby: false,
      replication_performance_mode: "disabled", replication_dr_mode: "disabled",
      server_time_utc: Math.floor(Date.now() / 1000), version: "1.15.6+aerie-standin",
      cluster_name: "aerie-standin", cluster_id: "00000000-0000-0000-0000-000000000000",
    });
  });

  app.post("/v1/auth/approle/login", (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const auth = tokens.login(body.role_id, body.secret_id);
    if (!auth) {
      res.status(400).json({ errors: ["invalid role or secret ID"] });
      return;
    }
    res.json(envelope(null, auth));
  });

  app.use("/v1", (req, res, next) => {
    if (!tokens.isValid(req.get("X-Vault-Token"))) {
      res.status(403).json({ errors: ["permission denied"] });
      return;
    }
    next();
  });

  const route = (path: string, handler: Handler): void => {
    const wrapped = (req: Request, res: Response, next: NextFunction): void => {
      handler(req, res).catch(next);
    };
    app.post(path, wrapped);
    app.put(path, wrapped);
  };
  const body = (req: Request): Record<string, unknown> => (req.body ?? {}) as Record<string, unknown>;
  const name = (req: Request): string => String(req.params.name);

  app.get("/v1/transit/keys/:name", async (req, res, next) => {
    try {
      const key = await store.get(name(req));
      if (!key) res.status(404).json({ errors: [] });
      else res.json(envelope(store.describe(key)));
    } catch (error) {
      next(error);
    }
  });
  route("/v1/transit/keys/:name", async (req, res) => {
    const type = keyType(body(req).type);
    res.json(envelope(store.describe(await store.create(name(req), type))));
  });
  route("/v1/transit/keys/:name/rotate", async (req, res) => {
    res.json(envelope(store.describe(await store.rotate(name(req)))));
  });
  route("/v1/transit/keys/:name/csr", async (req, res) => {
    res.json(envelope(await csrRequest(store, await store.require(name(req)), body(req))));
  });
  route("/v1/transit/keys/:name/set-certificate", async (req, res) => {
    await setCertificateRequest(store, await store.require(name(req)), body(req));
    res.status(204).end();
  });
  route("/v1/transit/sign/:name{/:hash}", async (req, res) => {
    res.json(envelope(signRequest(store, await store.require(name(req)), body(req), req.params.hash as string | undefined)));
  });
  route("/v1/transit/verify/:name{/:hash}", async (req, res) => {
    res.json(envelope(verifyRequest(store, await store.require(name(req)), body(req), req.params.hash as string | undefined)));
  });

  app.use((req: Request, res: Response) => {
    res.status(404).json({ errors: [`no handler for route "${req.path.replace(/^\/v1\//, "")}". route entry not found.`] });
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof StandinError) {
      res.status(error.status).json({ errors: [error.message] });
      return;
    }
    const parseFailure = (error as { type?: string }).type === "entity.parse.failed";
    if (parseFailure) {
      res.status(400).json({ errors: ["failed to parse JSON input"] });
      return;
    }
    log.error({ method: req.method, path: req.path, err: (error as Error).message }, "internal error");
    res.status(500).json({ errors: ["1 error occurred:\n\t* internal error\n\n"] });
  });

  const server = app.listen(opts.port ?? 0, opts.host ?? "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info({ url, dataDir: opts.dataDir }, "vault stand-in listening");
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
