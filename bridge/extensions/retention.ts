// Keeps telemetry's daily partitions ahead of time and expires old data. Leader only.
// Telemetry older than the retention period goes by dropping whole day partitions (no row deletes,
// no vacuum debt); only the default partition (rows whose device time fell outside the days created)
// and dead letters are deleted row-wise, in small batches so that no delete holds long locks or one
// huge transaction against the ingest path.
import type { BridgeContext, Extension } from "../extension.js";

const BATCH = 5000;
const DAY_MS = 86_400_000;
/** Days of partitions created ahead, so a device clock slightly ahead or a missed sweep never lands rows in the default partition. */
export const PARTITION_DAYS_AHEAD = 7;
const ROW_WISE = [
  { table: "telemetry_default", column: "recorded_at" },
  { table: "dead_letters", column: "at" },
] as const;
const PARTITION_NAME = /^telemetry_p(\d{4})(\d{2})(\d{2})$/;

export interface SweepResult {
  /** Rows deleted from the default partition. */
  telemetry: number;
  /** Whole day partitions dropped. */
  telemetryPartitions: number;
  dead_letters: number;
}

export class RetentionExtension implements Extension {
  readonly name = "retention";
  readonly leaderOnly = true;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: BridgeContext, private readonly intervalMs = 15 * 60_000) {}

  async start(): Promise<void> {
    // Partitions are created even when nothing expires (retention 0): inserts need tomorrow's.
    const run = () => (this.running = this.running.then(() => this.sweep()).catch((error) => this.ctx.log.warn({ err: (error as Error).message }, "retention sweep failed")));
    run();
    this.timer = setInterval(run, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async sweep(now = new Date()): Promise<SweepResult> {
    await this.createPartitionsAhead(now);
    const result: SweepResult = { telemetry: 0, telemetryPartitions: 0, dead_letters: 0 };
    if (this.ctx.retentionDays <= 0) return result;
    const cutoff = new Date(now.getTime() - this.ctx.retentionDays * DAY_MS);
    result.telemetryPartitions = await this.dropPartitionsBefore(cutoff);
    for (const { table, column } of ROW_WISE) {
      const deleted = await this.deleteBefore(table, column, cutoff);
      if (table === "dead_letters") result.dead_letters = deleted;
      else result.telemetry = deleted;
    }
    if (result.telemetry || result.telemetryPartitions || result.dead_letters) this.ctx.log.info({ ...result, cutoff }, "retention sweep");
    return result;
  }

  private async createPartitionsAhead(now: Date): Promise<void> {
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    for (let day = 0; day <= PARTITION_DAYS_AHEAD; day++) {
      await this.ctx.pool.query(`SELECT aerie_telemetry_partition($1::date)`, [new Date(today + day * DAY_MS).toISOString().slice(0, 10)]);
    }
  }

  /** Drops the day partitions that end at or before the cutoff; a partition is dropped only once all of its day is past. */
  private async dropPartitionsBefore(cutoff: Date): Promise<number> {
    const partitions = await this.ctx.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'telemetry'::regclass`,
    );
    let dropped = 0;
    for (const { name } of partitions.rows) {
      const match = PARTITION_NAME.exec(name);
      if (!match) continue;
      const end = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) + DAY_MS;
      if (end > cutoff.getTime()) continue;
      // Detach first (a short lock on the parent), then drop the now independent table.
      await this.ctx.pool.query(`ALTER TABLE telemetry DETACH PARTITION "${name}"`);
      await this.ctx.pool.query(`DROP TABLE "${name}"`);
      dropped++;
    }
    return dropped;
  }

  private async deleteBefore(table: string, column: string, cutoff: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      // By physical row address: telemetry has no surrogate key, and rows are never updated.
      const result = await this.ctx.pool.query(`DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE ${column} < $1 LIMIT ${BATCH}))`, [cutoff]);
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < BATCH) return deleted;
    }
  }
}
