// The OpenAPI 3 description of /api/v1, served at /openapi.json. Request bodies reuse the JSON Schemas the
// services validate with, so the document and the validation cannot disagree.
import { campaignInputSchema } from "./services/campaign-plan.js";
import { deviceGroupInputSchema } from "./services/device-groups.js";
import { releaseInputSchema } from "./services/releases.js";
import { buildRaucSchema, buildSwuSchema } from "./services/signing.js";
import { webhookInputSchema } from "./webhooks/subscriptions.js";
import { type Permission, ROLES } from "./auth/permissions.js";
import { tokenInputSchema } from "./routes/tokens.js";
import { EVENT_PERMISSIONS, EVENT_TYPES } from "./events/hub.js";

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
const text = (mediaType: string, description: string) => ({ description, content: { [mediaType]: { schema: { type: "string" } } } });
const pemBody = {
  required: true,
  content: Object.fromEntries(["text/plain", "application/x-pem-file", "application/pkix-cert"].map((t) => [t, { schema: { type: "string" } }])),
};

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

const document = {
  openapi: "3.0.3",
  info: {
    title: "Aerie API",
    version: "1",
    description: "OTA campaigns over Eclipse hawkBit: artifacts, releases, campaigns with staged, paced and health-gated groups, devices.",
  },
  servers: [{ url: "/" }],
  paths: {
    "/healthz": { get: { summary: "The process is alive", responses: { 200: json({ type: "object", properties: { status: { type: "string", enum: ["alive"] } } }) } } },
    "/readyz": {
      get: {
        summary: "Every dependency answers (postgres, s3, mqtt, hawkbit, vault)",
        responses: Object.fromEntries([200, 503].map((status) => [status, json({ type: "object", properties: { status: { type: "string", enum: ["ready", "not-ready"] }, dependencies: { type: "object", additionalProperties: { type: "object" } } } }, status === 200 ? "Ready" : "A dependency is down")])),
      },
    },
    "/metrics": { get: { summary: "Prometheus metrics", responses: { 200: text("text/plain", "Prometheus text exposition format") } } },
    "/openapi.json": { get: { summary: "This document", responses: { 200: json({ type: "object" }) } } },
    "/api/v1/artifacts": {
      post: {
        summary: "Upload an artifact (raw body or multipart field `file`), hashed on the way to S3",
        parameters: [
          { name: "filename", in: "query", required: true, schema: { type: "string" } },
          { name: "sha256", in: "query", required: false, schema: { type: "string", pattern: "^[0-9a-f]{64}$" } },
          { name: "hardwareType", in: "query", required: false, schema: { type: "string" } },
        ],
        requestBody: {
          required: true,
          content: {
            "application/octet-stream": { schema: { type: "string", format: "binary" } },
            "multipart/form-data": {
              schema: {
                type: "object", required: ["file"],
                description: "Fields before the file part override the query parameters of the same name.",
                properties: { filename: { type: "string" }, sha256: { type: "string" }, hardwareType: { type: "string" }, file: { type: "string", format: "binary" } },
              },
            },
          },
        },
        responses: { 201: json(ref("Artifact"), "Created"), ...errors },
      },
      get: {
        summary: "Every artifact (newest first, at most 1000) with its signatures and release",
        parameters: [
          { name: "releaseId", in: "query", schema: { type: "string", format: "uuid" } },
          { name: "unbound", in: "query", description: "Only artifacts no release holds", schema: { type: "string", enum: ["true", "false"] } },
        ],
        responses: { 200: json({ type: "array", items: ref("Artifact") }), 400: error },
      },
    },
    "/api/v1/artifacts/{id}": {
      get: { summary: "An artifact with its signatures", parameters: [idParam("id", "Artifact id")], responses: { 200: json(ref("Artifact")), ...errors } },
      delete: { summary: "Delete an artifact (file and signatures); refused while a release that is not deleted holds it", parameters: [idParam("id", "Artifact id")], responses: { 204: { description: "Deleted" }, ...errors } },
    },
    "/api/v1/artifacts/{id}/signatures": { post: { summary: "Sign the artifact's sha256 with the Vault transit key", parameters: [idParam("id", "Artifact id")], responses: { 201: json(ref("Signature"), "Created"), ...errors } } },
    "/api/v1/builds/swu": {
      post: {
        summary: "Build a signed SWUpdate .swu from uploaded images (CMS, raw RSA or RSA-PSS); stored as a new artifact with its signature",
        requestBody: { required: true, content: { "application/json": { schema: ref("BuildSwuInput") } } },
        responses: { 201: json(ref("Artifact"), "Created"), ...errors },
      },
    },
    "/api/v1/builds/rauc": {
      post: {
        summary: "Build a signed RAUC bundle (plain or verity) from uploaded images; stored as a new artifact with its signature",
        requestBody: { required: true, content: { "application/json": { schema: ref("BuildRaucInput") } } },
        responses: { 201: json(ref("Artifact"), "Created"), ...errors },
      },
    },
    "/api/v1/keyring": { get: { summary: "Public keys of every usable key version", responses: { 200: json({ type: "object", properties: { keyName: { type: "string" }, keys: { type: "array", items: { type: "object" } } } }), 502: error } } },
    "/api/v1/keyring/ca.pem": {
      get: { summary: "The CA bundle devices verify CMS signatures with (swupdate -k, RAUC keyring): trust anchors plus the key's intermediates", responses: { 200: text("application/x-pem-file", "PEM certificates"), 404: error, 502: error } },
    },
    "/api/v1/keyring/trust-anchors": {
      put: {
        summary: "Replace the root CA certificates devices trust (PEM, CA certificates only); 409 naming the releases and campaigns when a signature of a release still being deployed would no longer verify",
        requestBody: pemBody,
        responses: { 200: json({ type: "object", required: ["certificates"], properties: { certificates: { type: "integer", description: "Certificates stored" } } }), ...errors },
      },
    },
    "/api/v1/keyring/csr": {
      post: {
        summary: "A certificate signing request for the transit key's latest version, signed in Vault",
        requestBody: { required: true, content: { "application/json": { schema: { type: "object", required: ["subject"], properties: { subject: { type: "string", minLength: 1, maxLength: 256, example: "CN=Aerie release signing, O=Example" } } } } } },
        responses: { 200: text("application/pkcs10", "PEM certificate request"), ...errors },
      },
    },
    "/api/v1/keyring/certificate": {
      put: {
        summary: "Set the CA-signed certificate chain (PEM, leaf first) of the transit key's latest version; 409 naming the releases and campaigns when a signature of a release still being deployed would no longer verify",
        requestBody: pemBody,
        responses: { 200: json({ type: "object", required: ["keyVersion"], properties: { keyVersion: { type: "integer" } } }), ...errors },
      },
    },
    "/api/v1/releases": {
      post: {
        summary: "Create a release: software module with the artifacts and a distribution set in hawkBit (provisioned step by step, completed after a crash). With AERIE_REQUIRE_SIGNED (default) 400 names each artifact whose signature does not verify against the current key and chain",
        requestBody: { required: true, content: { "application/json": { schema: ref("ReleaseInput") } } },
        responses: { 201: json(ref("Release"), "Created"), ...errors },
      },
      get: { summary: "Every release", responses: { 200: json({ type: "array", items: ref("Release") }) } },
    },
    "/api/v1/releases/{id}": {
      get: { summary: "A release with its artifacts", parameters: [idParam("id", "Release id")], responses: { 200: json(ref("Release")), ...errors } },
      delete: {
        summary: "Delete a release no active campaign uses: its hawkBit distribution set and module go; one ended campaigns refer to stays as status deleted (as hawkBit keeps an assigned set), otherwise the row goes and its artifacts become free",
        parameters: [idParam("id", "Release id")],
        responses: { 200: json({ type: "object", properties: { id: { type: "string", format: "uuid" }, removed: { type: "boolean" }, status: { type: "string", enum: ["deleted", "removed"] } } }), ...errors },
      },
    },
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
    "/api/v1/campaigns/{id}/stop": campaignCommand("Stop (hawkBit rollout stop): devices not notified yet are dropped, every open update is cancelled and its device receives `cancel`"),
    "/api/v1/campaigns/{id}/devices/{controllerId}/cancel": {
      post: {
        summary: "Cancel one device's update in a started campaign (hawkBit soft cancel: the device receives `cancel`; its answer ends the update)",
        parameters: [idParam("id", "Campaign id"), { name: "controllerId", in: "path", required: true, description: "The device's controller id", schema: { type: "string" } }],
        responses: {
          200: json({
            type: "object", required: ["campaignId", "controllerId", "actionId", "status"],
            properties: { campaignId: { type: "string", format: "uuid" }, controllerId: { type: "string" }, actionId: { type: "integer" }, status: { type: "string", enum: ["canceling"] } },
          }),
          ...errors,
        },
      },
    },
    "/api/v1/campaigns/{id}/retry": campaignCommand("Roll out again to the devices that failed (hawkBit retry rollout)"),
    "/api/v1/campaigns/{id}/approve": campaignCommand("Approve a campaign waiting for approval"),
    "/api/v1/campaigns/{id}/deny": campaignCommand("Deny a campaign waiting for approval"),
    "/api/v1/devices": {
      get: {
        summary: "The device registry with presence and installed versions; filtered, searched and sorted, with counts by version and hardware over the filter",
        parameters: [
          { name: "search", in: "query", description: "Substring of the controller id, name or a secondary id (VIN, serial), case-insensitive", schema: { type: "string" } },
          { name: "online", in: "query", schema: { type: "string", enum: ["true", "false"] } },
          { name: "hardware", in: "query", schema: { type: "string" } },
          { name: "version", in: "query", description: "Running version", schema: { type: "string" } },
          { name: "attribute", in: "query", description: "key=value on a device attribute; repeatable (all must match)", style: "form", explode: true, schema: { type: "array", items: { type: "string" } } },
          { name: "sort", in: "query", schema: { type: "string", enum: ["controllerId", "lastSeenAt", "hardware", "createdAt", "version"] } },
          { name: "order", in: "query", schema: { type: "string", enum: ["asc", "desc"] } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500 } },
          { name: "offset", in: "query", schema: { type: "integer", minimum: 0 } },
        ],
        responses: {
          200: json({
            type: "object", required: ["total", "offset", "limit", "devices", "summary"],
            properties: {
              total: { type: "integer" }, offset: { type: "integer" }, limit: { type: "integer" }, devices: { type: "array", items: ref("Device") },
              summary: {
                type: "object", properties: {
                  total: { type: "integer" }, online: { type: "integer" }, offline: { type: "integer" },
                  byVersion: { type: "object", additionalProperties: { type: "integer" } }, byHardware: { type: "object", additionalProperties: { type: "integer" } },
                },
              },
            },
          }),
          400: error,
        },
      },
    },
    "/api/v1/devices/{controllerId}/telemetry": {
      get: {
        summary: "Numeric telemetry metrics in time buckets (avg, min, max, count), aggregated in PostgreSQL",
        parameters: [
          { name: "controllerId", in: "path", required: true, schema: { type: "string" } },
          { name: "from", in: "query", description: "RFC 3339 or epoch ms (default: an hour before to)", schema: { type: "string" } },
          { name: "to", in: "query", description: "RFC 3339 or epoch ms (default: now)", schema: { type: "string" } },
          { name: "step", in: "query", description: "Bucket width: seconds or 30s, 5m, 1h, 1d (default: range/200); at most 2000 buckets", schema: { type: "string" } },
        ],
        responses: {
          200: json({
            type: "object",
            properties: {
              controllerId: { type: "string" }, from: { type: "string", format: "date-time" }, to: { type: "string", format: "date-time" }, step: { type: "number" },
              series: { type: "object", additionalProperties: { type: "array", items: { type: "object", properties: { t: { type: "string", format: "date-time" }, avg: { type: "number" }, min: { type: "number" }, max: { type: "number" }, count: { type: "integer" } } } } },
            },
          }),
          ...errors,
        },
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
    "/api/v1/devices/{controllerId}/credentials": {
      post: {
        summary: "Issue the device's MQTT token, shown only in this answer; the broker then accepts the controller id (as username and client id) with it. A device with a live token: 409 credentials_exist unless rotate=true, which replaces it and closes the old token's connection",
        parameters: [
          { name: "controllerId", in: "path", required: true, schema: { type: "string" } },
          { name: "rotate", in: "query", required: false, schema: { type: "boolean", default: false }, description: "Replace a live token" },
        ],
        responses: {
          201: json({ type: "object", required: ["controllerId", "username", "token"], properties: { controllerId: { type: "string" }, username: { type: "string" }, token: { type: "string" } } }, "Created"),
          ...errors,
        },
      },
      delete: {
        summary: "Revoke the device's MQTT token and close its live connection",
        parameters: [{ name: "controllerId", in: "path", required: true, schema: { type: "string" } }],
        responses: { 204: { description: "Revoked" }, ...errors },
      },
    },
    "/api/v1/tokens": {
      post: {
        summary: "Create an API token; its secret (aerie_…) is in this answer only, Aerie keeps just its sha256",
        requestBody: { required: true, content: { "application/json": { schema: ref("TokenInput") } } },
        responses: { 201: json({ allOf: [ref("Token"), { type: "object", required: ["token"], properties: { token: { type: "string" } } }] }, "Created"), ...errors },
      },
      get: { summary: "Every API token (never the secrets)", responses: { 200: json({ type: "array", items: ref("Token") }) } },
    },
    "/api/v1/tokens/{id}": {
      delete: { summary: "Revoke an API token", parameters: [idParam("id", "Token id")], responses: { 204: { description: "Revoked" }, ...errors } },
    },
    "/api/v1/audit": {
      get: {
        summary: "The audit trail: who changed what (actors are token:<id> or oidc:<sub>), denied requests included; filtered, paged, exported as CSV or JSON",
        parameters: [
          { name: "actor", in: "query", schema: { type: "string" } },
          { name: "action", in: "query", description: "Exact, or a prefix ending in * (campaign.*)", schema: { type: "string" } },
          { name: "subject", in: "query", description: "e.g. campaign:<id>, device:<controllerId>", schema: { type: "string" } },
          { name: "from", in: "query", schema: { type: "string", format: "date-time" } },
          { name: "to", in: "query", schema: { type: "string", format: "date-time" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 10000, default: 100 } },
          { name: "offset", in: "query", schema: { type: "integer", minimum: 0, maximum: 100000000, default: 0 } },
          { name: "format", in: "query", description: "csv or json: the page as a download", schema: { type: "string", enum: ["csv", "json"] } },
        ],
        responses: {
          200: {
            description: "A page of events, oldest first",
            content: {
              "application/json": { schema: { type: "object", properties: { total: { type: "integer" }, offset: { type: "integer" }, limit: { type: "integer" }, events: { type: "array", items: ref("AuditEvent") } } } },
              "text/csv": { schema: { type: "string" } },
            },
          },
          ...errors,
        },
      },
    },
    "/api/v1/audit/campaigns/{id}": {
      get: {
        summary: "Compliance report of a campaign: who created, started and approved it, its trail, and which devices it reached with what result",
        parameters: [idParam("id", "Campaign id"), { name: "format", in: "query", description: "csv: the devices as a download; json: the report as a download", schema: { type: "string", enum: ["csv", "json"] } }],
        responses: {
          200: {
            description: "The report",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    campaign: { type: "object" }, summary: { type: "object", properties: { devices: { type: "integer" }, byStatus: { type: "object", additionalProperties: { type: "integer" } } } },
                    devices: { type: "array", items: { type: "object", properties: { controllerId: { type: "string" }, status: { type: "string" }, detail: { type: "string", nullable: true }, actionId: { type: "integer" }, attempts: { type: "integer" }, reachedAt: { type: "string", format: "date-time" }, updatedAt: { type: "string", format: "date-time" } } } },
                    trail: { type: "array", items: ref("AuditEvent") },
                  },
                },
              },
              "text/csv": { schema: { type: "string" } },
            },
          },
          ...errors,
        },
      },
    },
    "/api/v1/me": {
      get: {
        summary: "The authenticated caller: audit id, roles and permissions",
        responses: { 200: json({ type: "object", properties: { id: { type: "string" }, kind: { type: "string", enum: ["token", "oidc"] }, name: { type: "string" }, roles: { type: "array", items: { type: "string", enum: [...ROLES] } }, permissions: { type: "array", items: { type: "string" } }, expiresAt: { type: "string", format: "date-time", nullable: true } } }) },
      },
    },
    "/api/v1/devices/{controllerId}": {
      get: {
        summary: "A device with presence, installed versions, its latest actions (each with every feedback message) and health reports",
        parameters: [{ name: "controllerId", in: "path", required: true, schema: { type: "string" } }],
        responses: { 200: json({ allOf: [ref("Device"), { type: "object", properties: { actions: { type: "array", items: { type: "object" } }, healthReports: { type: "array", items: { type: "object" } } } }] }), ...errors },
      },
      delete: {
        summary: "Delete (decommission) a device: it leaves hawkBit, the registry with its action history, and the broker (credentials revoked, connection closed). 409 while it has an action that is not over. Its telemetry stays until retention",
        parameters: [{ name: "controllerId", in: "path", required: true, schema: { type: "string" } }],
        responses: { 204: { description: "Deleted" }, ...errors },
      },
    },
    "/api/v1/events": {
      get: {
        summary: "Live events as Server-Sent Events: campaign status (campaign), campaign counts by device status (campaign.progress), device action status (action), device presence (presence), webhook delivery attempts (webhook.delivery); only the types the caller's role may see",
        description: `Each event is \`event: <type>\` with one JSON \`data:\` line (fields as in LiveEvent). The stream starts with \`event: ready\` naming the types it carries, and sends a comment every 15 s. Reconnect after \`retry\` ms; events are not replayed. Each type needs a permission (${EVENT_TYPES.map((t) => `${t}: \`${EVENT_PERMISSIONS[t]}\``).join(", ")}): without \`types\` the stream carries those the caller's roles hold; naming one they do not hold in \`types\` is a 403 naming it.`,
        parameters: [
          { name: "types", in: "query", description: `Comma-separated subset of ${EVENT_TYPES.join(", ")} (default: every type the caller may see; a type the caller may not see is a 403)`, schema: { type: "string" } },
          { name: "campaignId", in: "query", description: "Only events of this campaign", schema: { type: "string", format: "uuid" } },
        ],
        responses: { 200: { description: "An endless text/event-stream", content: { "text/event-stream": { schema: ref("LiveEvent") } } }, 400: error, 403: { ...error, description: "A type in `types` needs a permission the caller's roles lack (details.types, details.permissions)" } },
      },
    },
    "/api/v1/campaigns/preview": {
      post: {
        summary: "Dry run of a campaign (same body as creating one, name optional): the devices it would select, those left out with the reason, and the group sizes. Nothing is created.",
        requestBody: { required: true, content: { "application/json": { schema: { type: "object", description: "CampaignInput; name may be left out" } } } },
        responses: {
          200: json({
            type: "object",
            properties: {
              release: { type: "object" }, targetFilter: { type: "string" }, warnings: { type: "array", items: { type: "string" } },
              selected: { type: "object", properties: { total: { type: "integer" }, devices: { type: "array", items: { type: "object", properties: { controllerId: { type: "string" }, name: { type: "string", nullable: true } } } } } },
              excluded: { type: "object", properties: { total: { type: "integer" }, devices: { type: "array", items: { type: "object", properties: { controllerId: { type: "string" }, reason: { type: "string" } } } } } },
              groups: { type: "array", items: { type: "object", properties: { name: { type: "string" }, percentage: { type: "number" }, devices: { type: "integer", nullable: true } } } },
            },
          }),
          ...errors,
        },
      },
    },
    "/api/v1/releases/{id}/devices": {
      get: {
        summary: "Devices that installed the release (latest successful action in one of its campaigns)",
        parameters: [idParam("id", "Release id")],
        responses: { 200: json({ type: "array", items: { type: "object", properties: { controllerId: { type: "string" }, campaign: { type: "string" }, installedAt: { type: "string", format: "date-time" } } } }), ...errors },
      },
    },
  },
  components: {
    schemas: {
      ReleaseInput: toOpenApi30(releaseInputSchema),
      Release: {
        type: "object",
        properties: {
          id: { type: "string", format: "uuid" }, name: { type: "string" }, version: { type: "string" }, description: { type: "string", nullable: true },
          status: { type: "string", enum: ["provisioning", "ready", "failed", "deleted"] }, statusReason: { type: "string", nullable: true },
          hawkbitSoftwareModuleId: { type: "integer", nullable: true }, hawkbitDistributionSetId: { type: "integer", nullable: true },
          hardwareTypes: { type: "array", nullable: true, items: { type: "string" }, description: "Hardware types it has archives for; null: an archive fits every hardware." },
          upgradableFrom: { type: "array", items: { type: "string" }, description: "Installed versions it updates from; empty: any." },
          versionComponent: { type: "string", description: "The device attribute version.<versionComponent> upgradableFrom is matched against." },
          createdAt: { type: "string", format: "date-time" },
          artifacts: { type: "array", items: ref("Artifact") },
        },
      },
      Artifact: {
        type: "object",
        properties: {
          id: { type: "string", format: "uuid" }, releaseId: { type: "string", format: "uuid", nullable: true }, filename: { type: "string" },
          contentType: { type: "string" }, hardwareType: { type: "string", nullable: true }, s3Key: { type: "string" }, size: { type: "integer" },
          sha256: { type: "string" }, hawkbitArtifactId: { type: "integer", nullable: true }, createdAt: { type: "string", format: "date-time" },
          signatures: { type: "array", items: ref("Signature") },
        },
      },
      Signature: {
        type: "object",
        properties: {
          id: { type: "string", format: "uuid" }, artifactId: { type: "string", format: "uuid" }, format: { type: "string", description: "raw, swu-cms, swu-raw-rsa, swu-rsa-pss, rauc-plain, rauc-verity" },
          keyName: { type: "string" }, keyVersion: { type: "integer" }, algorithm: { type: "string" }, digest: { type: "string" }, value: { type: "string" },
          certificate: { type: "string", nullable: true }, createdAt: { type: "string", format: "date-time" },
        },
      },
      LiveEvent: {
        type: "object", required: ["type"],
        properties: {
          type: { type: "string", enum: [...EVENT_TYPES] },
          campaignId: { type: "string", format: "uuid", nullable: true }, controllerId: { type: "string" },
          name: { type: "string", description: "campaign" }, status: { type: "string", description: "campaign, action; webhook.delivery: delivered, retrying or failed" }, pausedBy: { type: "string", nullable: true }, statusReason: { type: "string", nullable: true },
          actionId: { type: "integer", description: "action: hawkBit action id" }, detail: { type: "string", nullable: true },
          online: { type: "boolean", description: "presence" },
          devices: { type: "integer", description: "campaign.progress" }, byStatus: { type: "object", additionalProperties: { type: "integer" }, description: "campaign.progress" },
          deliveryId: { type: "string", description: "webhook.delivery" }, webhookId: { type: "string", format: "uuid", description: "webhook.delivery: the subscription" },
          event: { type: "string", description: "webhook.delivery: the webhook event sent" }, target: { type: "string", description: "webhook.delivery: the target's origin (never its path or query)" },
          attempts: { type: "integer", description: "webhook.delivery" }, httpStatus: { type: "integer", nullable: true, description: "webhook.delivery: the receiver's answer" },
          error: { type: "string", nullable: true, description: "webhook.delivery" },
          at: { type: "string", format: "date-time" },
        },
      },
      Device: {
        type: "object",
        properties: {
          id: { type: "string", format: "uuid" }, controllerId: { type: "string" }, name: { type: "string", nullable: true }, hardware: { type: "string", nullable: true },
          updateClient: { type: "string", nullable: true }, attributes: { type: "object" }, identifiers: { type: "object", additionalProperties: { type: "string" }, description: "Secondary ids by kind (vin, serial)" },
          online: { type: "boolean" }, lastSeenAt: { type: "string", format: "date-time", nullable: true, description: "Moved by any message the device sends (written at most every few seconds)" },
          createdAt: { type: "string", format: "date-time" }, runningVersion: { type: "string", nullable: true },
          versions: { type: "object", additionalProperties: { type: "string" }, description: "Installed version per component, following the health reports" },
        },
      },
      BuildSwuInput: toOpenApi30(buildSwuSchema),
      BuildRaucInput: toOpenApi30(buildRaucSchema),
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
      TokenInput: toOpenApi30(tokenInputSchema),
      AuditEvent: {
        type: "object",
        properties: { id: { type: "integer" }, at: { type: "string", format: "date-time" }, actor: { type: "string" }, action: { type: "string" }, subject: { type: "string" }, details: { type: "object" } },
      },
      Token: {
        type: "object",
        properties: {
          id: { type: "string", format: "uuid" }, name: { type: "string" }, role: { type: "string", enum: [...ROLES] }, createdBy: { type: "string" },
          createdAt: { type: "string", format: "date-time" }, expiresAt: { type: "string", format: "date-time", nullable: true },
          lastUsedAt: { type: "string", format: "date-time", nullable: true }, revokedAt: { type: "string", format: "date-time", nullable: true },
        },
      },
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
          createdAt: { type: "string", format: "date-time" },
          startedAt: { type: "string", format: "date-time", nullable: true, description: "When Aerie first saw hawkBit run the rollout" },
          finishedAt: { type: "string", format: "date-time", nullable: true },
          rollout: { type: "object", description: "hawkBit's view: status and target counts by status" },
          progress: {
            type: "object",
            properties: {
              devices: { type: "integer" },
              byStatus: { type: "object", additionalProperties: { type: "integer" } },
              timedOut: { type: "integer", description: "Devices failed by the stuck timeout" },
              excluded: { type: "integer", description: "Selected devices the release does not fit (hardware type, installed version)" },
              groups: { type: "array", items: { type: "object", properties: { id: { type: "integer" }, name: { type: "string" }, status: { type: "string" }, totalTargets: { type: "integer" }, byStatus: { type: "object", additionalProperties: { type: "integer" } } } } },
            },
          },
          devices: { type: "array", items: { type: "object", properties: { controllerId: { type: "string" }, group: { type: "string", nullable: true }, actionId: { type: "integer" }, status: { type: "string" }, detail: { type: "string", nullable: true } } } },
          excluded: { type: "array", description: "The first selected devices (up to 100 per reason) the release does not fit", items: { type: "object", properties: { controllerId: { type: "string" }, reason: { type: "string" } } } },
        },
      },
    },
  },
} as const;

/**
 * The permission each operation needs (api/auth/permissions.ts), null for the open ones. The routes declare the
 * same with allow(); test/api/authorization.test.ts walks every operation to prove they agree.
 */
export const OPERATION_PERMISSIONS: Record<string, Permission | null> = {
  "GET /healthz": null,
  "GET /readyz": null,
  "GET /metrics": "read",
  "GET /openapi.json": "read",
  "POST /api/v1/artifacts": "releases:manage",
  "GET /api/v1/artifacts": "read",
  "GET /api/v1/artifacts/{id}": "read",
  "DELETE /api/v1/artifacts/{id}": "releases:manage",
  "POST /api/v1/artifacts/{id}/signatures": "releases:manage",
  "POST /api/v1/builds/swu": "releases:manage",
  "POST /api/v1/builds/rauc": "releases:manage",
  "GET /api/v1/keyring": "read",
  "GET /api/v1/keyring/ca.pem": "read",
  "PUT /api/v1/keyring/trust-anchors": "keyring:manage",
  "POST /api/v1/keyring/csr": "keyring:manage",
  "PUT /api/v1/keyring/certificate": "keyring:manage",
  "POST /api/v1/releases": "releases:manage",
  "GET /api/v1/releases": "read",
  "GET /api/v1/releases/{id}": "read",
  "DELETE /api/v1/releases/{id}": "releases:manage",
  "GET /api/v1/releases/{id}/devices": "read",
  "POST /api/v1/campaigns": "campaigns:operate",
  "GET /api/v1/campaigns": "read",
  "GET /api/v1/campaigns/{id}": "read",
  "POST /api/v1/campaigns/preview": "read",
  "POST /api/v1/campaigns/{id}/start": "campaigns:operate",
  "POST /api/v1/campaigns/{id}/pause": "campaigns:operate",
  "POST /api/v1/campaigns/{id}/resume": "campaigns:operate",
  "POST /api/v1/campaigns/{id}/stop": "campaigns:operate",
  "POST /api/v1/campaigns/{id}/retry": "campaigns:operate",
  "POST /api/v1/campaigns/{id}/devices/{controllerId}/cancel": "campaigns:operate",
  "POST /api/v1/campaigns/{id}/approve": "campaigns:approve",
  "POST /api/v1/campaigns/{id}/deny": "campaigns:approve",
  "GET /api/v1/devices": "read",
  "GET /api/v1/devices/{controllerId}": "read",
  "DELETE /api/v1/devices/{controllerId}": "devices:delete",
  "GET /api/v1/devices/{controllerId}/telemetry": "read",
  "GET /api/v1/events": "read",
  "POST /api/v1/device-groups": "campaigns:operate",
  "GET /api/v1/device-groups": "read",
  "GET /api/v1/device-groups/{name}": "read",
  "POST /api/v1/webhooks": "webhooks:manage",
  "GET /api/v1/webhooks": "webhooks:manage",
  "GET /api/v1/webhooks/{id}": "webhooks:manage",
  "DELETE /api/v1/webhooks/{id}": "webhooks:manage",
  "POST /api/v1/devices/{controllerId}/credentials": "devices:credentials",
  "DELETE /api/v1/devices/{controllerId}/credentials": "devices:credentials",
  "POST /api/v1/tokens": "tokens:manage",
  "GET /api/v1/tokens": "tokens:manage",
  "DELETE /api/v1/tokens/{id}": "tokens:manage",
  "GET /api/v1/me": "read",
  "GET /api/v1/audit": "audit:read",
  "GET /api/v1/audit/campaigns/{id}": "audit:read",
};

const BEARER = [{ bearer: [] }];

/** Each operation gets its security requirement, x-aerie-permission and the 401/403 answers; an undeclared one stops the import. */
function secured<T extends { paths: object; components: object }>(doc: T): T {
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const [method, operation] of Object.entries(item)) {
      const key = `${method.toUpperCase()} ${path}`;
      if (!(key in OPERATION_PERMISSIONS)) throw new Error(`api/openapi.ts: ${key} declares no permission in OPERATION_PERMISSIONS`);
      const permission = OPERATION_PERMISSIONS[key];
      operation.security = permission ? BEARER : [];
      operation["x-aerie-permission"] = permission;
      if (permission) {
        operation.description = `${operation.description ? `${operation.description as string} ` : ""}Needs permission \`${permission}\`.`;
        // An operation's own 403 (what else refuses it) is kept.
        operation.responses = { 401: error, 403: error, ...(operation.responses as object) };
      }
    }
  }
  Object.assign(doc.components, {
    securitySchemes: {
      bearer: {
        type: "http", scheme: "bearer",
        description: "An Aerie API token (aerie_…, from POST /api/v1/tokens or `aerie tokens create`) or an OIDC access token (JWT) of AERIE_OIDC_ISSUER with AERIE_OIDC_AUDIENCE; roles from AERIE_OIDC_ROLES_CLAIM.",
      },
    },
  });
  return doc;
}

export const openApiDocument = secured(document);

/** The document as served: with OIDC configured, the issuer's discovery URL as an openIdConnect scheme too. */
export function servedOpenApiDocument(oidcIssuer?: string): unknown {
  if (!oidcIssuer) return openApiDocument;
  const copy = JSON.parse(JSON.stringify(openApiDocument)) as { components: { securitySchemes: Record<string, unknown> }; paths: Record<string, Record<string, { security?: unknown[] }>> };
  copy.components.securitySchemes.oidc = { type: "openIdConnect", openIdConnectUrl: `${oidcIssuer.replace(/\/+$/, "")}/.well-known/openid-configuration` };
  for (const item of Object.values(copy.paths)) for (const op of Object.values(item)) if (op.security?.length) op.security = [{ bearer: [] }, { oidc: [] }];
  return copy;
}
