// JSON Schemas of the v1 device protocol, and the TypeScript shapes they guarantee. This file is the
// single source: `bridge/protocol/schemas/*.json` are generated from it (npx tsx bridge/protocol/write-schemas.ts,
// checked by test/bridge/protocol.test.ts), so device authors never need to read TypeScript.
// Every upstream payload is validated before any use; anything that fails goes to the dead-letter table.
// Downstream payloads are validated too (in tests), so the published contract and the code cannot drift.
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { SIGNATURE_COVERS, SIGNATURE_FORMATS, type PresentedSignature } from "../../signing/formats.js";
import { SIGNATURE_ALGORITHMS } from "../../signing/verify.js";

export const SCHEMA_BASE = "https://aerie.dev/schemas/v1/";
const controllerIdPattern = "^[A-Za-z0-9._:-]{1,64}$";
const messageId = { type: "string", minLength: 1, maxLength: 128, description: "Unique per device; a repeated id is processed once (at-least-once delivery is de-duplicated with it)." } as const;
const actionId = { type: "integer", minimum: 1, description: "hawkBit action id, from the deployment notice." } as const;
const details = { type: "array", maxItems: 20, items: { type: "string", maxLength: 1024 } } as const;
const correlationId = { type: "string", minLength: 1, maxLength: 128, description: "Chosen by the device; copied into the response." } as const;

// ---- device → Aerie ----

export const helloSchema = {
  $id: `${SCHEMA_BASE}hello.json`,
  title: "hello: registration, sent after every (re)connect",
  type: "object",
  required: ["updateClient"],
  additionalProperties: false,
  properties: {
    messageId,
    hardware: { type: "string", maxLength: 128 },
    updateClient: { enum: ["swupdate", "rauc"] },
    compatible: { type: "string", maxLength: 256, description: "SWUpdate hardware compatibility / RAUC compatible string." },
    versions: { type: "object", additionalProperties: { type: "string", maxLength: 128 }, maxProperties: 32, description: "Installed version by component, e.g. {rootfs: '1.0.0'}." },
    slots: {
      type: "array",
      maxItems: 8,
      items: {
        type: "object",
        required: ["name"],
        additionalProperties: false,
        properties: { name: { type: "string", maxLength: 64 }, bootname: { type: "string", maxLength: 64 }, state: { enum: ["booted", "active", "inactive"] }, version: { type: "string", maxLength: 128 } },
      },
    },
    secondaryIds: { type: "object", additionalProperties: { type: "string", maxLength: 128 }, maxProperties: 8, description: "Other identities (serial, VIN); each unique fleet-wide per kind." },
    attributes: { type: "object", additionalProperties: { type: "string", maxLength: 256 }, maxProperties: 64 },
  },
} as const;

export const availabilitySchema = {
  $id: `${SCHEMA_BASE}availability.json`,
  title: "availability: retained; set {state: offline} as the MQTT last will",
  type: "object",
  required: ["state"],
  additionalProperties: false,
  properties: { state: { enum: ["online", "offline"] } },
} as const;

export const telemetrySchema = {
  $id: `${SCHEMA_BASE}telemetry.json`,
  title: "telemetry: measurements, stored once per messageId",
  type: "object",
  required: ["messageId", "ts", "metrics"],
  additionalProperties: false,
  properties: {
    messageId,
    ts: { type: "string", format: "date-time", description: "When the device measured (RFC 3339)." },
    metrics: { type: "object", maxProperties: 64, additionalProperties: { type: ["number", "string", "boolean"], maxLength: 1024 } },
  },
} as const;

export const FEEDBACK_STATUSES = ["downloading", "downloaded", "installing", "rebooting", "success", "failure", "rejected", "canceled", "cancel-rejected"] as const;

/** The device's report counter, shared by feedback and consent (optional: without it, arrival order). */
const seq = {
  type: "integer",
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description:
    "The device's report counter: one more for every feedback and consent message it sends, across actions and restarts (kept on disk). With several bridge instances a device's reports can be stored out of order; the bridge applies and relays them in seq order. Optional: without it, arrival order.",
} as const;

export const feedbackSchema = {
  $id: `${SCHEMA_BASE}feedback.json`,
  title: "feedback: progress and result of a deployment, or the answer to a cancel",
  type: "object",
  required: ["messageId", "actionId", "status"],
  additionalProperties: false,
  properties: {
    messageId,
    actionId,
    status: { enum: FEEDBACK_STATUSES, description: "canceled / cancel-rejected answer a `cancel` notice; the others report the deployment." },
    progress: { type: "integer", minimum: 0, maximum: 100, description: "Percent, with status downloading." },
    details,
    code: { type: "integer", description: "Device-specific result code, relayed to hawkBit." },
    seq,
  },
} as const;

export const CONSENT_DECISIONS = ["accept", "defer", "reject"] as const;

export const consentSchema = {
  $id: `${SCHEMA_BASE}consent.json`,
  title: "consent: the device's (or its user's) answer to a deployment with consentRequired",
  type: "object",
  required: ["messageId", "actionId", "decision"],
  additionalProperties: false,
  properties: {
    messageId,
    actionId,
    decision: { enum: CONSENT_DECISIONS, description: "accept: install now. defer: ask again later (the action stays waiting). reject: refuse this action." },
    deferUntil: { type: "string", format: "date-time" },
    details,
    code: { type: "integer" },
    seq,
  },
} as const;

export const healthSchema = {
  $id: `${SCHEMA_BASE}health.json`,
  title: "health: what runs after the reboot into the updated slot",
  type: "object",
  required: ["messageId", "bootedSlot", "runningVersion", "healthy"],
  additionalProperties: false,
  properties: {
    messageId,
    actionId,
    bootedSlot: { type: "string", maxLength: 64 },
    runningVersion: { type: "string", maxLength: 128 },
    healthy: { type: "boolean" },
    checks: { type: "object", additionalProperties: { type: "boolean" }, maxProperties: 32 },
  },
} as const;

export const REQUEST_NAMES = ["ping", "deployment", "device"] as const;

export const requestSchema = {
  $id: `${SCHEMA_BASE}request.json`,
  title: "request/{name}: a device-initiated query; answered on response/{name}",
  type: "object",
  required: ["correlationId"],
  additionalProperties: false,
  properties: {
    correlationId,
    params: { type: "object", maxProperties: 16, description: "Request-specific; none of the v1 requests takes any." },
  },
} as const;

// ---- Aerie → device ----

const offerSchema = {
  type: "object",
  required: ["url", "scheme", "metric"],
  additionalProperties: false,
  properties: {
    url: { type: "string", format: "uri" },
    scheme: { enum: ["s3-presigned", "hawkbit-ddi"], description: "s3-presigned: plain GET, no credentials. hawkbit-ddi: needs hawkBit target/gateway authentication." },
    metric: { type: "integer", minimum: 0, description: "Lower is preferred." },
    expiresAt: { type: "string", format: "date-time" },
  },
} as const;

export const deploymentSchema = {
  $id: `${SCHEMA_BASE}deployment.json`,
  title: "deployment: what to install; retained, QoS 1, until the action ends or is superseded",
  type: "object",
  required: ["actionId", "type", "release", "artifacts", "consentRequired", "issuedAt"],
  additionalProperties: false,
  properties: {
    actionId,
    type: { enum: ["soft", "forced", "downloadonly"] },
    release: { type: "object", required: ["name", "version"], additionalProperties: false, properties: { name: { type: "string" }, version: { type: "string" } } },
    artifacts: {
      type: "array",
      items: {
        type: "object",
        required: ["filename", "size", "hashes", "signature", "offers"],
        additionalProperties: false,
        properties: {
          filename: { type: "string" },
          size: { type: "integer", minimum: 0 },
          hashes: { type: "object", required: ["sha256"], additionalProperties: false, properties: { sha256: { type: "string", pattern: "^[0-9a-f]{64}$" }, sha1: { type: "string" }, md5: { type: "string" } } },
          signature: {
            type: "object",
            required: ["format", "covers", "algorithm", "keyName", "keyVersion", "value"],
            additionalProperties: false,
            description: "Required: devices install signed artifacts only. Made by Aerie's Vault transit key; check it before installing.",
            properties: {
              format: { enum: [...SIGNATURE_FORMATS], description: "cms: DER CMS SignedData, check against the CA bundle (GET /api/v1/keyring/ca.pem). raw-rsa (PKCS#1 v1.5), rsa-pss, ecdsa (DER): a bare signature over a sha256 digest, check with the public key of keyVersion (GET /api/v1/keyring)." },
              covers: { enum: [...SIGNATURE_COVERS], description: "artifact: the sha256 of the whole artifact. sw-description: the .swu's sw-description (value = its sw-description.sig; the images are covered by their sha256 inside it). rauc-bundle: the bundle's own CMS (value = a copy of it)." },
              algorithm: { enum: [...SIGNATURE_ALGORITHMS], description: "Algorithm of the signing key." },
              keyName: { type: "string", minLength: 1 },
              keyVersion: { type: "integer", minimum: 1 },
              value: { type: "string", minLength: 1, pattern: "^[A-Za-z0-9+/]+={0,2}$", description: "base64" },
            },
          },
          offers: { type: "array", items: offerSchema, description: "Ranked download offers; try them in metric order." },
        },
      },
    },
    maintenanceWindow: { type: "object", required: ["available"], additionalProperties: false, properties: { available: { type: "boolean", description: "false: download now, install only once a later notice says true." } } },
    consentRequired: { type: "boolean", description: "true: publish `consent` before downloading; a new notice with false follows an accept." },
    issuedAt: { type: "string", format: "date-time" },
  },
} as const;

export const cancelSchema = {
  $id: `${SCHEMA_BASE}cancel.json`,
  title: "cancel: stop an action; retained, QoS 1; answer with feedback canceled or cancel-rejected",
  type: "object",
  required: ["actionId", "issuedAt"],
  additionalProperties: false,
  properties: { actionId, issuedAt: { type: "string", format: "date-time" } },
} as const;

export const responseSchema = {
  $id: `${SCHEMA_BASE}response.json`,
  title: "response/{name}: the answer to request/{name}, QoS 1, not retained",
  type: "object",
  required: ["correlationId", "ok"],
  additionalProperties: false,
  properties: {
    correlationId,
    ok: { type: "boolean" },
    result: { description: "ping: {serverTime}. deployment: the open deployment notice or null. device: {deviceId, controllerId, secondaryIds}." },
    error: { type: "object", required: ["code", "message"], additionalProperties: false, properties: { code: { type: "string" }, message: { type: "string" } } },
  },
} as const;

export const SCHEMAS = {
  hello: helloSchema,
  availability: availabilitySchema,
  telemetry: telemetrySchema,
  feedback: feedbackSchema,
  consent: consentSchema,
  health: healthSchema,
  request: requestSchema,
  deployment: deploymentSchema,
  cancel: cancelSchema,
  response: responseSchema,
} as const;

export interface Hello {
  messageId?: string;
  hardware?: string;
  updateClient: "swupdate" | "rauc";
  compatible?: string;
  versions?: Record<string, string>;
  slots?: { name: string; bootname?: string; state?: "booted" | "active" | "inactive"; version?: string }[];
  secondaryIds?: Record<string, string>;
  attributes?: Record<string, string>;
}
export interface Availability {
  state: "online" | "offline";
}
export interface Telemetry {
  messageId: string;
  ts: string;
  metrics: Record<string, number | string | boolean>;
}
export type FeedbackStatus = (typeof FEEDBACK_STATUSES)[number];
export interface Feedback {
  messageId: string;
  actionId: number;
  status: FeedbackStatus;
  progress?: number;
  details?: string[];
  code?: number;
  /** The device's report counter (feedback and consent); see feedback.json. */
  seq?: number;
}
export type ConsentDecision = (typeof CONSENT_DECISIONS)[number];
export interface Consent {
  messageId: string;
  actionId: number;
  decision: ConsentDecision;
  /** The device's report counter (feedback and consent); see consent.json. */
  seq?: number;
  deferUntil?: string;
  details?: string[];
  code?: number;
}
export interface Health {
  messageId: string;
  actionId?: number;
  bootedSlot: string;
  runningVersion: string;
  healthy: boolean;
  checks?: Record<string, boolean>;
}
export type RequestName = (typeof REQUEST_NAMES)[number];
export interface DeviceRequest {
  correlationId: string;
  params?: Record<string, unknown>;
}
export interface DeviceResponse {
  correlationId: string;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

export interface DownloadOffer {
  url: string;
  scheme: "s3-presigned" | "hawkbit-ddi";
  /** Lower is preferred. */
  metric: number;
  expiresAt?: string;
}
export interface DeploymentArtifact {
  filename: string;
  size: number;
  hashes: { sha256: string; md5?: string; sha1?: string };
  signature: PresentedSignature;
  offers: DownloadOffer[];
}
export interface Deployment {
  actionId: number;
  type: "soft" | "forced" | "downloadonly";
  release: { name: string; version: string };
  artifacts: DeploymentArtifact[];
  maintenanceWindow?: { available: boolean };
  consentRequired: boolean;
  issuedAt: string;
}
export interface Cancel {
  actionId: number;
  issuedAt: string;
}

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
addFormats.default(ajv);

export const validators = {
  hello: ajv.compile<Hello>(helloSchema),
  availability: ajv.compile<Availability>(availabilitySchema),
  telemetry: ajv.compile<Telemetry>(telemetrySchema),
  feedback: ajv.compile<Feedback>(feedbackSchema),
  consent: ajv.compile<Consent>(consentSchema),
  health: ajv.compile<Health>(healthSchema),
  request: ajv.compile<DeviceRequest>(requestSchema),
} satisfies Record<string, ValidateFunction>;

/** Downstream payloads, for tests and for device authors' own checks. */
export const downstreamValidators = {
  deployment: ajv.compile<Deployment>(deploymentSchema),
  cancel: ajv.compile<Cancel>(cancelSchema),
  response: ajv.compile<DeviceResponse>(responseSchema),
};

export const CONTROLLER_ID = new RegExp(controllerIdPattern);

export function describeErrors(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ") || "invalid";
}
