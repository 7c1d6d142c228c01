// Telemetry load for tests and benchmarks: many device connections publishing QoS1 telemetry with
// unique message ids, as fast as the broker acknowledges.
import mqtt, { type MqttClient } from "mqtt";

export interface LoadResult {
  sent: number;
  seconds: number;
}

export function telemetryPayload(controllerId: string, seq: number): string {
  return JSON.stringify({ messageId: `${controllerId}-${seq}`, ts: new Date().toISOString(), metrics: { cpuLoad: (seq % 100) / 100, memFreeKb: 100000 + (seq % 1000), fw: "1.0.0" } });
}

/** Publishes `perClient` messages from each of `clients` devices; resolves when all are PUBACKed. */
export async function publishTelemetry(opts: { url: string; clients: number; perClient: number; prefix?: string; window?: number; protocolVersion?: 4 | 5; topicBase?: string }): Promise<LoadResult> {
  const started = Date.now();
  const connections: MqttClient[] = [];
  try {
    for (let c = 0; c < opts.clients; c++) {
      connections.push(await mqtt.connectAsync(opts.url, { clientId: `${opts.prefix ?? "load"}-${c}`, clean: true, reconnectPeriod: 500, protocolVersion: opts.protocolVersion ?? 4 }));
    }
    await Promise.all(connections.map(async (client, c) => {
      const controllerId = `${opts.prefix ?? "load"}-${c}`;
      const topic = `${opts.topicBase ?? "aerie/v1"}/devices/${controllerId}/telemetry`;
      const window = opts.window ?? 200;
      let next = 0;
      const worker = async () => {
        while (next < opts.perClient) {
          const seq = next++;
          await client.publishAsync(topic, telemetryPayload(controllerId, seq), { qos: 1 });
        }
      };
      await Promise.all(Array.from({ length: window }, worker));
    }));
    return { sent: opts.clients * opts.perClient, seconds: (Date.now() - started) / 1000 };
  } finally {
    await Promise.all(connections.map((c) => c.endAsync()));
  }
}
