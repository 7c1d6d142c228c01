// Shared pieces of the agent tests: an HTTP file server with Range support (and faults to inject),
// the agent bundle built once per process, agent processes started and killed like on a device,
// and a "cloud" side on a real MQTT broker that publishes notices and collects the agent's reports.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import { join } from "node:path";
import { promisify } from "node:util";
import mqtt, { type MqttClient } from "mqtt";
import type { Deployment, DeploymentArtifact } from "../../bridge/protocol/schemas.js";
import { freePort, tempDir } from "../helpers/env.js";

const run = promisify(execFile);

export interface FileServer {
  url: string;
  /** Requests seen: path and Range header. */
  requests: { path: string; range?: string }[];
  /** Next N responses to `path` are cut after `bytes` bytes (connection destroyed). */
  cutAfter(path: string, bytes: number, times?: number): void;
  /** Next N responses to `path` answer with `status`. */
  failWith(path: string, status: number, times?: number): void;
  /** Sends at most `bytesPerSecond` (to SIGKILL an agent mid-download). */
  throttle(bytesPerSecond: number | undefined): void;
  close(): Promise<void>;
}

export async function startFileServer(root: string): Promise<FileServer> {
  const cuts = new Map<string, { bytes: number; times: number }>();
  const failures = new Map<string, { status: number; times: number }>();
  const requests: FileServer["requests"] = [];
  let rate: number | undefined;
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push({ path, range: req.headers.range });
    const failure = failures.get(path);
    if (failure && failure.times > 0) {
      failure.times--;
      res.writeHead(failure.status).end();
      return;
    }
    const file = join(root, path.replace(/^\/+/, "").replace(/\.\./g, ""));
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) {
      start = Number(range[1]);
      if (start >= size) {
        res.writeHead(416, { "content-range": `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, { "content-length": size - start, "content-range": `bytes ${start}-${size - 1}/${size}`, "accept-ranges": "bytes" });
    } else {
      res.writeHead(200, { "content-length": size, "accept-ranges": "bytes" });
    }
    const cut = cuts.get(path);
    let limit = Infinity;
    if (cut && cut.times > 0) {
      cut.times--;
      limit = cut.bytes;
    }
    let sent = 0;
    const stream = createReadStream(file, { start, highWaterMark: 16 * 1024 });
    void (async () => {
      for await (const chunk of stream) {
        const buffer = chunk as Buffer;
        if (sent + buffer.length > limit) {
          res.write(buffer.subarray(0, limit - sent));
          stream.destroy();
          res.destroy();
          return;
        }
        sent += buffer.length;
        if (!res.write(buffer)) await once(res, "drain");
        if (rate) await new Promise((r) => setTimeout(r, (buffer.length / rate!) * 1000));
        if (res.destroyed) {
          stream.destroy();
          return;
        }
      }
      res.end();
    })().catch(() => res.destroy());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutAfter: (path, bytes, times = 1) => cuts.set(path, { bytes, times }),
    failWith: (path, status, times = 1) => failures.set(path, { status, times }),
    throttle: (bytesPerSecond) => {
      rate = bytesPerSecond;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** An ECDSA P-256 key standing in for Aerie's Vault key: devices get its public half. */
export function testSigningKey(): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { privateKey, publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/** The deployment artifact entry for a file, signed like Aerie signs (sha256 digest, ECDSA DER). */
export async function artifactEntry(path: string, filename: string, url: string, key: KeyObject, keyVersion = 1): Promise<DeploymentArtifact> {
  const bytes = await readFile(path);
  return {
    filename,
    size: bytes.length,
    hashes: { sha256: createHash("sha256").update(bytes).digest("hex") },
    signature: { format: "ecdsa", covers: "artifact", algorithm: "ecdsa-p256", keyName: "aerie-release", keyVersion, value: sign("sha256", bytes, key).toString("base64") },
    offers: [{ url, scheme: "s3-presigned", metric: 10 }],
  };
}

export function notice(actionId: number, version: string, artifacts: DeploymentArtifact[], extra: Partial<Deployment> = {}): Deployment {
  return { actionId, type: "forced", release: { name: "aerie-os", version }, artifacts, consentRequired: false, issuedAt: new Date().toISOString(), ...extra };
}

let bundle: Promise<string> | undefined;

/** dist/aerie-agent.cjs built once per test process into a temp folder (the shipped artefact). */
export function agentBundle(): Promise<string> {
  bundle ??= (async () => {
    const dir = await tempDir("aerie-agent-bundle-");
    const out = join(dir.path, "aerie-agent.cjs");
    await run(process.execPath, [join(process.cwd(), "scripts", "build-agent.mjs"), out]);
    return out;
  })();
  return bundle;
}

export interface AgentProcess {
  child: ChildProcess;
  log: string[];
  exited: Promise<number | null>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

export async function startAgent(configPath: string, env: NodeJS.ProcessEnv = {}): Promise<AgentProcess> {
  const child = spawn(process.execPath, [await agentBundle(), "--config", configPath], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onLine = (line: string) => {
    log.push(line);
    if (process.env.AERIE_AGENT_TEST_LOG) process.stderr.write(`[agent] ${line}\n`);
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  let partial = "";
  const collect = (chunk: Buffer) => {
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    lines.forEach(onLine);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    log,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    waitForLog(pattern, timeoutMs = 60_000) {
      const seen = log.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`agent log never matched ${pattern}; last lines:\n${log.slice(-15).join("\n")}`)), timeoutMs);
        waiters.push({ pattern, resolve: (line) => { clearTimeout(timer); resolve(line); } });
      });
    },
  };
}

export interface CloudMessage {
  leaf: string;
  body: Record<string, unknown>;
}

/** Aerie's side of the protocol on a real broker, for tests without the whole stack. */
export class Cloud {
  readonly messages: CloudMessage[] = [];
  private client!: MqttClient;
  private readonly waiters: { test: (m: CloudMessage) => boolean; resolve: (m: CloudMessage) => void }[] = [];

  constructor(private readonly url: string, private readonly base = "aerie/v1") {}

  async start(): Promise<void> {
    this.client = await mqtt.connectAsync(this.url, { clientId: `cloud-${Math.random().toString(16).slice(2)}`, clean: true });
    await this.client.subscribeAsync(`${this.base}/devices/+/+`, { qos: 1 });
    this.client.on("message", (topic, payload) => {
      if (payload.length === 0) return;
      const leaf = topic.split("/").slice(-2).join("/");
      const message = { leaf: topic.split("/").pop()!, body: JSON.parse(payload.toString("utf8")) as Record<string, unknown>, device: leaf.split("/")[0] };
      this.messages.push(message);
      for (const waiter of [...this.waiters]) {
        if (waiter.test(message)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    });
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true);
  }

  async publish(device: string, leaf: "deployment" | "cancel", body: object | null): Promise<void> {
    await this.client.publishAsync(`${this.base}/devices/${device}/${leaf}`, body ? JSON.stringify(body) : "", { qos: 1, retain: true });
  }

  feedback(actionId?: number): { status: string; progress?: number; details?: string[]; messageId: string }[] {
    return this.messages.filter((m) => m.leaf === "feedback" && (actionId === undefined || m.body.actionId === actionId)).map((m) => m.body as never);
  }

  /** Resolves with the first message (already received or next) that matches. */
  waitFor(test: (m: CloudMessage) => boolean, timeoutMs = 60_000, what = "message"): Promise<CloudMessage> {
    const seen = this.messages.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; got: ${JSON.stringify(this.messages.filter((m) => m.leaf !== "telemetry").map((m) => [m.leaf, m.body.status ?? m.body.decision ?? ""]))}`)), timeoutMs);
      this.waiters.push({ test, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  }

  waitForFeedback(actionId: number, status: string, timeoutMs = 60_000): Promise<CloudMessage> {
    return this.waitFor((m) => m.leaf === "feedback" && m.body.actionId === actionId && m.body.status === status, timeoutMs, `feedback ${status} for action ${actionId}`);
  }
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2));
}
