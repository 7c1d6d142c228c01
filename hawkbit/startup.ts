// What Aerie asks of hawkBit before relying on it: that it answers like 1.x (compatibility.ts) and accepts Aerie's
// gateway token (gateway-token.ts). A server that answers unlike 1.x stops the start with the capability named;
// one that cannot be reached yet, or whose gateway token Aerie may not switch on, leaves /readyz reporting hawkBit
// down with the reason, asked again on every readiness check until it holds.
import type { Logger } from "pino";
import { checkHawkbit1x, HawkbitIncompatibleError } from "./compatibility.js";
import { ensureGatewayToken, type GatewayTokenState } from "./gateway-token.js";
import type { HawkbitManagementClient } from "./management-client.js";

export type ReadinessCheck = () => Promise<string | void>;

/** `gatewayToken` undefined: the device channel needs none (DMF), so it is neither checked nor switched on. */
export async function prepareHawkbit(client: HawkbitManagementClient, gatewayToken: string | undefined, log: Pick<Logger, "info" | "warn">): Promise<ReadinessCheck> {
  let compatible = false;
  let gateway: GatewayTokenState | undefined;

  const checkCompatibility = async () => {
    if (compatible) return;
    await checkHawkbit1x(client);
    compatible = true;
  };
  const checkGateway = async () => {
    if (gatewayToken === undefined || gateway?.ok) return;
    gateway = await ensureGatewayToken(client, gatewayToken);
    if (gateway.ok && gateway.changed.length > 0) log.info({ keys: gateway.changed }, "switched on gateway-token authentication in hawkBit with Aerie's key");
    if (!gateway.ok) log.warn({ reason: gateway.reason }, "hawkBit does not accept Aerie's gateway token; devices behind the bridge cannot be served");
  };

  try {
    await checkCompatibility();
    await checkGateway();
  } catch (error) {
    if (error instanceof HawkbitIncompatibleError) throw error;
    log.warn({ err: (error as Error).message }, "hawkBit not checked yet (unreachable?); /readyz reports it until it is");
  }

  return async () => {
    await checkCompatibility();
    await checkGateway();
    if (gateway && !gateway.ok) throw new Error(gateway.reason);
    await client.listSoftwareModuleTypes({ limit: 1 });
    return gatewayToken === undefined ? "hawkBit 1.x" : "hawkBit 1.x, gateway token accepted";
  };
}
