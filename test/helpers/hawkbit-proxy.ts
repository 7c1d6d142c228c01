// A proxy in front of the hawkBit stand-in, for faults the stand-in itself never makes: an answer lost after
// hawkBit acted (the request happened, Aerie never heard), a request held until the test lets it go, and an
// outage during which every request gets 503.
import { type IncomingMessage, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface HawkbitProxy {
  url: string;
  /** Every mutating request that reached hawkBit, in order, with its body. */
  mutations: { method: string; url: string; body: string }[];
  /** Every request that came in, reads included (method and path). */
  requests: { method: string; url: string }[];
  /** While true, every request is answered 503 and none reaches hawkBit. */
  outage: boolean;
  /** Requests answered 400 by the `refuse` option, with the reason. */
  refused: { method: string; url: string; reason: string }[];
  /** The `n`-th mutating request from now (1-based) reaches hawkBit, its answer never reaches Aerie. */
  loseAnswerOf(n: number): void;
  /** Holds the next request whose path starts with `pathPrefix` until release(); `arrived` settles when it comes (rejects after `timeoutMs`). */
  holdNext(method: string, pathPrefix: string, timeoutMs?: number): { arrived: Promise<void>; release(): void };
  close(): Promise<void>;
}

export interface HawkbitProxyOptions {
  /**
   * Answers a request 400 (as hawkBit's query errors) when this names a reason, e.g. refusedByHawkbit11, or with the
   * given status and error code (a 403 of a user without a permission, a 404 of a server without an endpoint).
   */
  refuse?: (method: string, url: string) => string | { status: number; reason: string; errorCode?: string } | undefined;
}

export async function startHawkbitProxy(upstream: string, options: HawkbitProxyOptions = {}): Promise<HawkbitProxy> {
  const target = new URL(upstream);
  const mutations: HawkbitProxy["mutations"] = [];
  let countdown = 0;
  let hold: { method: string; pathPrefix: string; arrive: () => void; released: Promise<void> } | undefined;
  const server = createServer(async (req: IncomingMessage, res) => {
    proxy.requests.push({ method: req.method ?? "GET", url: req.url ?? "/" });
    if (proxy.outage) {
      req.resume();
      res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ errorCode: "outage", message: "hawkBit is down (test proxy)" }));
      return;
    }
    const refusal = options.refuse?.(req.method ?? "GET", req.url ?? "/");
    if (refusal !== undefined) {
      const { status, reason, errorCode } = typeof refusal === "string"
        ? { status: 400, reason: refusal, errorCode: "hawkbit.server.error.rest.param.rsqlInvalidField" } : refusal;
      req.resume();
      proxy.refused.push({ method: req.method!, url: req.url!, reason });
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ ...(errorCode ? { errorCode } : {}), message: reason }));
      return;
    }
    if (hold && req.method === hold.method && req.url?.startsWith(hold.pathPrefix)) {
      const held = hold;
      hold = undefined;
      held.arrive();
      await held.released;
    }
    const mutating = req.method !== "GET" && req.method !== "HEAD";
    let lose = false;
    const chunks: Buffer[] = [];
    if (mutating) {
      const recorded = { method: req.method!, url: req.url!, body: "" };
      mutations.push(recorded);
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => (recorded.body = Buffer.concat(chunks).toString()));
      if (countdown > 0 && --countdown === 0) lose = true;
    }
    const upstreamReq = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upstreamRes) => {
      if (lose) {
        upstreamRes.resume();
        upstreamRes.on("end", () => req.socket.destroy());
        return;
      }
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    });
    upstreamReq.on("error", () => res.writeHead(502).end());
    req.pipe(upstreamReq);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxy: HawkbitProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mutations,
    requests: [],
    outage: false,
    refused: [],
    loseAnswerOf(n) {
      countdown = n;
    },
    holdNext(method, pathPrefix, timeoutMs = 15_000) {
      let arrive!: () => void;
      let release!: () => void;
      const arrived = new Promise<void>((resolve, reject) => {
        arrive = resolve;
        setTimeout(() => reject(new Error(`no ${method} ${pathPrefix}… reached hawkBit within ${timeoutMs} ms`)), timeoutMs).unref();
      });
      const released = new Promise<void>((resolve) => (release = resolve));
      hold = { method, pathPrefix, arrive, released };
      return { arrived, release };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
