// Authentication and authorization hooks for the embedded aedes broker: devices log in with their
// controller id and token (checked against Postgres, see provisioning.ts), services and operators with
// configured passwords; every publish and subscribe is checked against TopicAcl.
import { timingSafeEqual } from "node:crypto";
import type pg from "pg";
import type { BrokerAuth } from "../../infrastructure/embedded/mqtt-broker.js";
import { logger } from "../../core/log.js";
import { verifyDeviceToken } from "../provisioning.js";
import { TopicAcl, type Identity } from "./acl.js";

const log = logger("mqtt-auth");

export interface AccountOptions {
  pool: pg.Pool;
  baseTopic: string;
  /** username → password of services (the bridge) and operators. */
  services: Record<string, string>;
  operators?: Record<string, string>;
  /** Accept unauthenticated clients as devices named by their client id (development only). */
  allowAnonymousDevices?: boolean;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const identities = new WeakMap<object, Identity>();

export function aedesAuth(options: AccountOptions): BrokerAuth {
  const acl = new TopicAcl(options.baseTopic);
  const denied = (what: string) => Object.assign(new Error(`not authorized: ${what}`), { returnCode: 5 });
  return {
    authenticate: (client, username, password, done) => {
      const secret = password?.toString("utf8") ?? "";
      const resolve = async (): Promise<Identity | undefined> => {
        if (username === undefined) {
          return options.allowAnonymousDevices ? { role: "device", controllerId: client.id.replace(/^device-/, "") } : undefined;
        }
        const service = options.services[username];
        if (service !== undefined) return sameSecret(service, secret) ? { role: "service", name: username } : undefined;
        const operator = options.operators?.[username];
        if (operator !== undefined) return sameSecret(operator, secret) ? { role: "operator", name: username } : undefined;
        return (await verifyDeviceToken(options.pool, username, secret)) ? { role: "device", controllerId: username } : undefined;
      };
      resolve().then(
        (identity) => {
          if (!identity) {
            // The username is not secret; the password is never logged.
            log.info({ clientId: client.id, username }, "MQTT login refused");
            done(Object.assign(new Error("bad username or password"), { returnCode: 4 }), false);
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
