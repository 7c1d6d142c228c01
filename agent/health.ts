// Post-boot health: each configured check is a command with a timeout; exit 0 = healthy. The
// checks' output is kept (tail) for the failure report, so an operator sees why a slot was refused.
import type { HealthCheckSpec } from "./config.js";
import { describeFailure, runCommand } from "./exec.js";

export interface HealthResult {
  healthy: boolean;
  checks: Record<string, boolean>;
  /** One line per failed check plus its output's last lines. */
  details: string[];
}

export async function runHealthChecks(checks: HealthCheckSpec[]): Promise<HealthResult> {
  const result: HealthResult = { healthy: true, checks: {}, details: [] };
  for (const check of checks) {
    const run = await runCommand(check.command, { timeoutMs: (check.timeoutSeconds ?? 60) * 1000 });
    const ok = run.code === 0 && !run.timedOut;
    result.checks[check.name] = ok;
    if (!ok) {
      result.healthy = false;
      const [head, ...lines] = describeFailure(check.command, run, 6);
      result.details.push(`health check ${check.name} failed (${head})`, ...lines);
    }
  }
  result.details = result.details.slice(0, 20);
  return result;
}
