// Runs the stand-in on its own: `tsx infrastructure/hawkbit-standin/main.ts`.
import { logger } from "../../core/log.js";
import { startHawkbitStandin } from "./index.js";

const env = process.env;
const log = logger("hawkbit-standin");

const standin = await startHawkbitStandin({
  host: env.HAWKBIT_STANDIN_HOST ?? "127.0.0.1",
  port: Number(env.HAWKBIT_STANDIN_PORT ?? 8080),
  dataDir: env.HAWKBIT_STANDIN_DATA_DIR ?? "data/hawkbit-standin",
  tenant: env.HAWKBIT_STANDIN_TENANT ?? "DEFAULT",
  username: env.HAWKBIT_STANDIN_USERNAME ?? "admin",
  password: env.HAWKBIT_STANDIN_PASSWORD ?? "admin",
  // Like a provisioned hawkBit: a gateway token given here is enabled at start; without one DDI stays off (401).
  tenantConfig: env.HAWKBIT_STANDIN_GATEWAY_TOKEN
    ? { "authentication.gatewaytoken.enabled": true, "authentication.gatewaytoken.key": env.HAWKBIT_STANDIN_GATEWAY_TOKEN }
    : undefined,
  schedulerIntervalMs: env.HAWKBIT_STANDIN_SCHEDULER_MS ? Number(env.HAWKBIT_STANDIN_SCHEDULER_MS) : undefined,
  pollingSleep: env.HAWKBIT_STANDIN_POLLING_SLEEP,
  dmfUrl: env.HAWKBIT_STANDIN_DMF_URL,
});
log.info({ url: standin.url }, "hawkBit stand-in ready");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    standin.close().then(() => process.exit(0), (err) => {
      log.error({ err }, "shutdown failed");
      process.exit(1);
    });
  });
}
