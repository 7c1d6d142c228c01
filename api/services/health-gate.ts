// The health gate: a group counts as healthy once enough of its devices reported, after rebooting into the
// update, a healthy health report for their action at least `soakSeconds` ago, and none reported unhealthy
// since. Health reports are what the bridge stores (health.ts): audit events `device.health` with the payload.
import type { Database } from "../../core/db/prisma.js";

export interface GateVerdict {
  /** Devices healthy for at least the soak time. */
  healthy: number;
  /** Devices whose latest report for their action is unhealthy, or whose update failed after an unhealthy report (rolled back). */
  unhealthy: string[];
  /** Devices still updating, or healthy for less than the soak time. */
  waiting: number;
  /** Devices whose update failed (the error threshold judges those). */
  failed: number;
  passed: boolean;
}

interface HealthDetails {
  actionId?: number;
  healthy?: boolean;
}

export async function evaluateHealthGate(
  db: Database, campaignId: string, controllerIds: string[], soakSeconds: number, successThreshold: number, now = Date.now(),
): Promise<GateVerdict> {
  const verdict: GateVerdict = { healthy: 0, unhealthy: [], waiting: 0, failed: 0, passed: false };
  if (controllerIds.length === 0) return { ...verdict, passed: true };
  const devices = await db.device.findMany({
    where: { controllerId: { in: controllerIds } },
    include: { actions: { where: { campaignId }, orderBy: { createdAt: "desc" }, take: 1 } },
  });
  const byController = new Map(devices.map((d) => [d.controllerId, d]));
  for (const controllerId of controllerIds) {
    const device = byController.get(controllerId);
    const action = device?.actions[0];
    if (!device || !action) {
      verdict.waiting++;
      continue;
    }
    const reports = await db.auditEvent.findMany({
      where: { action: "device.health", subject: `device:${device.id}`, details: { path: ["actionId"], equals: action.hawkbitActionId } },
      orderBy: { at: "asc" },
    });
    if (action.status !== "success") {
      // A device that booted the update and found it unhealthy rolls back and reports failure; its last
      // report then describes the old slot it went back to. It is an unhealthy device the gate names (also
      // while its failure is still on its way: hawkBit may close the action before Aerie stored the status),
      // not just a failed install left to the error threshold.
      if (reports.some((r) => (r.details as HealthDetails).healthy === false)) verdict.unhealthy.push(controllerId);
      else if (action.status === "failure" || action.status === "rejected") verdict.failed++;
      else verdict.waiting++;
      continue;
    }
    const last = reports[reports.length - 1];
    if (!last) {
      verdict.waiting++;
      continue;
    }
    if ((last.details as HealthDetails).healthy !== true) {
      verdict.unhealthy.push(controllerId);
      continue;
    }
    // Healthy since the first healthy report after the last unhealthy one.
    let since = last.at.getTime();
    for (let i = reports.length - 1; i >= 0 && (reports[i]!.details as HealthDetails).healthy === true; i--) since = reports[i]!.at.getTime();
    if (now - since >= soakSeconds * 1000) verdict.healthy++;
    else verdict.waiting++;
  }
  verdict.passed = verdict.unhealthy.length === 0 && (verdict.healthy * 100) / controllerIds.length >= successThreshold;
  return verdict;
}
