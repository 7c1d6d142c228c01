// The OpenAPI 3 description of /api/v1, served at /openapi.json. Request bodies reuse the JSON Schemas the
// services validate with, so the document and the validation cannot disagree.
import { campaignInputSchema } from "./services/campaign-plan.js";
import { deviceGroupInputSchema } from "./services/device-groups.js";
import { webhookInputSchema } from "./webhooks/subscriptions.js";

const error = {
  description: "Error",
  content: {
    "application/json": {
      schema: {
        type: "object", required: ["error"],
        properties: {
          error: {
            type: "object", required: ["status", "code", "message"],
            properties: {
              status: { type: "integer" }, code: { type: "string" }, message: { type: "string" }, details: {},
              hawkbit: { type: "object", description: "hawkBit's own refusal", properties: { status: { type: "integer" }, errorCode: { type: "string" } } },
            },
          },
        },
      },
    },
  },
};

const json = (schema: object, description = "OK") => ({ description, content: { "application/json": { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const idParam = (name: string, description: string) => ({ name, in: "path", required: true, description, schema: { type: "string", format: "uuid" } });
const errors = { 400: error, 404: error, 409: error, 502: error };

const campaignCommand = (summary: string) => ({
  post: {
    summary, parameters: [idParam("id", "Campaign id")], responses: { 200: json(ref("Campaign")), ...errors },
  },
});

/** JSON Schema draft keywords OpenAPI 3.0 lacks: exclusiveMinimum as a number becomes the boolean form. */
function toOpenApi30(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toOpenApi30);
  if (typeof schema !== "object" || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "propertyNames") continue;
    if (key === "exclusiveMinimum" && typeof value === "number") {
      out.minimum = value;
      out.exclusiveMinimum = true;
    } else if (key === "enum" && !("type" in schema)) {
      out.type = "string";
      out.enum = value;
    } else out[key] = toOpenApi30(value);
  }
  return out;
}

export const openApiDocument = {
  openapi: "3.0.3",
  info: {
    title: "Aerie API",
    version: "1",
    description: "OTA campaigns over Eclipse hawkBit: artifacts, releases, campaigns with staged, paced and health-gated groups, devices.",
  },
  servers: [{ url: "/" }],
  paths: {
    "/api/v1/artifacts": {
      post: {
        summary: "Upload an artifact (raw body or multipart field `file`), hashed on the way to S3",
        parameters: [
          { name: "filename", in: "query", required: true, schema: { type: "string" } },
          { name: "sha256", in: "query", required: false, schema: { type: "string", pattern: "^[0-9a-f]{64}$" } },
          { name: "hardwareType", in: "query", required: false, schema: { type: "string" } },
        ],
        requestBody: { content: { "application/octet-stream": { schema: { type: "string", format: "binary" } }, "multipart/form-data": { schema: { type: "object", properties: { file: { type: "string", format: "binary" } } } } } },
        responses: { 201: json(ref("Artifact"), "Created"), ...errors },
      },
    },
    "/api/v1/artifacts/{id}": { get: { summary: "An artifact with its signatures", parameters: [idParam("id", "Artifact id")], responses: { 200: json(ref("Artifact")), ...errors } } },
    "/api/v1/artifacts/{id}/signatures": { post: { summary: "Sign the artifact's sha256 with the Vault transit key", parameters: [idParam("id", "Artifact id")], responses: { 201: json({ type: "object" }, "Created"), ...errors } } },
    "/api/v1/keyring": { get: { summary: "Public keys of every usable key version", responses: { 200: json({ type: "object", properties: { keyName: { type: "string" }, keys: { type: "array", items: { type: "object" } } } }) } } },
    "/api/v1/releases": {
      post: {
        summary: "Create a release: software module with the artifacts and a distribution set in hawkBit (provisioned step by step, completed after a crash)",
        requestBody: { required: true, content: { "application/json": { schema: ref("ReleaseInput") } } },
        responses: { 201: json(ref("Release"), "Created"), ...errors },
      },
      get: { summary: "Every release", responses: { 200: json({ type: "array", items: ref("Release") }) } },
    },
    "/api/v1/releases/{id}": { get: { summary: "A release with its artifacts", parameters: [idParam("id", "Release id")], responses: { 200: json(ref("Release")), ...errors } } },
    "/api/v1/campaigns": {
      post: {
        summary: "Create a campaign: one hawkBit rollout over the selected devices",
        requestBody: { required: true, content: { "application/json": { schema: ref("CampaignInput") } } },
        responses: { 201: json(ref("Campaign"), "Created"), ...errors },
      },
      get: { summary: "Every campaign (without progress)", responses: { 200: json({ type: "array", items: { type: "object" } }) } },
    },
    "/api/v1/campaigns/{id}": { get: { summary: "A campaign with progress per group and per device", parameters: [idParam("id", "Campaign id")], responses: { 200: json(ref("Campaign")), ...errors } } },
    "/api/v1/campaigns/{id}/start": campaignCommand("Ask for the start (waits for approval, startAt and the maintenance window)"),
    "/api/v1/campaigns/{id}/pause": campaignCommand("Pause: no further group starts until resumed"),
    "/api/v1/campaigns/{id}/resume": campaignCommand("Resume; also overrides a health gate, pacing or error pause"),
    "/api/v1/campaigns/{id}/stop": campaignCommand("Stop: devices not notified yet are dropped"),
    "/api/v1/campaigns/{id}/retry": campaignCommand("Roll out again to the devices that failed (hawkBit retry rollout)"),
    "/api/v1/campaigns/{id}/approve": campaignCommand("Approve a campaign waiting for approval"),
    "/api/v1/campaigns/{id}/deny": campaignCommand("Deny a campaign waiting for approval"),
    "/api/v1/devices": {
      get: {
        summary: "The device registry",
        parameters: [{ name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500 } }, { name: "offset", in: "query", schema: { type: "integer", minimum: 0 } }],
        responses: { 200: json({ type: "object", properties: { total: { type: "integer" }, offset: { type: "integer" }, limit: { type: "integer" }, devices: { type: "array", items: { type: "object" } } } }) },
      },
    },
    "/api/v1/device-groups": {
      post: {
        summary: "Create a device group (a list of devices, kept as a hawkBit target tag, or a device-attribute filter)",
        requestBody: { required: true, content: { "application/json": { schema: ref("DeviceGroupInput") } } },
        responses: { 201: json(ref("DeviceGroup"), "Created"), ...errors },
      },
      get: { summary: "Every device group", responses: { 200: json({ type: "array", items: ref("DeviceGroup") }) } },
    },
    "/api/v1/device-groups/{name}": { get: { summary: "A device group", parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }], responses: { 200: json(ref("DeviceGroup")), ...errors } } },
    "/api/v1/webhooks": {
      post: {
        summary: "Subscribe a URL to events; deliveries are signed (X-Aerie-Signature: sha256=HMAC(secret, timestamp.body)) and retried",
        requestBody: { required: true, content: { "application/json": { schema: ref("WebhookInput") } } },
        responses: { 201: json(ref("Webhook"), "Created"), ...errors },
      },
      get: { summary: "Every subscription (secrets never shown)", responses: { 200: json({ type: "array", items: ref("Webhook") }) } },
    },
    "/api/v1/webhooks/{id}": {
      get: { summary: "A subscription with its delivery counts", parameters: [idParam("id", "Webhook id")], responses: { 200: json(ref("Webhook")), ...errors } },
      delete: { summary: "Unsubscribe (pending deliveries are dropped)", parameters: [idParam("id", "Webhook id")], responses: { 204: { description: "Deleted" }, ...errors } },
    },
    "/api/v1/devices/{controllerId}": { get: { summary: "A device with its latest actions", parameters: [{ name: "controllerId", in: "path", required: true, schema: { type: "string" } }], responses: { 200: json({ type: "object" }), ...errors } } },
  },
  components: {
    schemas: {
      ReleaseInput: {
        type: "object", required: ["name", "version", "artifacts"], additionalProperties: false,
        properties: {
          name: { type: "string" }, version: { type: "string" }, description: { type: "string" },
          artifacts: { type: "array", items: { type: "string", format: "uuid" } },
        },
      },
      Release: {
        type: "object",
        properties: {
          id: { type: "string", format: "uuid" }, name: { type: "string" }, version: { type: "string" },
          status: { type: "string", enum: ["provisioning", "ready", "failed"] }, statusReason: { type: "string", nullable: true },
          hawkbitSoftwareModuleId: { type: "integer", nullable: true }, hawkbitDistributionSetId: { type: "integer", nullable: true },
          artifacts: { type: "array", items: ref("Artifact") },
        },
      },
      Artifact: {
        type: "object",
        properties: { id: { type: "string", format: "uuid" }, filename: { type: "string" }, size: { type: "integer" }, sha256: { type: "string" }, signatures: { type: "array", items: { type: "object" } } },
      },
      CampaignInput: toOpenApi30(campaignInputSchema),
      DeviceGroupInput: toOpenApi30(deviceGroupInputSchema),
      DeviceGroup: {
        type: "object",
        properties: {
          id: { type: "string", format: "uuid" }, name: { type: "string" }, devices: { type: "array", items: { type: "string" } },
          filter: { type: "string", nullable: true }, targetFilter: { type: "string", nullable: true }, hawkbitTagId: { type: "integer", nullable: true },
          status: { type: "string", enum: ["provisioning", "ready"] },
        },
      },
      WebhookInput: toOpenApi30(webhookInputSchema),
      Webhook: {
        type: "object",
        properties: {
          id: { type: "string", format: "uuid" }, url: { type: "string" }, events: { type: "array", items: { type: "string" } },
          createdBy: { type: "string" }, createdAt: { type: "string", format: "date-time" },
          deliveries: { type: "object", additionalProperties: { type: "integer" }, description: "Deliveries by status (pending, delivered, failed)" },
        },
      },
      Campaign: {
        type: "object",
        properties: {
          id: { type: "string", format: "uuid" }, name: { type: "string" },
          status: { type: "string", enum: ["provisioning", "created", "waiting_for_approval", "denied", "scheduled", "starting", "running", "paused", "finished", "stopped", "aborted", "retrying"] },
          statusReason: { type: "string", nullable: true },
          pausedBy: { type: "string", nullable: true, enum: ["operator", "error-threshold", "health-gate", "pacing", "maintenance-window", null] },
          hawkbitRolloutId: { type: "integer", nullable: true },
          rollout: { type: "object", description: "hawkBit's view: status and target counts by status" },
          progress: {
            type: "object",
            properties: {
              devices: { type: "integer" },
              byStatus: { type: "object", additionalProperties: { type: "integer" } },
              timedOut: { type: "integer", description: "Devices failed by the stuck timeout" },
              groups: { type: "array", items: { type: "object", properties: { id: { type: "integer" }, name: { type: "string" }, status: { type: "string" }, totalTargets: { type: "integer" }, byStatus: { type: "object", additionalProperties: { type: "integer" } } } } },
            },
          },
          devices: { type: "array", items: { type: "object", properties: { controllerId: { type: "string" }, group: { type: "string", nullable: true }, actionId: { type: "integer" }, status: { type: "string" }, detail: { type: "string", nullable: true } } } },
        },
      },
    },
  },
} as const;
