// Cuts the bridge's idle polling short: whoever starts or changes a campaign (the API) notifies, and
// the leading bridge instance asks hawkBit for changed actions at once instead of within
// AERIE_BRIDGE_IDLE_SYNC_MS. Without it the bridge still finds the change, only later.
import type pg from "pg";

export const WAKE_CHANNEL = "aerie_bridge_wake";

export async function wakeBridge(pool: pg.Pool | pg.Client): Promise<void> {
  await pool.query(`NOTIFY ${WAKE_CHANNEL}`);
}
