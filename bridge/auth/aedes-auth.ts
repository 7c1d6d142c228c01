// Authentication and authorization hooks for the embedded aedes broker: devices log in with their
// controller id and token (checked against Postgres, see provisioning.ts), services and operators with
// configured passwords; every publish and subscribe is checked against TopicAcl.
// Client ids are bound to the login: MQTT lets a new connection with a client id take over the session of
// the one holding it, so a device that could pick the bridge's client id would receive every device's
// messages, and one that could pick another device's would cut that device off. A device therefore
// connects only as itself (client id = controller id), the bridge's client ids belong to the bridge's
// account alone, and an operator may not use any of these.
import { timingSafeEqual } from "node:crypto";
import type { Aedes } from "aedes";
import type pg from "pg";
import type { BrokerAuth } from "../../infrastructure/embedded/mqtt-broker.js";
import { logger } from "../../core/log.js";
import { verifyDeviceToken } from "../provisioning.js";
import { TopicAcl, type Identity, type OperatorGrants } from "./acl.js";

const log = logger("mqtt-auth");

export interface AccountOptions {
  pool: pg.Pool;
  baseTopic: string;
  /** username → password of services (the bridge) and operators. */
  services: Record<string, string>;
  operators?: Record<string, string>;
  /** Topics outside Aerie's tree an operator account may also use. */
  operatorGrants?: OperatorGrants;
  /** Client ids only a service account may use: the bridge's connections (`<id>` and `<id>-presence`). */
  serviceClientIds?: readonly string[];
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const identities = new WeakMap<object, Identity>();

/** Why a login may not use this client id, or undefined when it may. */
async function clientIdRefusal(options: AccountOptions, identity: Identity, clientId: string): Promise<string | undefined> {
  if (identity.role === "service") return undefined;
  if (options.serviceClientIds?.includes(clientId)) return "client id reserved to the bridge";
  if (identity.role === "device") return clientId === identity.controllerId ? undefined : "a device's client id must be its controller id";
  const device = await options.pool.query("SELECT 1 FROM device_credentials WHERE controller_id = $1", [clientId]);
  return device.rowCount ? "client id of a device" : undefined;
}

export function aedesAuth(options: AccountOptions): BrokerAuth {
  const acl = new TopicAcl(options.baseTopic, options.operatorGrants);
  const denied = (what: string) => Object.assign(new Error(`not authorized: ${what}`), { returnCode: 5 });
  return {
    authenticate: (client, username, password, done) => {
      const secret = password?.toString("utf8") ?? "";
      const resolve = async (): Promise<Identity | undefined> => {
        // Anonymous clients are refused: there is no unauthenticated role.
        if (username === undefined) return undefined;
        const service = options.services[username];
        if (service !== undefined) return sameSecret(service, secret) ? { role: "service", name: username } : undefined;
        const operator = options.operators?.[username];
        if (operator !== undefined) return sameSecret(operator, secret) ? { role: "operator", name: username } : undefined;
        return (await verifyDeviceToken(options.pool, username, secret)) ? { role: "device", controllerId: username } : undefined;
      };
      const check = async (): Promise<{ identity?: Identity; refusal?: string }> => {
        const identity = await resolve();
        if (!identity) return {};
        return { identity, refusal: await clientIdRefusal(options, identity, client.id) };
      };
      check().then(
        ({ identity, refusal }) => {
          if (!identity) {
            // The username is not secret; the password is never logged.
            log.info({ clientId: client.id, username }, "MQTT login refused");
            done(Object.assign(new Error("bad username or password"), { returnCode: 4 }), false);
            return;
          }
          if (refusal) {
            log.warn({ clientId: client.id, username, reason: refusal }, "MQTT client id refused");
            done(Object.assign(new Error(refusal), { returnCode: 2 }), false);
            return;
          }
          identities.set(client, identity);
          done(null, true);
        },
        (error) => {
          log.error({ err: (error as Error).message }, "MQTT login could not be checked");
          done(Object.assign(new Error("server unavailable"), { returnCode: 3 }), false);
        },
      );
    },
    authorizePublish: (client, packet, done) => {
      const identity = client ? identities.get(client) : undefined;
      if (!identity || !acl.canPublish(identity, packet.topic)) return done(denied(`publish ${packet.topic}`));
      done(null);
    },
    authorizeSubscribe: (client, subscription, done) => {
      const identity = identities.get(client);
      // A null subscription makes aedes answer the SUBSCRIBE with failure (0x80) for that filter.
      if (!identity || !acl.canSubscribe(identity, subscription.topic)) return done(null, null);
      done(null, subscription);
    },
  };
}

/**
 * Ends the live connection of a device whose token was revoked or replaced: the broker checks tokens only
 * at CONNECT, so without this a revoked device would go on publishing until it reconnects.
 */
export function disconnectDevice(broker: Aedes, controllerId: string): boolean {
  const client = ((broker as unknown as { clients: unknown }).clients as Record<string, { close(): void } | undefined>)[controllerId];
  if (!client) return false;
  log.info({ controllerId }, "device disconnected: its credentials changed");
  client.close();
  return true;
}
