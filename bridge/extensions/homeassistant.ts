// Home Assistant MQTT discovery (AERIE_HOMEASSISTANT=true): every registered device appears in Home Assistant as an
// `update` entity (https://www.home-assistant.io/integrations/update.mqtt/): installed version, the version of the
// release whose campaign targets it, whether an update is in progress and how far. Nothing but MQTT publishes:
//
//   <prefix>/update/<node id>/<object id>/config   retained discovery config (homeassistant-discovery.ts builds it)
//   <base>/operators/homeassistant/<controller id>  retained JSON state, the keys HA's update platform reads
//
// The entity's availability is the device's own retained availability topic ({"state":"online"|"offline"}, its
// last will). The state is recomputed from PostgreSQL when a device registers (hello), when one of its actions
// changes (the aerie_events notification the device_actions trigger sends, whichever instance or writer changed
// it), when it reports progress (feedback on this instance) and when it reports health (running version). A device
// no longer in the registry gets HA's documented removal, an empty retained config, and its state is cleared.
// Every instance publishes: the messages are retained and recomputed from the same rows, so repeats are harmless.
// After each (re)connect to the broker every device is published again (a broker restarted without persistence
// has forgotten retained messages). Configs of devices deleted while no Aerie ran are not found: Aerie would have
// to read the discovery prefix back, and the bridge's connections take only device topics.
import pg from "pg";
import { eventsOfNotification, LIVE_EVENTS_CHANNEL } from "../../core/db/live-events.js";
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Feedback } from "../protocol/schemas.js";
import { type DeviceUpdateRow, discoveryConfig, discoveryTopic, type DiscoveryNames, discoveryNames, updateState } from "./homeassistant-discovery.js";

export interface HomeAssistantOptions {
  /** Discovery prefix Home Assistant listens on (its default: homeassistant). */
  prefix: string;
  /** How often the published devices are checked against the registry (deleted ones are removed). */
  reconcileMs?: number;
}

/**
 * Home Assistant's MQTT account: an operator (reads device availability and {base}/operators/#, where the states
 * are) that may also read the discovery prefix and publish its birth message there, nothing else.
 */
export function homeAssistantAccount(username: string, password: string, prefix: string) {
  return { operators: { [username]: password }, operatorGrants: { [username]: { read: [`${prefix}/#`], write: [`${prefix}/status`] } } };
}

const PAGE = 500;
const RECONNECT_MS = 1000;

// The latest action of each device with the release its campaign installs, and that action's latest report.
const ROWS = `
SELECT d.controller_id, d.name, d.hardware, COALESCE(p.running_version, d.attributes->>'version.rootfs') AS installed,
       a.hawkbit_action_id, a.status, c.name AS campaign, r.name AS release_name, r.version AS release_version,
       (SELECT f.progress FROM action_feedback f WHERE f.action_id = a.id AND f.kind = 'feedback' ORDER BY f.id DESC LIMIT 1) AS progress
FROM devices d
LEFT JOIN device_presence p ON p.controller_id = d.controller_id
LEFT JOIN LATERAL (SELECT * FROM device_actions x WHERE x.device_id = d.id ORDER BY x.created_at DESC LIMIT 1) a ON true
LEFT JOIN campaigns c ON c.id = a.campaign_id
LEFT JOIN releases r ON r.id = c.release_id`;

export class HomeAssistantExtension implements Extension {
  readonly name = "homeassistant";
  private readonly names: DiscoveryNames;
  /** What was last published per device (config and state), so an unchanged one is not sent again. */
  private readonly published = new Map<string, { names: ReturnType<DiscoveryNames["of"]>; config: string; state: string }>();
  /** Latest progress report per device heard on this instance, newer than what may be stored yet. */
  private readonly reports = new Map<string, { actionId: number; status: string; progress: number | null }>();
  private readonly pending = new Set<string>();
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;
  private stopped = false;

  private readonly onRegistered = (devices: { controllerId: string }[]): void => void this.refresh(devices.map((d) => d.controllerId));
  private readonly onFeedback = ({ controllerId, payload }: DeviceEvent<Feedback>): void => {
    this.reports.set(controllerId, { actionId: payload.actionId, status: payload.status, progress: payload.progress ?? null });
    void this.refresh([controllerId]);
  };
  private readonly onHealth = ({ controllerId }: DeviceEvent<unknown>): void => void this.refresh([controllerId]);
  private announcing: Promise<void> = Promise.resolve();
  private readonly onConnect = (): void => {
    this.announcing = this.announcing.then(() => this.publishAll(true)).catch((error) => this.ctx.log.warn({ err: (error as Error).message }, "Home Assistant: discovery not published"));
  };

  constructor(private readonly ctx: BridgeContext, private readonly options: HomeAssistantOptions) {
    this.names = discoveryNames(options.prefix, ctx.topics);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.ctx.log.info({ prefix: this.options.prefix, stateTopics: `${this.ctx.topics.operators}/homeassistant/+` }, "Home Assistant MQTT discovery is on (AERIE_HOMEASSISTANT)");
    // The listeners return nothing, so no device's acknowledgement waits for Home Assistant's messages.
    this.ctx.bus.on("devicesRegistered", this.onRegistered);
    this.ctx.bus.on("feedback", this.onFeedback);
    this.ctx.bus.on("health", this.onHealth as never);
    await this.listen().catch((error) => this.ctx.log.warn({ err: (error as Error).message }, "Home Assistant: action changes not listened to yet"));
    // Every device once connected, and again after each reconnect: a broker that restarted without persistence
    // has lost the retained messages. Not awaited: device messages need not wait for a large fleet's discovery.
    this.ctx.mqtt.on("connect", this.onConnect);
    if (this.ctx.mqtt.connected) this.onConnect();
    this.timer = setInterval(() => void this.reconcile().catch((error) => this.ctx.log.warn({ err: (error as Error).message }, "Home Assistant: reconcile failed")), this.options.reconcileMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.ctx.bus.off("devicesRegistered", this.onRegistered);
    this.ctx.bus.off("feedback", this.onFeedback);
    this.ctx.bus.off("health", this.onHealth as never);
    this.ctx.mqtt.off("connect", this.onConnect);
    clearInterval(this.timer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.flushing;
    await this.announcing;
  }

  /** Action changes of any writer (bridge, campaign monitor, another instance) arrive as aerie_events notifications. */
  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.ctx.databaseUrl });
    client.on("notification", (message) => {
      const changed = eventsOfNotification(message.payload).flatMap((event) => (event.type === "action" && typeof event.controllerId === "string" ? [event.controllerId] : []));
      if (changed.length > 0) void this.refresh(changed);
    });
    client.on("error", (error) => {
      this.ctx.log.warn({ err: error.message }, "Home Assistant: notification connection lost");
      if (this.listener === client) this.listener = undefined;
      // Changes made meanwhile were not heard: everything is recomputed (only what changed is sent).
      if (!this.stopped) setTimeout(() => void this.listen().then(() => this.publishAll(false)).catch(() => undefined), RECONNECT_MS).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${LIVE_EVENTS_CHANNEL}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.listener = client;
  }

  /** Coalesces: devices asked for while a pass runs are published by the next one. */
  private refresh(controllerIds: string[]): Promise<void> {
    for (const id of controllerIds) this.pending.add(id);
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0 || this.stopped) return;
      const ids = [...this.pending];
      this.pending.clear();
      try {
        const { rows } = await this.ctx.pool.query<DeviceUpdateRow>(`${ROWS} WHERE d.controller_id = ANY($1::text[])`, [ids]);
        for (const row of rows) this.publish(row);
        // Asked for but gone from the registry: deleted.
        const found = new Set(rows.map((r) => r.controller_id));
        for (const id of ids) if (!found.has(id)) this.remove(id);
      } catch (error) {
        this.ctx.metrics.bridgeErrors.inc({ stage: "homeassistant" });
        this.ctx.log.warn({ err: (error as Error).message, devices: ids.length }, "Home Assistant state not published");
      }
    });
    return this.flushing;
  }

  /** Every registered device, page by page; `force` sends even what the broker should still hold. */
  private async publishAll(force: boolean): Promise<void> {
    let after = "";
    for (;;) {
      const { rows } = await this.ctx.pool.query<DeviceUpdateRow>(`${ROWS} WHERE d.controller_id > $1 ORDER BY d.controller_id LIMIT ${PAGE}`, [after]);
      for (const row of rows) this.publish(row, force);
      if (rows.length < PAGE || this.stopped) return;
      after = rows[rows.length - 1]!.controller_id;
      // Lets device traffic through between pages of a large fleet.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Devices published but no longer in the registry are removed from Home Assistant. */
  async reconcile(): Promise<void> {
    const known = [...this.published.keys()];
    if (known.length === 0) return;
    const { rows } = await this.ctx.pool.query<{ controller_id: string }>("SELECT controller_id FROM devices WHERE controller_id = ANY($1::text[])", [known]);
    const present = new Set(rows.map((r) => r.controller_id));
    for (const id of known) if (!present.has(id)) this.remove(id);
  }

  private publish(row: DeviceUpdateRow, force = false): void {
    const names = this.names.of(row.controller_id);
    const report = this.reports.get(row.controller_id);
    const state = JSON.stringify(updateState(row, report && report.actionId === row.hawkbit_action_id ? report : undefined));
    const config = JSON.stringify(discoveryConfig(row, names, this.ctx.topics));
    const before = this.published.get(row.controller_id);
    // State first: an entity HA creates from the config then finds its state at once.
    if (force || before?.state !== state) this.ctx.publish(names.stateTopic, state, { qos: 1, retain: true });
    if (force || before?.config !== config) this.ctx.publish(discoveryTopic(this.options.prefix, names), config, { qos: 1, retain: true });
    this.published.set(row.controller_id, { names, config, state });
    if (row.status && ["success", "failure", "rejected", "canceled", "closed"].includes(row.status)) this.reports.delete(row.controller_id);
  }

  /** Home Assistant's documented removal: an empty retained config; the retained state is cleared too. */
  private remove(controllerId: string): void {
    const names = this.published.get(controllerId)?.names ?? this.names.of(controllerId);
    this.ctx.publish(discoveryTopic(this.options.prefix, names), "", { qos: 1, retain: true });
    this.ctx.publish(names.stateTopic, "", { qos: 1, retain: true });
    this.published.delete(controllerId);
    this.reports.delete(controllerId);
  }
}
