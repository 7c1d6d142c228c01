// A recording HTTP proxy in front of the stand-in that can answer chosen requests with a fault instead.
import { type IncomingMessage, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxiedRequest {
  method: string;
  url: string;
}

export interface FaultProxy {
  url: string;
  requests: ProxiedRequest[];
  /** The next `count` requests matching `match` get `status` instead of reaching the upstream. */
  failNext(count: number, status: number, match?: (req: ProxiedRequest) => boolean): void;
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const requests: ProxiedRequest[] = [];
  let faults: { remaining: number; status: number; match: (req: ProxiedRequest) => boolean } | undefined;

  const server = createServer((req: IncomingMessage, res) => {
    const seen = { method: req.method ?? "GET", url: req.url ?? "/" };
    requests.push(seen);
    if (faults && faults.remaining > 0 && faults.match(seen)) {
      faults.remaining--;
      req.resume();
      res.writeHead(faults.status, { "Content-Type": "application/json" }).end("{}");
      return;
    }
    const upstreamReq = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on("error", () => res.writeHead(502).end());
    req.pipe(upstreamReq);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(count, status, match = () => true) {
      faults = { remaining: count, status, match };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
