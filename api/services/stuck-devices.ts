// Stuck devices: hawkBit waits forever for a device that stopped reporting, which holds its group (and with it the
// campaign). With `stuckTimeoutSeconds` (or per state), Aerie closes such an action as failed on the device's behalf
// through DDI (gateway token), naming the timeout, so the group's error threshold and the retry can deal with it.
//
// Aerie's device_actions row is marked first and the feedback sent second: after a crash in between, the next pass
// finds the row marked but the action still open in hawkBit and sends the feedback again.
import type { HawkbitDeviceChannel } from "../../hawkbit/channel.js";
import type { Database } from "../../core/db/prisma.js";
import { logger } from "../../core/log.js";
import { audit } from "../audit.js";
import { HawkbitError } from "../../hawkbit/errors.js";
import { MAX_PAGE_SIZE, type HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { actionStatus, controllerIdOf, openActionsOfRollout, pagesById } from "../../hawkbit/actions.js";
import type { MgmtAction } from "../../hawkbit/types.js";

/** Only the feedback call is needed; any HawkbitDeviceChannel (DDI today) will do. */
export type FeedbackChannel = Pick<HawkbitDeviceChannel, "sendFeedback" | "transport">;

export interface StuckTimeoutOptions {
  stuckTimeoutSeconds?: number;
  /** Per state: Aerie's device-action status (downloading, installing, ...) or hawkBit's (running, retrieved, ...). */
  stuckTimeoutPerState?: Record<string, number>;
}

/** Marks a detail written by the timeout, so progress can count timed-out devices and a crash can be repaired. */
export const TIMED_OUT_PREFIX = "timed out:";

// Not started yet (scheduled), or waiting on someone else than the device (cancel, consent): no default timeout.
const EXEMPT_BY_DEFAULT = new Set(["scheduled", "canceling", "wait_for_confirmation", "awaiting-consent"]);
const FINAL = ["success", "failure", "rejected", "canceled", "closed"];

export class StuckDevices {
  private readonly log = logger("stuck-devices");

  constructor(private readonly db: Database, private readonly hawkbit: HawkbitManagementClient, private readonly channel: FeedbackChannel) {}

  /** Fails the campaign's actions that stayed in one state too long; returns how many it failed in this pass. */
  async check(campaignId: string, options: StuckTimeoutOptions, rolloutId: number, now = Date.now()): Promise<number> {
    if (options.stuckTimeoutSeconds === undefined && !options.stuckTimeoutPerState) return 0;
    const open: MgmtAction[] = [];
    for await (const page of pagesById((q) => this.hawkbit.listActions(q), { q: openActionsOfRollout(rolloutId), pageSize: MAX_PAGE_SIZE })) open.push(...page);
    if (open.length === 0) return 0;
    const rows = await this.db.deviceAction.findMany({ where: { hawkbitActionId: { in: open.map((a) => a.id) } }, include: { device: { select: { controllerId: true } } } });
    const rowOf = new Map(rows.map((r) => [r.hawkbitActionId, r]));
    let failed = 0;
    for (const action of open) {
      const controllerId = controllerIdOf(action);
      if (!controllerId) continue;
      const row = rowOf.get(action.id);
      const hawkbitState = actionStatus(action) || "running";
      const repairing = row?.status === "failure" && row.detail?.startsWith(TIMED_OUT_PREFIX);
      // The device's own final report is on its way to hawkBit (the bridge relays first, then records).
      if (row && FINAL.includes(row.status) && !repairing) continue;
      let detail = row?.detail ?? "";
      if (!repairing) {
        const state = row?.status ?? hawkbitState;
        const limit = options.stuckTimeoutPerState?.[state] ?? options.stuckTimeoutPerState?.[hawkbitState]
          ?? (EXEMPT_BY_DEFAULT.has(state) || EXEMPT_BY_DEFAULT.has(hawkbitState) ? undefined : options.stuckTimeoutSeconds);
        if (limit === undefined) continue;
        const since = Math.max(row?.updatedAt.getTime() ?? 0, action.lastModifiedAt ?? action.createdAt ?? now);
        if (now - since < limit * 1000) continue;
        detail = `${TIMED_OUT_PREFIX} no progress for ${limit}s in state ${state} (campaign stuck timeout)`;
        await this.mark(campaignId, controllerId, action.id, detail);
        await audit(this.db, "aerie", "device.timeout", `device:${controllerId}`, { campaignId, actionId: action.id, state, seconds: limit });
      }
      try {
        await this.channel.sendFeedback(controllerId, action.id, { execution: "closed", finished: "failure", details: [detail] });
      } catch (error) {
        // Closed meanwhile (the device answered at last, or an operator cancelled): nothing left to fail.
        if (!(error instanceof HawkbitError && error.status === 410)) throw error;
      }
      this.log.info({ campaign: campaignId, controllerId, actionId: action.id }, "stuck device failed by timeout");
      failed++;
    }
    return failed;
  }

  private async mark(campaignId: string, controllerId: string, actionId: number, detail: string): Promise<void> {
    const updated = await this.db.deviceAction.updateMany({ where: { hawkbitActionId: actionId, status: { notIn: FINAL } }, data: { status: "failure", detail } });
    if (updated.count > 0) return;
    // A device that never picked its action up has no row yet; Aerie records the failure if it knows the device.
    const device = await this.db.device.findUnique({ where: { controllerId } });
    if (!device) return;
    await this.db.deviceAction.upsert({
      where: { hawkbitActionId: actionId },
      create: { hawkbitActionId: actionId, deviceId: device.id, campaignId, status: "failure", detail },
      update: {},
    });
  }
}

