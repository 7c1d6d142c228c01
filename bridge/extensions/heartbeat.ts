// hawkBit's view of liveness for devices that never poll it themselves. Each online device is reported
// (one DDI poll) once per heartbeat period, and the reports are spread over the period: every tick
// handles only its share of the fleet, the devices whose last contact is oldest. So the load on hawkBit
// is bounded (fleet size / period) whatever happens on MQTT, e.g. after a broker restart. Leader only.
// A poll that reveals work the sync does not know yet (hawkBit asks for attributes) is served here.
import type { BridgeContext, Extension } from "../extension.js";

const DUE = `
SELECT p.controller_id, d.attributes FROM device_presence p JOIN devices d ON d.controller_id = p.controller_id
WHERE p.online AND (p.hawkbit_contact_at IS NULL OR p.hawkbit_contact_at < now() - make_interval(secs => $1::double precision / 1000))
ORDER BY p.hawkbit_contact_at NULLS FIRST LIMIT $2`;

export class HeartbeatExtension implements Extension {
  readonly name = "heartbeat";
  readonly leaderOnly = true;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly tickMs: number;

  constructor(private readonly ctx: BridgeContext) {
    this.tickMs = Math.min(60_000, Math.max(1000, Math.floor(ctx.heartbeatMs / 120)));
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick()).then(() => undefined, (error) => {
        this.ctx.metrics.bridgeErrors.inc({ stage: "heartbeat" });
        this.ctx.log.warn({ err: (error as Error).message }, "heartbeat failed");
      });
    }, this.tickMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async tick(): Promise<number> {
    const { pool, channel } = this.ctx;
    const online = Number((await pool.query<{ n: string }>("SELECT count(*) AS n FROM device_presence WHERE online")).rows[0]?.n ?? 0);
    // This tick's share of the period, rounded up so a small fleet is still served.
    const budget = Math.ceil((online * this.tickMs) / this.ctx.heartbeatMs);
    if (budget === 0) return 0;
    const due = (await pool.query<{ controller_id: string; attributes: Record<string, unknown> }>(DUE, [this.ctx.heartbeatMs, budget])).rows;
    await Promise.all(due.map(async ({ controller_id: controllerId, attributes }) => {
      try {
        const state = await channel.pollController(controllerId);
        if (state.configDataRequested) {
          const flat = Object.fromEntries(Object.entries(attributes).filter(([, v]) => typeof v === "string")) as Record<string, string>;
          await channel.sendConfigData(controllerId, flat, "replace");
        }
        await pool.query("UPDATE device_presence SET hawkbit_contact_at = now() WHERE controller_id = $1", [controllerId]);
      } catch (error) {
        this.ctx.metrics.bridgeErrors.inc({ stage: "heartbeat" });
        this.ctx.log.debug({ controllerId, err: (error as Error).message }, "heartbeat poll failed");
      }
    }));
    return due.length;
  }
}
