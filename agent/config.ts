// aerie-agent configuration: one JSON file (agent/config.example.json documents every field). It is
// validated whole at start-up, so a typo stops the agent with the field named instead of surfacing
// mid-update. The token may live in its own file (provisioning writes it with mode 0600).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Ajv } from "ajv";

export type UpdateClient = "swupdate" | "rauc";

export interface CommandSpec {
  /** argv; no shell unless the operator writes ["sh", "-c", "…"]. */
  command: string[];
  timeoutSeconds?: number;
}

export interface HealthCheckSpec extends CommandSpec {
  name: string;
}

export interface SlotSpec {
  /** Slot name as reported (RAUC: rootfs.0; SWUpdate: what the operator calls it). */
  name: string;
  /** Bootloader's name for it (A/B); what the bootloader environment and RAUC's backend use. */
  bootname: string;
  /** SWUpdate: the -e <set>,<mode> selection that writes this slot (sw-description collections). */
  selection?: string;
  /** Block device or file; also how the booted slot is recognised from the kernel command line. */
  device?: string;
}

export interface AgentConfig {
  controllerId: string;
  /** The provisioned device token (MQTT password); or tokenFile. */
  token?: string;
  tokenFile?: string;
  mqtt: { url: string; baseTopic: string; clientId?: string; keepaliveSeconds: number; ca?: string };
  updateClient: UpdateClient;
  hardware: string;
  compatible?: string;
  /** Sent with hello (campaign selections such as ring==canary match them). */
  attributes: Record<string, string>;
  secondaryIds: Record<string, string>;
  /** Where state.json lives (survives reboots; must be on persistent storage). */
  stateDir: string;
  /** Where downloads go (persistent, so a reboot resumes a download instead of restarting it). */
  downloadDir: string;
  keyring: {
    /** Public keys by key version for detached (raw-rsa, rsa-pss, ecdsa) signatures (GET /api/v1/keyring at provisioning time). */
    publicKeys: Record<string, string>;
    /** CA bundle (GET /api/v1/keyring/ca.pem): swupdate -k. RAUC uses its own system.conf keyring. */
    caFile?: string;
  };
  download: { schemes: string[]; retries: number; retryDelayMs: number; timeoutSeconds: number };
  telemetry: { intervalSeconds: number; collectors: string[]; diskPath: string; temperaturePath?: string };
  /** File with `component version` lines or a JSON object, read for hello when the tool says nothing. */
  versionsFile?: string;
  /** Kernel command line (booted slot detection for SWUpdate); tests point it at a file. */
  cmdlineFile: string;
  /** Changes on every boot: tells a reboot from a restart of the agent. */
  bootIdFile: string;
  swupdate: {
    binary: string;
    /** Extra arguments, e.g. ["-H", "board:1.0"], ["-f", "/etc/swupdate.cfg"]. */
    args: string[];
    slots: SlotSpec[];
    /** Reads one variable of the bootloader environment (fw_printenv -n NAME); NAME is appended. */
    getEnv: string[];
    /** Sets variables (fw_setenv -s FILE: "name value" lines); the file path is appended. */
    setEnv: string[];
    /** Variable the bootloader boots from (bootname of a slot). */
    slotVariable: string;
    /** Working directory of swupdate (relative `device` paths in sw-description resolve against it). */
    workingDirectory?: string;
  };
  rauc: { binary: string; dbusAddress?: string };
  /** After install; the agent expects to be started again in the new slot. */
  reboot: CommandSpec;
  health: { checks: HealthCheckSpec[]; delaySeconds: number };
  consent: {
    /** accept: install when told; defer: ask again after deferSeconds; reject; hook: ask the command (exit 0 accept, 10 defer, other reject). */
    policy: "accept" | "defer" | "reject" | "hook";
    hook?: CommandSpec;
    deferSeconds: number;
  };
  /** Device-side maintenance window(s), local time, e.g. [{"from":"02:00","to":"04:00"}]; empty = always. */
  maintenanceWindows: { from: string; to: string }[];
  /** How many times an install interrupted by a crash or power cut is started again before failing. */
  maxInstallAttempts: number;
  logLevel: "debug" | "info" | "warn" | "error";
}

const command = { type: "object", required: ["command"], additionalProperties: false, properties: { command: { type: "array", minItems: 1, items: { type: "string" } }, timeoutSeconds: { type: "number", exclusiveMinimum: 0 } } };
const time = { type: "string", pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$" };

const schema = {
  type: "object",
  required: ["controllerId", "mqtt", "updateClient", "hardware", "keyring"],
  additionalProperties: false,
  properties: {
    $comment: { type: "string" },
    controllerId: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,64}$" },
    token: { type: "string", minLength: 1 },
    tokenFile: { type: "string" },
    mqtt: {
      type: "object", required: ["url"], additionalProperties: false,
      properties: { url: { type: "string", pattern: "^(mqtts?|wss?|tcp|ssl)://" }, baseTopic: { type: "string", default: "aerie/v1" }, clientId: { type: "string" }, keepaliveSeconds: { type: "integer", minimum: 5, default: 30 }, ca: { type: "string" } },
    },
    updateClient: { enum: ["swupdate", "rauc"] },
    hardware: { type: "string", minLength: 1, maxLength: 128 },
    compatible: { type: "string", maxLength: 256 },
    attributes: { type: "object", default: {}, maxProperties: 64, additionalProperties: { type: "string", maxLength: 256 } },
    secondaryIds: { type: "object", default: {}, maxProperties: 8, additionalProperties: { type: "string", maxLength: 128 } },
    stateDir: { type: "string", default: "/var/lib/aerie-agent" },
    downloadDir: { type: "string" },
    keyring: {
      type: "object", additionalProperties: false,
      properties: { publicKeys: { type: "object", default: {}, propertyNames: { pattern: "^[0-9]+$" }, additionalProperties: { type: "string" } }, caFile: { type: "string" } },
    },
    download: {
      type: "object", additionalProperties: false, default: {},
      properties: { schemes: { type: "array", minItems: 1, items: { enum: ["s3-presigned"] }, default: ["s3-presigned"] }, retries: { type: "integer", minimum: 0, maximum: 100, default: 5 }, retryDelayMs: { type: "integer", minimum: 0, default: 2000 }, timeoutSeconds: { type: "number", exclusiveMinimum: 0, default: 60 } },
    },
    telemetry: {
      type: "object", additionalProperties: false, default: {},
      properties: {
        intervalSeconds: { type: "number", minimum: 0, default: 60 },
        collectors: { type: "array", items: { enum: ["uptime", "load", "memory", "disk", "temperature"] }, default: ["uptime", "load", "memory", "disk", "temperature"] },
        diskPath: { type: "string", default: "/" },
        temperaturePath: { type: "string" },
      },
    },
    versionsFile: { type: "string" },
    cmdlineFile: { type: "string", default: "/proc/cmdline" },
    bootIdFile: { type: "string", default: "/proc/sys/kernel/random/boot_id" },
    swupdate: {
      type: "object", additionalProperties: false, default: {},
      properties: {
        binary: { type: "string", default: "swupdate" },
        args: { type: "array", items: { type: "string" }, default: [] },
        slots: { type: "array", maxItems: 8, default: [], items: { type: "object", required: ["name", "bootname"], additionalProperties: false, properties: { name: { type: "string" }, bootname: { type: "string" }, selection: { type: "string" }, device: { type: "string" } } } },
        getEnv: { type: "array", minItems: 1, items: { type: "string" }, default: ["fw_printenv", "-n"] },
        setEnv: { type: "array", minItems: 1, items: { type: "string" }, default: ["fw_setenv", "-s"] },
        slotVariable: { type: "string", default: "boot_slot" },
        workingDirectory: { type: "string" },
      },
    },
    rauc: { type: "object", additionalProperties: false, default: {}, properties: { binary: { type: "string", default: "rauc" }, dbusAddress: { type: "string" } } },
    reboot: { ...command, default: { command: ["systemctl", "reboot"] } },
    health: {
      type: "object", additionalProperties: false, default: {},
      properties: {
        checks: { type: "array", maxItems: 32, default: [], items: { type: "object", required: ["name", "command"], additionalProperties: false, properties: { name: { type: "string", pattern: "^[\\w.-]{1,64}$" }, command: command.properties.command, timeoutSeconds: command.properties.timeoutSeconds } } },
        delaySeconds: { type: "number", minimum: 0, default: 0 },
      },
    },
    consent: {
      type: "object", additionalProperties: false, default: {},
      properties: { policy: { enum: ["accept", "defer", "reject", "hook"], default: "accept" }, hook: command, deferSeconds: { type: "number", exclusiveMinimum: 0, default: 3600 } },
    },
    maintenanceWindows: { type: "array", default: [], items: { type: "object", required: ["from", "to"], additionalProperties: false, properties: { from: time, to: time } } },
    maxInstallAttempts: { type: "integer", minimum: 1, maximum: 10, default: 2 },
    logLevel: { enum: ["debug", "info", "warn", "error"], default: "info" },
  },
} as const;

const validate = new Ajv({ useDefaults: true, allErrors: true, strict: false }).compile(schema);

export class ConfigError extends Error {}

/** Validates (filling defaults) and resolves relative paths against `baseDir`. */
export function parseConfig(input: unknown, baseDir = process.cwd()): AgentConfig {
  const config = structuredClone(input) as Record<string, unknown>;
  if (!validate(config)) {
    throw new ConfigError(`invalid agent configuration: ${(validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ")}`);
  }
  const c = config as unknown as AgentConfig;
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(baseDir, p));
  c.stateDir = abs(c.stateDir)!;
  c.downloadDir = abs(c.downloadDir) ?? resolve(c.stateDir, "downloads");
  if (c.tokenFile) c.tokenFile = abs(c.tokenFile);
  if (c.versionsFile) c.versionsFile = abs(c.versionsFile);
  if (c.keyring.caFile) c.keyring.caFile = abs(c.keyring.caFile);
  if (c.swupdate.workingDirectory) c.swupdate.workingDirectory = abs(c.swupdate.workingDirectory);
  for (const version of Object.keys(c.keyring.publicKeys)) {
    const value = c.keyring.publicKeys[version];
    if (!value.includes("-----BEGIN")) c.keyring.publicKeys[version] = abs(value)!;
  }
  if (!c.token && !c.tokenFile) throw new ConfigError("invalid agent configuration: /token or /tokenFile is required (the device token from provisioning)");
  if (c.token && c.tokenFile) throw new ConfigError("invalid agent configuration: give /token or /tokenFile, not both");
  if (c.updateClient === "swupdate" && c.swupdate.slots.length === 1) throw new ConfigError("invalid agent configuration: /swupdate/slots needs two slots (A/B) or none (single copy)");
  if (c.consent.policy === "hook" && !c.consent.hook) throw new ConfigError("invalid agent configuration: /consent/hook is required with policy hook");
  return c;
}

export function loadConfig(path: string): AgentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(`cannot read agent configuration ${path}: ${(error as Error).message}`);
  }
  return parseConfig(raw, dirname(resolve(path)));
}

/** The token, read when needed (never logged, never in errors). */
export function readToken(config: AgentConfig): string {
  if (config.token) return config.token;
  const token = readFileSync(config.tokenFile!, "utf8").trim();
  if (!token) throw new ConfigError(`the token file ${config.tokenFile} is empty`);
  return token;
}
