// JSON Schemas of the v1 device protocol, and the TypeScript shapes they guarantee. Every upstream
// payload is validated before any use; anything that fails goes to the dead-letter table.
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";

const controllerIdPattern = "^[A-Za-z0-9._:-]{1,64}$";
const messageId = { type: "string", minLength: 1, maxLength: 128 } as const;

export const helloSchema = {
  $id: "aerie/v1/hello",
  type: "object",
  required: ["updateClient"],
  additionalProperties: false,
  properties: {
    messageId,
    hardware: { type: "string", maxLength: 128 },
    updateClient: { enum: ["swupdate", "rauc"] },
    compatible: { type: "string", maxLength: 256 },
    versions: { type: "object", additionalProperties: { type: "string", maxLength: 128 }, maxProperties: 32 },
    slots: {
      type: "array",
      maxItems: 8,
      items: {
        type: "object",
        required: ["name"],
        additionalProperties: false,
        properties: { name: { type: "string" }, bootname: { type: "string" }, state: { enum: ["booted", "active", "inactive"] }, version: { type: "string" } },
      },
    },
    secondaryIds: { type: "object", additionalProperties: { type: "string", maxLength: 128 }, maxProperties: 8 },
    attributes: { type: "object", additionalProperties: { type: "string", maxLength: 256 }, maxProperties: 64 },
  },
} as const;

export const availabilitySchema = {
  $id: "aerie/v1/availability",
  type: "object",
  required: ["state"],
  additionalProperties: false,
  properties: { state: { enum: ["online", "offline"] } },
} as const;

export const telemetrySchema = {
  $id: "aerie/v1/telemetry",
  type: "object",
  required: ["messageId", "ts", "metrics"],
  additionalProperties: false,
  properties: {
    messageId,
    ts: { type: "string", format: "date-time" },
    metrics: { type: "object", maxProperties: 64, additionalProperties: { type: ["number", "string", "boolean"] } },
  },
} as const;

export const FEEDBACK_STATUSES = ["downloading", "downloaded", "installing", "rebooting", "success", "failure", "rejected"] as const;

export const feedbackSchema = {
  $id: "aerie/v1/feedback",
  type: "object",
  required: ["messageId", "actionId", "status"],
  additionalProperties: false,
  properties: {
    messageId,
    actionId: { type: "integer", minimum: 1 },
    status: { enum: FEEDBACK_STATUSES },
    progress: { type: "integer", minimum: 0, maximum: 100 },
    details: { type: "array", maxItems: 20, items: { type: "string", maxLength: 1024 } },
    code: { type: "integer" },
  },
} as const;

export const healthSchema = {
  $id: "aerie/v1/health",
  type: "object",
  required: ["messageId", "bootedSlot", "runningVersion", "healthy"],
  additionalProperties: false,
  properties: {
    messageId,
    actionId: { type: "integer", minimum: 1 },
    bootedSlot: { type: "string", maxLength: 64 },
    runningVersion: { type: "string", maxLength: 128 },
    healthy: { type: "boolean" },
    checks: { type: "object", additionalProperties: { type: "boolean" }, maxProperties: 32 },
  },
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
}
export interface Health {
  messageId: string;
  actionId?: number;
  bootedSlot: string;
  runningVersion: string;
  healthy: boolean;
  checks?: Record<string, boolean>;
}

/** Cloud → device. Built by the bridge, documented here so device authors have one place to read. */
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
  signature?: { format: "raw"; algorithm: string; keyName: string; keyVersion: number; value: string };
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

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
addFormats.default(ajv);

export const validators = {
  hello: ajv.compile<Hello>(helloSchema),
  availability: ajv.compile<Availability>(availabilitySchema),
  telemetry: ajv.compile<Telemetry>(telemetrySchema),
  feedback: ajv.compile<Feedback>(feedbackSchema),
  health: ajv.compile<Health>(healthSchema),
} satisfies Record<string, ValidateFunction>;

export const CONTROLLER_ID = new RegExp(controllerIdPattern);

export function describeErrors(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ") || "invalid";
}
