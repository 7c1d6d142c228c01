// Tenant configuration as hawkBit 1.1.0 keeps it: the known keys with their data types and global defaults
// (hawkbit-repository-core hawkbit-repository-defaults.properties and hawkbit-rest-core hawkbit-security-defaults.properties),
// values converted to the key's type on write (JpaTenantConfigurationManagement.addOrUpdateConfiguration0) and the
// global default answered while a tenant has none (getConfigurationValue0). The settings read by the DDI
// authentication and polling live here too.
import { HawkbitHttpError } from "./errors.js";
import type { Store } from "./store.js";
import type { Audit } from "./model.js";

type DataType = "boolean" | "integer" | "string";

interface KeyDef {
  type: DataType;
  /** The global default; null when hawkBit has none (the key then reads as absent). */
  fallback: boolean | number | string;
  /** Extra validation (hawkBit's TenantConfigurationValidator of the key). */
  validate?: (value: string, limits: PollingLimits) => void;
}

export const GATEWAY_TOKEN_ENABLED = "authentication.gatewaytoken.enabled";
export const GATEWAY_TOKEN_KEY = "authentication.gatewaytoken.key";
export const TARGET_TOKEN_ENABLED = "authentication.targettoken.enabled";
export const POLLING_TIME = "pollingTime";
export const POLLING_OVERDUE_TIME = "pollingOverdueTime";
/** Not a tenant configuration key but tenant metadata that the /system/configs resource also serves (MgmtTenantManagementMapper). */
export const DEFAULT_DS_TYPE = "default.ds.type";

export interface PollingLimits {
  /** hawkbit.controller.pollingTime: the global default of the tenant's pollingTime. */
  pollingTime: string;
  /** hawkbit.controller.minPollingTime / maxPollingTime: the range a tenant may set (TenantConfigurationPollingTimeValidator). */
  minPollingTime: string;
  maxPollingTime: string;
}

export const DEFAULT_POLLING: PollingLimits = { pollingTime: "00:05:00", minPollingTime: "00:00:30", maxPollingTime: "23:59:59" };

const DURATION = /^(\d{2}):([0-5]\d):([0-5]\d)$/;

/** hawkBit's DurationHelper.fromString: HH:mm:ss. */
export function durationSeconds(value: string): number | undefined {
  const m = DURATION.exec(value.trim());
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : undefined;
}

function invalid(message: string): HawkbitHttpError {
  return new HawkbitHttpError(400, "org.eclipse.hawkbit.repository.exception.TenantConfigurationValidatorException",
    "hawkbit.server.error.configValueInvalid", message);
}

const KEYS: Record<string, KeyDef> = {
  "authentication.header.enabled": { type: "boolean", fallback: false },
  "authentication.header.authority": { type: "string", fallback: "" },
  [TARGET_TOKEN_ENABLED]: { type: "boolean", fallback: false },
  [GATEWAY_TOKEN_ENABLED]: { type: "boolean", fallback: false },
  [GATEWAY_TOKEN_KEY]: { type: "string", fallback: "" },
  "repository.actions.autoclose.enabled": { type: "boolean", fallback: false },
  // TenantConfigurationPollingTimeValidator: the interval (before any ", <ql> -> <interval>" overrides) within min..max.
  [POLLING_TIME]: {
    type: "string", fallback: "00:05:00",
    validate: (value, limits) => {
      const interval = value.split(",")[0]!.trim();
      const seconds = durationSeconds(interval.split("~")[0]!.trim());
      if (seconds === undefined) throw invalid(`The given pollingTime ${value} is not a duration HH:mm:ss`);
      if (seconds < durationSeconds(limits.minPollingTime)! || seconds > durationSeconds(limits.maxPollingTime)!) {
        throw invalid(`The given pollingTime ${interval} is not within ${limits.minPollingTime} and ${limits.maxPollingTime}`);
      }
    },
  },
  // TenantConfigurationDurationValidator.
  [POLLING_OVERDUE_TIME]: {
    type: "string", fallback: "00:05:00",
    validate: (value) => {
      if (durationSeconds(value) === undefined) throw invalid(`The given pollingOverdueTime ${value} is not a duration HH:mm:ss`);
    },
  },
  "maintenanceWindowPollCount": { type: "integer", fallback: 3 },
  "rollout.approval.enabled": { type: "boolean", fallback: false },
  "action.cleanup.auto.expiry": { type: "integer", fallback: -1 },
  "action.cleanup.auto.status": { type: "string", fallback: "CANCELED,ERROR" },
  "action.cleanup.onQuotaHit.percent": { type: "integer", fallback: 0 },
  "batch.assignments.enabled": { type: "boolean", fallback: false },
  "user.confirmation.flow.enabled": { type: "boolean", fallback: false },
  "implicit.lock.enabled": { type: "boolean", fallback: true },
};

export const TENANT_CONFIG_KEYS: readonly string[] = Object.keys(KEYS);

/** TenantConfigurationProperties.fromKeyName: an unknown key is InvalidTenantConfigurationKeyException (400). */
export function keyDef(key: string): KeyDef {
  const def = Object.prototype.hasOwnProperty.call(KEYS, key) ? KEYS[key] : undefined;
  if (!def) {
    throw new HawkbitHttpError(400, "org.eclipse.hawkbit.repository.exception.InvalidTenantConfigurationKeyException",
      "hawkbit.server.error.configKeyInvalid", `The given configuration key ${key} does not exist.`);
  }
  return def;
}

/**
 * Converts a request value to the key's type as Spring's DefaultConversionService does for
 * JpaTenantConfigurationManagement (String → Boolean accepts true/false/on/off/yes/no/1/0; numbers become strings
 * for string keys); anything else is TenantConfigurationValidatorException (400).
 */
export function convert(key: string, value: unknown, limits: PollingLimits): boolean | number | string {
  const def = keyDef(key);
  const fail = () => invalid(`Cannot convert the value ${JSON.stringify(value)} of type ${typeof value} to the type ${def.type} defined by the configuration key.`);
  let converted: boolean | number | string;
  switch (def.type) {
    case "boolean":
      if (typeof value === "boolean") converted = value;
      else if (typeof value === "string" && ["true", "on", "yes", "1"].includes(value.trim().toLowerCase())) converted = true;
      else if (typeof value === "string" && ["false", "off", "no", "0"].includes(value.trim().toLowerCase())) converted = false;
      else throw fail();
      break;
    case "integer":
      if (typeof value === "number" && Number.isInteger(value)) converted = value;
      else if (typeof value === "string" && /^-?\d+$/.test(value.trim())) converted = Number(value.trim());
      else throw fail();
      break;
    default:
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") converted = String(value);
      else throw fail();
  }
  def.validate?.(String(converted), limits);
  return converted;
}

export interface TenantConfigValue extends Partial<Audit> {
  value: boolean | number | string;
  global: boolean;
}

/** JpaTenantConfigurationManagement.getConfigurationValue0: the tenant's value, else the global default. */
export function configValue(store: Store, key: string, limits: PollingLimits = DEFAULT_POLLING): TenantConfigValue {
  const def = keyDef(key);
  const entry = store.state.tenantConfig?.[key];
  if (entry) {
    const { value, ...audit } = entry;
    return { value: value as boolean | number | string, global: false, ...audit };
  }
  return { value: key === POLLING_TIME ? limits.pollingTime : def.fallback, global: true };
}

export interface DdiAuthSettings {
  gatewayToken?: string;
  targetToken: boolean;
}

/** What the DDI security filters accept right now: the gateway token only when enabled and non-empty. */
export function ddiAuthSettings(store: Store): DdiAuthSettings {
  const gatewayEnabled = configValue(store, GATEWAY_TOKEN_ENABLED).value === true;
  const key = String(configValue(store, GATEWAY_TOKEN_KEY).value ?? "");
  return { gatewayToken: gatewayEnabled && key !== "" ? key : undefined, targetToken: configValue(store, TARGET_TOKEN_ENABLED).value === true };
}

/**
 * ControllerManagement.getPollingTime: the tenant's pollingTime (its interval; target-specific overrides after a
 * comma are not evaluated by the stand-in), without deviation.
 */
export function pollingTimeFor(store: Store, limits: PollingLimits): string {
  const value = String(configValue(store, POLLING_TIME, limits).value);
  return value.split(",")[0]!.split("~")[0]!.trim();
}

/** Writes a key (converted and validated) with hawkBit's audit fields. */
export function setConfig(store: Store, key: string, value: unknown, user: string, limits: PollingLimits): void {
  const converted = convert(key, value, limits);
  store.state.tenantConfig ??= {};
  const previous = store.state.tenantConfig[key];
  store.state.tenantConfig[key] = previous
    ? { ...previous, value: converted, lastModifiedAt: Date.now(), lastModifiedBy: user }
    : { value: converted, ...store.audit(user) };
}
