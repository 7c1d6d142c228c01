// /openapi.json against the API it describes: every route the Express app serves is documented (and nothing else),
// the document is a valid OpenAPI 3.0 document (the official JSON Schema, and express-openapi-validator's own
// loading), and the live API's requests and answers of a campaign's whole course conform to it.
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import AjvDraft4 from "ajv-draft-04";
import addFormats from "ajv-formats";
import { expect } from "chai";
import express, { type ErrorRequestHandler, type Express } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import { openApiDocument } from "../../api/openapi.js";
import { type ApiDependencies, createApp, createServices } from "../../api/server.js";
import { type CampaignHarness, DdiDevice, apiError, runDevices, startCampaignHarness } from "../campaigns/harness.js";

const OAS_30_SCHEMA = new URL("../../node_modules/express-openapi-validator/dist/framework/openapi.v3.schema.json", import.meta.url);
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

type Layer = { name: string; rawPath?: unknown; route?: { path: unknown; methods: Record<string, boolean> }; handle: { stack?: Layer[] } };

/** "METHOD /path/{param}" for every route of the app, nested routers included. */
function servedOperations(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        expect(layer.route.path, `a route under ${prefix} has a non-string path`).to.be.a("string");
        const path = `${prefix}${layer.route.path === "/" ? "" : layer.route.path}`.replace(/:(\w+)/g, "{$1}");
        for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${path || "/"}`);
      } else if (layer.handle.stack) {
        // Express 5 keeps a mounted router's path only as rawPath; without it this walk would miss routes.
        expect(layer.rawPath, `a router mounted under ${prefix || "/"} has no string path`).to.be.a("string");
        walk(layer.handle.stack, `${prefix}${layer.rawPath === "/" ? "" : layer.rawPath}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, "");
  return found.sort();
}

function documentedOperations(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`)).sort();
}

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function schemaErrors(doc: unknown): string[] {
  const ajv = new AjvDraft4.default({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(OAS_30_SCHEMA, "utf8")) as object);
  return validate(doc) ? [] : (validate.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`);
}

/** express-openapi-validator refuses an invalid document on its first request; returns what it reported. */
async function loadErrors(doc: unknown): Promise<string[]> {
  const errors: string[] = [];
  const app = express();
  app.use(OpenApiValidator.middleware({ apiSpec: copy(doc) as never, validateApiSpec: true, validateRequests: true, validateResponses: true }));
  app.get("/healthz", (_req, res) => {
    res.json({ status: "alive" });
  });
  app.use(((err, _req, res, _next) => {
    errors.push(String((err as Error).message));
    res.status(500).end();
  }) as ErrorRequestHandler);
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  try {
    await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`);
  } finally {
    server.close();
  }
  return errors;
}

describe("API: the OpenAPI document", function () {
  this.timeout(120_000);

  it("documents exactly the routes the app serves", () => {
    const deps = { readiness: {} } as unknown as ApiDependencies;
    const served = servedOperations(createApp(deps, createServices(deps)));
    const documented = documentedOperations(openApiDocument as never);
    expect(served).to.include.members(["POST /api/v1/artifacts", "POST /api/v1/builds/swu", "PUT /api/v1/keyring/certificate", "GET /api/v1/devices/{controllerId}"]);
    expect(served.filter((op) => !documented.includes(op)), "served but not documented").to.deep.equal([]);
    expect(documented.filter((op) => !served.includes(op)), "documented but not served").to.deep.equal([]);
  });

  it("names every path parameter of every operation", () => {
    for (const [path, item] of Object.entries(openApiDocument.paths as unknown as Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const method of METHODS.filter((m) => item[m])) {
        const declared = (item[method]!.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
        expect(declared, `${method.toUpperCase()} ${path}`).to.have.members(inPath);
      }
    }
  });

  it("reuses the services' request schemas, so the document and the validation cannot disagree", async () => {
    const { buildSwuSchema, buildRaucSchema } = await import("../../api/services/signing.js");
    const { releaseInputSchema } = await import("../../api/services/releases.js");
    const schemas = openApiDocument.components.schemas as Record<string, { properties: object; required?: readonly string[] }>;
    for (const [name, source] of [["BuildSwuInput", buildSwuSchema], ["BuildRaucInput", buildRaucSchema], ["ReleaseInput", releaseInputSchema]] as const) {
      expect(Object.keys(schemas[name]!.properties), name).to.deep.equal(Object.keys(source.properties));
      expect(schemas[name]!.required, name).to.deep.equal(source.required);
    }
  });

  it("is a valid OpenAPI 3.0 document, by the official schema and by express-openapi-validator", async () => {
    expect(schemaErrors(copy(openApiDocument))).to.deep.equal([]);
    expect(await loadErrors(openApiDocument)).to.deep.equal([]);
    // Both checks can fail: a response without its required description, an unknown schema type.
    const broken = copy(openApiDocument) as { paths: Record<string, Record<string, { responses: Record<string, object> }>> };
    broken.paths["/healthz"]!.get!.responses["200"] = { content: { "application/json": { schema: { type: "strng" } } } };
    expect(schemaErrors(broken)).to.not.deep.equal([]);
    // The validator prints the errors of a document it refuses; this refusal is expected.
    const print = console.error;
    console.error = () => {};
    try {
      expect(await loadErrors(broken)).to.not.deep.equal([]);
    } finally {
      console.error = print;
    }
  });
});

describe("API: requests and answers conform to the OpenAPI document", function () {
  this.timeout(120_000);
  let h: CampaignHarness;
  const violations: string[] = [];

  before(async () => {
    h = await startCampaignHarness({
      front(app) {
        const outer = express();
        // The validator reads parsed bodies; Aerie's own parser then leaves them be. Multipart stays unread.
        outer.use(express.json({ limit: "1mb" }));
        outer.use(OpenApiValidator.middleware({
          apiSpec: copy(openApiDocument) as never, validateRequests: true, fileUploader: false,
          validateResponses: { onError: (err, _body, req) => violations.push(`${req.method} ${req.originalUrl}: ${err.message}`) },
        }));
        outer.use(app);
        // The validator's refusals in Aerie's error shape, so callers read them like Aerie's own.
        outer.use(((err: { status?: number; message?: string }, _req, res, _next) => {
          const status = err.status ?? 500;
          res.status(status).json({ error: { status, code: "openapi", message: err.message } });
        }) as ErrorRequestHandler);
        return outer;
      },
    });
  });

  after(async () => {
    await h?.dispose();
  });

  it("over a campaign's whole course, errors included", async () => {
    const get = <T = Record<string, unknown>>(path: string) => h.api.request<T>("GET", path);
    const post = <T = Record<string, unknown>>(path: string, body?: unknown) => h.api.request<T>("POST", path, body);
    const devices = [new DdiDevice("oa-1", h.standin.url, h.db, { hardware: "rev-a", "version.rootfs": "1.0.0" }), new DdiDevice("oa-2", h.standin.url, h.db, { hardware: "rev-b", "version.rootfs": "1.0.0" })];
    for (const d of devices) await d.register();
    const artifact = await h.addArtifact("oa.swu", Buffer.from("oa image"));
    const release = await post<{ id: string }>("/api/v1/releases", { name: "oa-os", version: "2", archives: [{ hardwareType: "rev-a", artifactId: artifact }], upgradableFrom: ["1.0.0"] });
    await get("/api/v1/releases");
    await get(`/api/v1/releases/${release.id}`);
    await get(`/api/v1/artifacts/${artifact}`);
    const campaign = await post<{ id: string }>("/api/v1/campaigns", { name: "oa-campaign", releaseId: release.id, selection: "controllerId==oa-*", groups: 1, dynamic: { groupSize: 5 }, weight: 10 });
    await post(`/api/v1/campaigns/${campaign.id}/start`);
    await runDevices(devices, h.hawkbit, async () => ((await get<{ progress: { byStatus: Record<string, number> } }>(`/api/v1/campaigns/${campaign.id}`)).progress.byStatus.success === 1 ? true : undefined));
    await post(`/api/v1/campaigns/${campaign.id}/pause`);
    await post(`/api/v1/campaigns/${campaign.id}/resume`);
    await get("/api/v1/campaigns");
    await post(`/api/v1/campaigns/${campaign.id}/stop`);
    await apiError(post(`/api/v1/campaigns/${campaign.id}/start`), 409, "stopped");
    await apiError(post(`/api/v1/campaigns/${campaign.id}/approve`), 409);
    await apiError(post("/api/v1/campaigns", { name: "oa-bad", releaseId: release.id, selection: "x==1", errorThreshold: 101 }), 400, "errorThreshold");
    await apiError(get("/api/v1/releases/00000000-0000-4000-8000-000000000000"), 404);

    await get("/api/v1/devices?limit=10");
    await get("/api/v1/devices/oa-1");
    await apiError(get("/api/v1/devices/nobody"), 404);
    await post("/api/v1/device-groups", { name: "oa-group", devices: ["oa-1"] });
    await get("/api/v1/device-groups");
    await get("/api/v1/device-groups/oa-group");
    const hook = await post<{ id: string }>("/api/v1/webhooks", { url: "http://127.0.0.1:9/hook", events: ["campaign.*"], secret: "0123456789abcdef" });
    await get("/api/v1/webhooks");
    await get(`/api/v1/webhooks/${hook.id}`);
    await h.api.request("DELETE", `/api/v1/webhooks/${hook.id}`, undefined, [204]);
    await get("/api/v1/keyring");
    await get("/api/v1/artifacts");
    await get(`/api/v1/artifacts?releaseId=${release.id}`);
    await get(`/api/v1/releases/${release.id}/devices`);
    await get("/api/v1/devices/oa-1/telemetry?step=5m");
    await get("/api/v1/devices?search=oa&attribute=hardware=rev-a&sort=lastSeenAt&order=desc");
    await post("/api/v1/campaigns/preview", { releaseId: release.id, selection: "controllerId==oa-*", groups: 2 });
    await h.api.request("DELETE", `/api/v1/releases/${release.id}`);
    await get("/healthz");
    await get("/readyz");
    expect(violations).to.deep.equal([]);
  });
});
