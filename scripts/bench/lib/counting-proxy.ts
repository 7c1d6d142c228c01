// A counting HTTP proxy in front of hawkBit: every request the bridge or the API sends passes through it and
// is counted by kind (mgmt = Management API, ddi = DDI, by the first path segments), so a benchmark can tell
// how many requests hawkBit received in a window without touching hawkBit or Aerie.
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface CountingProxy {
  url: string;
  /** Requests received since start or the last reset, by kind and by route (ids replaced by ":id"). */
  counts(): { total: number; byKind: Record<string, number>; byRoute: Record<string, number> };
  /** Completed requests with their start and duration (ms), kept only when started with log: true. */
  log: { route: string; at: number; ms: number }[];
  reset(): void;
  close(): Promise<void>;
}

export function routeOf(method: string, path: string): { kind: string; route: string } {
  const clean = path.split("?")[0]!;
  const kind = clean.startsWith("/rest/") ? "mgmt" : /^\/[^/]+\/controller\/v1\//.test(clean) ? "ddi" : "other";
  const route = clean.replace(/^\/[^/]+\/controller\/v1\/[^/]+/, "/{tenant}/controller/v1/{controllerId}").replace(/\/\d+(?=\/|$)/g, "/:id");
  return { kind, route: `${method} ${route}` };
}

export async function startCountingProxy(target: string, opts: { host?: string; log?: boolean } = {}): Promise<CountingProxy> {
  const host = opts.host ?? "127.0.0.1";
  const log: CountingProxy["log"] = [];
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let byKind: Record<string, number> = {};
  let byRoute: Record<string, number> = {};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const { kind, route } = routeOf(req.method ?? "GET", req.url ?? "/");
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    byRoute[route] = (byRoute[route] ?? 0) + 1;
    const at = Date.now();
    if (opts.log) res.once("finish", () => log.push({ route, at, ms: Date.now() - at }));
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: ${error.message}`);
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    log,
    counts: () => ({ total: Object.values(byKind).reduce((a, b) => a + b, 0), byKind: { ...byKind }, byRoute: { ...byRoute } }),
    reset() {
      byKind = {};
      byRoute = {};
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
