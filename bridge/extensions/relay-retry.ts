// A relay to hawkBit is retried a few times with backoff (hawkBit restarting, a proxy hiccup). A
// client error (4xx: the action is gone, the report is invalid) is final at once.
import { HawkbitError } from "../../api/hawkbit/errors.js";
import type { BridgeContext } from "../extension.js";

export async function withRelayRetry(ctx: BridgeContext, relay: () => Promise<void>, attempts = 5): Promise<{ ok: true } | { ok: false; error: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      await relay();
      return { ok: true };
    } catch (error) {
      ctx.metrics.bridgeErrors.inc({ stage: "relay" });
      const status = error instanceof HawkbitError ? error.status : undefined;
      const final = (status !== undefined && status >= 400 && status < 500) || attempt >= attempts;
      ctx.log.warn({ err: (error as Error).message, attempt, final }, "relay to hawkBit failed");
      if (final) return { ok: false, error: (error as Error).message };
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}
