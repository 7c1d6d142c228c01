// Embedded MQTT broker (aedes, MQTT 3.1.1). Nothing durable lives here: what a device must get after
// a restart (its pending deployment) is re-derived by the bridge from hawkBit and Postgres when the
// device reconnects, so aedes' in-memory persistence is enough.
import { createServer, type Server, type Socket } from "node:net";
import { Aedes, type AedesOptions } from "aedes";
import { logger } from "../../core/log.js";
import { boundedDepthEmitter } from "./mq-emitter.js";
import { limitPacketSize } from "./packet-limit.js";

const log = logger("aedes");

export interface EmbeddedBroker {
  url: string;
  broker: Aedes;
  stop(): Promise<void>;
}

export type BrokerAuth = Pick<AedesOptions, "authenticate" | "authorizePublish" | "authorizeSubscribe">;

/** Default largest MQTT packet: room for the largest payload limit (bridge/protocol/limits.ts) and then some. */
export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

export async function startEmbeddedBroker(options: { host: string; port: number; auth?: BrokerAuth; /** Larger packets close the sender's connection unread. */ maxPacketBytes?: number }): Promise<EmbeddedBroker> {
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const broker = await Aedes.createBroker({
    // Messages processed in parallel per broker, so that TCP back-pressure slows publishers down; the
    // router drains what queues behind that limit without overflowing its stack (see mq-emitter.ts).
    concurrency: 200,
    mq: boundedDepthEmitter({ concurrency: 200 }),
    // A client whose outgoing queue is this long is slow; beyond it aedes drops its QoS0 traffic.
    queueLimit: 1000,
    heartbeatInterval: 30_000,
    connectTimeout: 10_000,
    maxClientsIdLength: 128,
    ...options.auth,
  });
  broker.on("clientError", (client, error) => log.debug({ client: client?.id, err: error.message }, "client error"));
  broker.on("connectionError", (client, error) => log.debug({ client: client?.id, err: error.message }, "connection error"));

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const client = broker.handle(socket) as unknown as { id?: string };
    const limited = limitPacketSize(client, socket, maxPacketBytes, (bytes) =>
      log.warn({ client: client.id ?? null, remote: socket.remoteAddress, bytes, limit: maxPacketBytes }, "MQTT packet larger than AERIE_MQTT_MAX_PACKET_BYTES: connection closed"));
    if (!limited) {
      // The aedes/mqtt-packet internals moved (an upgrade): refuse clients rather than buffer any size.
      log.error("cannot limit the MQTT packet size with this aedes version; connection refused");
      socket.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  log.info({ port }, "embedded MQTT broker (aedes) ready");

  return {
    url: `mqtt://${options.host}:${port}`,
    broker,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
