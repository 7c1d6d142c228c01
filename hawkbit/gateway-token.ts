// Gateway-token authentication for Aerie's DDI calls. hawkBit 1.x ships it off (hawkbit-security-defaults:
// authentication.gatewaytoken.enabled=false, key empty), so the bridge's DDI calls would get 401. With Management
// credentials that hold the tenant-configuration permission, Aerie switches it on with its own key at start
// (PUT /rest/v1/system/configs/{key}); without them, /readyz names exactly what the operator must set. A key another
// gateway already uses is never overwritten: that would lock the other one out. The key is never logged or reported.
import { HawkbitError } from "./errors.js";
import type { HawkbitManagementClient } from "./management-client.js";

export const GATEWAY_TOKEN_ENABLED = "authentication.gatewaytoken.enabled";
export const GATEWAY_TOKEN_KEY = "authentication.gatewaytoken.key";

export type GatewayTokenState =
  | { ok: true; /** Tenant configuration keys Aerie wrote. */ changed: string[] }
  | { ok: false; reason: string };

const WHAT_TO_SET =
  `set ${GATEWAY_TOKEN_ENABLED}=true and ${GATEWAY_TOKEN_KEY}=<Aerie's HAWKBIT_GATEWAY_TOKEN> in hawkBit's tenant ` +
  "configuration (PUT /rest/v1/system/configs/{key}, or the System Config view), or give Aerie's hawkBit user the " +
  "tenant-configuration permissions (READ_TENANT_CONFIGURATION, TENANT_CONFIGURATION) so that it sets them at start";

function permissionDenied(error: unknown): boolean {
  return error instanceof HawkbitError && (error.status === 401 || error.status === 403);
}

/** Makes sure hawkBit accepts Aerie's gateway token, switching it on if Aerie may. Never throws for a refusal of hawkBit's. */
export async function ensureGatewayToken(client: HawkbitManagementClient, key: string): Promise<GatewayTokenState> {
  let enabled: unknown;
  let current: unknown;
  try {
    enabled = (await client.getTenantConfig(GATEWAY_TOKEN_ENABLED)).value;
    current = (await client.getTenantConfig(GATEWAY_TOKEN_KEY)).value;
  } catch (error) {
    if (permissionDenied(error)) return { ok: false, reason: `Aerie's hawkBit user may not read the tenant configuration; gateway-token authentication unknown: ${WHAT_TO_SET}` };
    throw error;
  }
  const isOn = enabled === true || enabled === "true";
  if (isOn && current === key) return { ok: true, changed: [] };
  if (typeof current === "string" && current !== "" && current !== key) {
    return {
      ok: false,
      reason: `hawkBit's ${GATEWAY_TOKEN_KEY} holds another key than Aerie's HAWKBIT_GATEWAY_TOKEN (Aerie does not overwrite it: another gateway may use it); ` +
        `set HAWKBIT_GATEWAY_TOKEN to hawkBit's key, or ${GATEWAY_TOKEN_KEY} to Aerie's${isOn ? "" : `, and ${GATEWAY_TOKEN_ENABLED}=true`}`,
    };
  }
  const changed: string[] = [];
  try {
    // The key first: switched on with an empty key, hawkBit would accept no gateway at all for a moment.
    if (current !== key) {
      await client.setTenantConfig(GATEWAY_TOKEN_KEY, key);
      changed.push(GATEWAY_TOKEN_KEY);
    }
    if (!isOn) {
      await client.setTenantConfig(GATEWAY_TOKEN_ENABLED, true);
      changed.push(GATEWAY_TOKEN_ENABLED);
    }
  } catch (error) {
    if (permissionDenied(error)) return { ok: false, reason: `gateway-token authentication is off in hawkBit and Aerie's hawkBit user may not change the tenant configuration: ${WHAT_TO_SET}` };
    throw error;
  }
  return { ok: true, changed };
}
