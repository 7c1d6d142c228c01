// HTTP hardening on Aerie's embedded stack: helmet's headers, CORS only for listed origins, 429 with Retry-After
// for changes beyond the per-principal rate and for repeated failed authentication, 413 for a JSON body over
// 1 MiB and an artifact over AERIE_MAX_ARTIFACT_BYTES (declared or streamed), server timeouts (uploads may run
// long, dribbled headers are dropped), and a table of inputs that gave 500s: each now a 4xx naming the field,
// with no artifact row, S3 object, audit event or webhook delivery left behind.
import { connect } from "node:net";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { type ApiDependencies, createApp, createServices, listen } from "../../api/server.js";
import { AerieClient } from "../../scripts/lib/aerie-client.js";
import { type TestStack, startTestStack } from "../helpers/stack.js";

const MAX_ARTIFACT = 1024 * 1024;
const ZERO = "00000000-0000-4000-8000-000000000000";

describe("API: hardened HTTP", function () {
  this.timeout(240_000);
  let test: TestStack;
  let s3: S3Client;
  let api: string;

  const send = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token !== null) headers.set("authorization", `Bearer ${init.token ?? test.adminToken}`);
    return fetch(`${api}${path}`, { ...init, headers });
  };
  const json = (method: string, path: string, body: unknown) => send(path, { method, headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

  async function objects(): Promise<number> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: test.config.s3Bucket, Prefix: "artifacts/" }));
    return listed.KeyCount ?? 0;
  }
  async function footprint() {
    return { objects: await objects(), artifacts: await count("artifacts"), audit: await count("audit_events"), deliveries: await count("webhook_deliveries") };
  }
  async function count(table: string): Promise<number> {
    const pg = await import("pg");
    const client = new pg.default.Client({ connectionString: test.stack.databaseUrl });
    await client.connect();
    try {
      return Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    } finally {
      await client.end();
    }
  }

  before(async () => {
    test = await startTestStack({
      AERIE_MAX_ARTIFACT_BYTES: String(MAX_ARTIFACT), AERIE_CORS_ORIGINS: "https://ops.example.com",
      AERIE_RATE_LIMIT_MUTATIONS: "40", AERIE_RATE_LIMIT_AUTH_FAILURES: "8",
    });
    api = test.stack.endpoints.api;
    const secrets = JSON.parse(await readFile(join(test.dataDir, "secrets.json"), "utf8")) as { s3AccessKeyId: string; s3SecretAccessKey: string };
    s3 = new S3Client({ endpoint: test.stack.endpoints.s3, region: test.config.s3Region, forcePathStyle: true, credentials: { accessKeyId: secrets.s3AccessKeyId, secretAccessKey: secrets.s3SecretAccessKey } });
  });

  after(async () => {
    s3?.destroy();
    await test?.stop();
  });

  it("sends helmet's security headers and no X-Powered-By", async () => {
    for (const path of ["/healthz", "/api/v1/me"]) {
      const response = await send(path);
      expect(response.headers.get("x-content-type-options"), path).to.equal("nosniff");
      expect(response.headers.get("content-security-policy"), path).to.contain("default-src 'self'");
      expect(response.headers.get("x-frame-options"), path).to.equal("SAMEORIGIN");
      expect(response.headers.get("strict-transport-security"), path).to.match(/max-age=/);
      expect(response.headers.get("x-powered-by"), path).to.equal(null);
    }
  });

  it("answers CORS only for the listed origins", async () => {
    const allowed = await send("/api/v1/me", { headers: { origin: "https://ops.example.com" } });
    expect(allowed.headers.get("access-control-allow-origin")).to.equal("https://ops.example.com");
    const preflight = await send("/api/v1/campaigns", { method: "OPTIONS", token: null, headers: { origin: "https://ops.example.com", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" } });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).to.contain("authorization");
    const foreign = await send("/api/v1/me", { headers: { origin: "https://evil.example.net" } });
    expect(foreign.headers.get("access-control-allow-origin")).to.equal(null);
    const foreignPreflight = await send("/api/v1/campaigns", { method: "OPTIONS", token: null, headers: { origin: "https://evil.example.net", "access-control-request-method": "POST" } });
    expect(foreignPreflight.headers.get("access-control-allow-origin")).to.equal(null);
  });

  it("refuses inputs that gave 500s with a 4xx naming the field, leaving nothing behind", async () => {
    const artifact = await test.api.uploadArtifact("base.bin", Buffer.from("base image"));
    await test.api.request("POST", "/api/v1/webhooks", { url: "https://hooks.example.com/aerie", events: ["campaign.*", "release.*", "artifact.*"], secret: "0123456789abcdef" }).catch(() => undefined);
    const before = await footprint();
    const upload = (query: string, body: BodyInit = "image bytes") => send(`/api/v1/artifacts?${query}`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body });
    const table: [string, () => Promise<Response>, number, string][] = [
      ["NUL in a path", () => send("/api/v1/devices/dev%00ice"), 400, "path"],
      ["NUL in a device group name", () => send("/api/v1/device-groups/g%00"), 400, "path"],
      ["NUL in hardwareType", () => upload("filename=a.bin&hardwareType=rev%00a"), 400, "hardwareType"],
      ["NUL in filename", () => upload("filename=a%00.bin"), 400, "filename"],
      ["bad hardwareType", () => upload("filename=a.bin&hardwareType=rev%20a%2F..%2F"), 400, "hardwareType"],
      ["artifact named ..", () => upload("filename=.."), 400, "filename"],
      ["artifact named .", () => upload("filename=."), 400, "filename"],
      ["NUL in a JSON string", () => json("POST", "/api/v1/releases", { name: "os\u0000", version: "1", artifacts: [artifact.id] }), 400, "body.name"],
      ["NUL in a nested JSON string", () => json("POST", "/api/v1/campaigns", { name: "c", releaseId: ZERO, selection: "x==1", groups: [{ name: "g\u0000" }] }), 400, "body.groups[0].name"],
      ["NUL in a JSON key", () => json("POST", "/api/v1/device-groups", { name: "g", ["dev\u0000ices"]: ["a"] }), 400, "body key"],
      ["NUL in a webhook URL", () => json("POST", "/api/v1/webhooks", { url: "https://a.example.com/\u0000", events: ["campaign.*"], secret: "0123456789abcdef" }), 400, "body.url"],
      ["offset=1e300", () => send("/api/v1/devices?offset=1e300"), 400, "offset"],
      ["limit=-1", () => send("/api/v1/devices?limit=-1"), 400, "limit"],
      ["audit offset=1e300", () => send("/api/v1/audit?offset=1e300"), 400, "offset"],
      ["malformed CSR subject", () => json("POST", "/api/v1/keyring/csr", { subject: "not a distinguished name" }), 400, "subject"],
      ["CSR subject with an unknown attribute", () => json("POST", "/api/v1/keyring/csr", { subject: "CN=x, XX=y" }), 400, "subject"],
      ["build filename ..", () => json("POST", "/api/v1/builds/swu", { filename: "..", images: [{ artifactId: artifact.id }], version: "1", hardwareCompatibility: ["1"] }), 400, "filename"],
      ["build filename .", () => json("POST", "/api/v1/builds/rauc", { filename: ".", compatible: "x", version: "1", images: [{ artifactId: artifact.id, slotClass: "rootfs" }] }), 400, "filename"],
      ["unreadable JSON", () => json("POST", "/api/v1/releases", "{\"name\":"), 400, "JSON"],
      ["refused campaign (unknown release)", () => json("POST", "/api/v1/campaigns", { name: "refused", releaseId: ZERO, selection: "x==1" }), 404, "release"],
    ];
    const failures: string[] = [];
    for (const [name, run, status, field] of table) {
      const response = await run();
      const text = await response.text();
      if (response.status !== status || !text.includes(field)) failures.push(`${name}: ${response.status} ${text.slice(0, 200)}`);
    }
    expect(failures).to.deep.equal([]);
    expect(await footprint()).to.deep.equal(before);
  });

  it("413 for a JSON body over 1 MiB and an artifact over AERIE_MAX_ARTIFACT_BYTES, declared or streamed; nothing stored", async () => {
    const before = await footprint();
    const big = await json("POST", "/api/v1/releases", { name: "x", version: "1", description: "x".repeat(1_100_000) });
    expect(big.status).to.equal(413);
    const declared = await send("/api/v1/artifacts?filename=big.bin", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: Buffer.alloc(MAX_ARTIFACT + 1) });
    expect(declared.status).to.equal(413);
    expect(await declared.text()).to.contain("AERIE_MAX_ARTIFACT_BYTES");
    // Without Content-Length (chunked): counted on the way to S3, the object removed.
    const chunks = Readable.from((function* () {
      for (let i = 0; i < 40; i++) yield Buffer.alloc(64 * 1024, i);
    })());
    const streamed = await send("/api/v1/artifacts?filename=streamed.bin", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: chunks as unknown as BodyInit, duplex: "half" } as RequestInit).catch((error: Error) => error);
    if (streamed instanceof Response) expect(streamed.status).to.equal(413);
    // A limit-sized upload still goes through.
    const fits = await test.api.uploadArtifact("fits.bin", Buffer.alloc(MAX_ARTIFACT, 7));
    expect(fits.size).to.equal(MAX_ARTIFACT);
    const after = await footprint();
    expect(after.artifacts).to.equal(before.artifacts + 1);
    expect(after.objects).to.equal(before.objects + 1);
  });

  it("429 with Retry-After once a principal's changes exceed the rate; others are not slowed", async () => {
    const token = (await test.api.request<{ token: string }>("POST", "/api/v1/tokens", { name: "flood", role: "operator" })).token;
    const other = (await test.api.request<{ token: string }>("POST", "/api/v1/tokens", { name: "calm", role: "operator" })).token;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 45; i++) {
      const response = await send(`/api/v1/campaigns/${ZERO}/pause`, { method: "POST", token });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get("retry-after");
      await response.arrayBuffer();
    }
    expect(statuses.filter((s) => s === 404).length).to.be.within(37, 40);
    expect(statuses.slice(-3)).to.deep.equal([429, 429, 429]);
    expect(Number(retryAfter)).to.be.within(1, 60);
    expect((await send(`/api/v1/campaigns/${ZERO}/pause`, { method: "POST", token, headers: {} })).status).to.equal(429);
    expect((await send(`/api/v1/campaigns/${ZERO}`, { token })).status).to.equal(404);
    expect((await send(`/api/v1/campaigns/${ZERO}/pause`, { method: "POST", token: other })).status).to.equal(404);
  });

  it("429 with Retry-After after repeated failed authentication from one address (last: it locks this address out)", async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 12; i++) {
      const response = await send("/api/v1/me", { token: `aerie_${"x".repeat(43)}` });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get("retry-after");
    }
    expect(statuses.slice(0, 8)).to.deep.equal(Array(8).fill(401));
    expect(statuses.slice(8)).to.deep.equal([429, 429, 429, 429]);
    expect(Number(retryAfter)).to.be.within(1, 60);
  });
});

describe("API: server timeouts", function () {
  this.timeout(60_000);

  it("lets a request take as long as its bytes keep coming, and drops a client whose headers dribble", async () => {
    const deps = { readiness: {} } as unknown as ApiDependencies;
    const running = await listen(createApp(deps, createServices(deps)), "127.0.0.1", 0);
    try {
      expect(running.server.requestTimeout).to.equal(0);
      expect(running.server.headersTimeout).to.be.within(1, 30_000);
      const port = Number(new URL(running.url).port);
      const started = Date.now();
      const closedAfter = await new Promise<number>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1", () => {
          socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
          // One header line every 2 s, never the blank line that ends them.
          const timer = setInterval(() => socket.write(`X-Slow-${Date.now()}: 1\r\n`), 2000);
          socket.on("close", () => {
            clearInterval(timer);
            resolve(Date.now() - started);
          });
        });
        socket.on("error", () => undefined);
        setTimeout(() => reject(new Error("the slow client was never dropped")), 45_000);
      });
      expect(closedAfter).to.be.within(14_000, 30_000);
    } finally {
      await running.close();
    }
  });
});
