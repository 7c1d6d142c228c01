// Fleet gauges from Postgres (online devices, devices by running version, device actions by status),
// refreshed periodically rather than per message: they are then the same on every bridge instance
// (aggregate with max, not sum) and cost nothing on the ingest path. Versions are capped to the most
// common ones plus "other", so a fleet with many builds cannot explode the label set.
import type { BridgeContext, Extension } from "../extension.js";

export const MAX_VERSION_LABELS = 20;

export class FleetGaugesExtension implements Extension {
  readonly name = "fleet-gauges";
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: BridgeContext, private readonly intervalMs = 15_000) {}

  async start(): Promise<void> {
    await this.refresh().catch(() => undefined);
    this.timer = setInterval(() => {
      this.running = this.refresh().catch((error) => this.ctx.log.debug({ err: (error as Error).message }, "fleet gauges not refreshed"));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async refresh(): Promise<void> {
    const { pool, metrics } = this.ctx;
    const online = await pool.query<{ n: string }>("SELECT count(*) AS n FROM device_presence WHERE online");
    const versions = await pool.query<{ version: string; n: string }>(
      "SELECT COALESCE(running_version, 'unknown') AS version, count(*) AS n FROM device_presence GROUP BY 1 ORDER BY 2 DESC, 1");
    const actions = await pool.query<{ status: string; n: string }>("SELECT status, count(*) AS n FROM device_actions GROUP BY 1");
    metrics.devicesOnline.set(Number(online.rows[0]?.n ?? 0));
    metrics.devicesByVersion.reset();
    let other = 0;
    versions.rows.forEach((row, i) => {
      if (i < MAX_VERSION_LABELS) metrics.devicesByVersion.set({ version: row.version.slice(0, 64) }, Number(row.n));
      else other += Number(row.n);
    });
    if (other > 0) metrics.devicesByVersion.set({ version: "other" }, other);
    metrics.deviceActionsByStatus.reset();
    for (const row of actions.rows) metrics.deviceActionsByStatus.set({ status: row.status }, Number(row.n));
  }
}
