import type { MqttClient } from "mqtt";
import type pg from "pg";
import type { Database } from "../core/db/prisma.js";
import type { AerieMetrics } from "../core/metrics.js";
import type { ArtifactStore } from "../core/storage/artifact-store.js";
import type { HawkbitManagementClient } from "../hawkbit/management-client.js";
import type { Logger } from "../core/log.js";
import type { EventBus } from "./event-bus.js";
import type { HawkbitDeviceChannel } from "../hawkbit/channel.js";
import type { NoticeBuilder } from "./notices.js";
import type { Topics } from "./protocol/topics.js";
import type { DeadLetters } from "./dead-letters.js";

export interface BridgeSettings {
  presignTtlSeconds: number;
  /** Action sync interval while actions are open or changing. */
  syncIntervalMs: number;
  /** Action sync interval while the fleet is idle (no open action); a wake-up notification cuts it short. */
  idleSyncIntervalMs: number;
  /** Every online device is reported alive to hawkBit once per this period, spread evenly over it. */
  heartbeatMs: number;
  /** Telemetry and dead letters older than this are deleted (0: keep forever). */
  retentionDays: number;
}

/** What every extension may use. Extensions talk to each other only through `bus`. */
export interface BridgeContext extends BridgeSettings {
  db: Database;
  pool: pg.Pool;
  /** For connections of their own (telemetry COPY, leader lock, LISTEN). */
  databaseUrl: string;
  mqtt: MqttClient;
  topics: Topics;
  bus: EventBus;
  metrics: AerieMetrics;
  store: ArtifactStore;
  hawkbit: HawkbitManagementClient;
  channel: HawkbitDeviceChannel;
  notices: NoticeBuilder;
  deadLetters: DeadLetters;
  log: Logger;
  /** How long a device report that does not follow the last relayed one (by seq) waits for those before it. */
  reorderWindowMs?: number;
  /**
   * Publishes without waiting for the broker's PUBACK: a handler that waited could deadlock against
   * the AckGate holding the packet pump. MQTT.js keeps QoS1 messages and re-sends them after a reconnect.
   */
  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean }): void;
}

export interface Extension {
  readonly name: string;
  /** Runs only on the instance that leads hawkBit synchronisation (see leader.ts). */
  readonly leaderOnly?: boolean;
  start(): Promise<void>;
  /** Finish in-flight work (flush buffers) and release timers. */
  stop(): Promise<void>;
}
