// The device side of consent: for notices with consentRequired (hawkBit's confirmation flow) and
// before installing a `soft` action, the agent asks its policy — accept, defer (ask again after
// deferSeconds), reject — or a hook command that may ask a user (exit 0 accept, 10 defer, anything
// else reject; its stdout's first line becomes the reason). `forced` actions are not asked.
// Device-side maintenance windows (local time) bound when an install may start.
import type { Deployment } from "../bridge/protocol/schemas.js";
import type { AgentConfig } from "./config.js";
import { runCommand } from "./exec.js";

export type Decision = { decision: "accept" } | { decision: "defer"; until: Date; reason?: string } | { decision: "reject"; reason: string };

export const HOOK_DEFER_EXIT = 10;

export async function askConsent(config: AgentConfig["consent"], deployment: Deployment, now = new Date()): Promise<Decision> {
  const deferred = (reason?: string): Decision => ({ decision: "defer", until: new Date(now.getTime() + config.deferSeconds * 1000), reason });
  switch (config.policy) {
    case "accept":
      return { decision: "accept" };
    case "defer":
      return deferred("policy: defer");
    case "reject":
      return { decision: "reject", reason: "policy: reject" };
    case "hook": {
      const hook = config.hook!;
      const env = {
        ...process.env,
        AERIE_ACTION_ID: String(deployment.actionId),
        AERIE_ACTION_TYPE: deployment.type,
        AERIE_RELEASE_NAME: deployment.release.name,
        AERIE_RELEASE_VERSION: deployment.release.version,
      };
      const run = await runCommand(hook.command, { timeoutMs: (hook.timeoutSeconds ?? 30) * 1000, env });
      const reason = run.stdout.split("\n")[0]?.trim() || undefined;
      if (run.code === 0) return { decision: "accept" };
      // A hook that cannot answer (timeout, missing) is asked again later, not taken as a refusal.
      if (run.code === HOOK_DEFER_EXIT || run.timedOut || run.error) return deferred(reason ?? (run.timedOut ? "consent hook timed out" : run.error));
      return { decision: "reject", reason: reason ?? `consent hook exited with ${run.code ?? run.signal}` };
    }
  }
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** True when `now` (local time) lies in one of the windows; no windows = always. `to` < `from` wraps midnight. */
export function inMaintenanceWindow(windows: AgentConfig["maintenanceWindows"], now = new Date()): boolean {
  if (windows.length === 0) return true;
  const m = now.getHours() * 60 + now.getMinutes();
  return windows.some(({ from, to }) => {
    const f = minutes(from);
    const t = minutes(to);
    return f <= t ? m >= f && m < t : m >= f || m < t;
  });
}

/** When the next window opens (for a timer), or now when inside one. */
export function nextWindowStart(windows: AgentConfig["maintenanceWindows"], now = new Date()): Date {
  if (inMaintenanceWindow(windows, now)) return now;
  let best: Date | undefined;
  for (const { from } of windows) {
    const start = new Date(now);
    start.setHours(Number(from.slice(0, 2)), Number(from.slice(3, 5)), 0, 0);
    if (start <= now) start.setDate(start.getDate() + 1);
    if (!best || start < best) best = start;
  }
  return best!;
}
