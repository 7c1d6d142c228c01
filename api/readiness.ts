// Each dependency reports up or down with a reason; /readyz is 200 only when all are up.
import { redactText } from "../core/redact.js";

export type DependencyCheck = () => Promise<string | void>;

export interface DependencyState {
  state: "up" | "down";
  detail?: string;
  latencyMs: number;
}

export async function checkAll(checks: Record<string, DependencyCheck>, timeoutMs = 2000): Promise<Record<string, DependencyState>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        });
        const detail = await Promise.race([check(), timeout]);
        return [name, { state: "up", detail: detail || undefined, latencyMs: Date.now() - started }] as const;
      } catch (error) {
        // A dependency's error may name its URL, credentials included (a DATABASE_URL in a pg error).
        return [name, { state: "down", detail: redactText((error as Error).message), latencyMs: Date.now() - started }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}
