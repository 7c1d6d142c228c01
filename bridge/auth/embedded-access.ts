// Who may connect to the embedded aedes broker, from AERIE_DEVICE_AUTH. `token` (the default): devices log
// in with their controller id and provisioned token, the bridge with an account that lives only as long as
// this process, anonymous clients are refused, and every topic is checked (aedes-auth.ts, acl.ts).
// `off`: no login and no ACL at all, for local experiments; said loudly at every start, since any client
// on the network can then read every download URL and push a deployment to any device.
import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { Logger } from "../../core/log.js";
import type { BrokerAuth } from "../../infrastructure/embedded/mqtt-broker.js";
import { aedesAuth } from "./aedes-auth.js";
import type { OperatorGrants } from "./acl.js";

export interface EmbeddedBrokerAccess {
  /** aedes hooks; undefined when device authentication is off. */
  auth?: BrokerAuth;
  /** The bridge's account (only with token). */
  username?: string;
  password?: string;
}

export const EMBEDDED_BRIDGE_USERNAME = "aerie-bridge";

export function embeddedBrokerAccess(options: {
  mode: "off" | "token";
  pool: pg.Pool;
  baseTopic: string;
  /** Client ids of the bridge's connections, which no device or operator may take. */
  bridgeClientIds: readonly string[];
  log: Logger;
  /** Read-only accounts (Home Assistant), with the topics outside Aerie's tree each may use. */
  operators?: Record<string, string>;
  operatorGrants?: OperatorGrants;
}): EmbeddedBrokerAccess {
  if (options.mode === "off") {
    options.log.warn(
      { AERIE_DEVICE_AUTH: "off" },
      "AERIE_DEVICE_AUTH=off: the embedded MQTT broker admits anonymous clients and checks no topic; anyone who reaches its port can read every device's download URLs and publish deployments to any device. For local experiments only; unset it (token) for anything else.",
    );
    return {};
  }
  const username = EMBEDDED_BRIDGE_USERNAME;
  const password = randomBytes(24).toString("base64url");
  const auth = aedesAuth({
    pool: options.pool, baseTopic: options.baseTopic, services: { [username]: password }, serviceClientIds: options.bridgeClientIds,
    operators: options.operators, operatorGrants: options.operatorGrants,
  });
  return { auth, username, password };
}
