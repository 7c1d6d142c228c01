// Deletes telemetry and dead letters older than the retention period, in small batches so that the
// deletes never hold long locks or one huge transaction against the ingest path. Leader only.
import type { BridgeContext, Extension } from "../extension.js";

const BATCH = 5000;
const TABLES = [
  { table: "telemetry", column: "received_at" },
  { table: "dead_letters", column: "at" },
] as const;

export class RetentionExtension implements Extension {
  readonly name = "retention";
  readonly leaderOnly = true;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: BridgeContext, private readonly intervalMs = 15 * 60_000) {}

  async start(): Promise<void> {
    if (this.ctx.retentionDays <= 0) return;
    const run = () => (this.running = this.running.then(() => this.sweep()).catch((error) => this.ctx.log.warn({ err: (error as Error).message }, "retention sweep failed")));
    run();
    this.timer = setInterval(run, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Returns the rows deleted per table. */
  async sweep(now = new Date()): Promise<Record<string, number>> {
    const cutoff = new Date(now.getTime() - this.ctx.retentionDays * 86_400_000);
    const deleted: Record<string, number> = {};
    for (const { table, column } of TABLES) {
      deleted[table] = 0;
      for (;;) {
        // By physical row address: telemetry has no surrogate key, and rows are never updated.
        const result = await this.ctx.pool.query(`DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE ${column} < $1 LIMIT ${BATCH}))`, [cutoff]);
        deleted[table] += result.rowCount ?? 0;
        if ((result.rowCount ?? 0) < BATCH) break;
      }
    }
    if (deleted.telemetry || deleted.dead_letters) this.ctx.log.info({ deleted, cutoff }, "retention sweep");
    return deleted;
  }
}
