// After Aerie starts or resumes a rollout, hawkBit has new actions: wake the bridge so it notifies
// the devices now instead of after its idle polling interval (AERIE_BRIDGE_IDLE_SYNC_MS).
import type { Database } from "../../core/db/prisma.js";
import { WAKE_CHANNEL } from "../../bridge/wake.js";

export async function wakeBridge(db: Database): Promise<void> {
  await db.$executeRawUnsafe(`NOTIFY ${WAKE_CHANNEL}`);
}
