import type { MqttClient } from "mqtt";
import type pg from "pg";
import type { Database } from "../core/db/prisma.js";
import type { AerieMetrics } from "../core/metrics.js";
import type { ArtifactStore } from "../core/storage/artifact-store.js";
import type { HawkbitManagementClient } from "../api/hawkbit/management-client.js";
import type { Logger } from "../core/log.js";
import type { EventBus } from "./event-bus.js";
import type { HawkbitDeviceChannel } from "./hawkbit/channel.js";
import type { Topics } from "./protocol/topics.js";
import type { DeadLetters } from "./dead-letters.js";

/** What every extension may use. Extensions talk to each other only through `bus`. */
export interface BridgeContext {
  db: Database;
  pool: pg.Pool;
  mqtt: MqttClient;
  topics: Topics;
  bus: EventBus;
  metrics: AerieMetrics;
  store: ArtifactStore;
  hawkbit: HawkbitManagementClient;
  channel: HawkbitDeviceChannel;
  deadLetters: DeadLetters;
  presignTtlSeconds: number;
  syncIntervalMs: number;
  log: Logger;
}

export interface Extension {
  readonly name: string;
  start(): Promise<void>;
  /** Finish in-flight work (flush buffers) and release timers. */
  stop(): Promise<void>;
}
