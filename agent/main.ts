// aerie-agent entry point: `aerie-agent --config /etc/aerie-agent/config.json`.
// Also `aerie-agent --config FILE --check-config` (validates, prints the resolved configuration, token hidden).
import { ConfigError, loadConfig, type AgentConfig } from "./config.js";
import { createAgent } from "./factory.js";

function main(argv: string[]): void {
  const at = argv.indexOf("--config");
  const path = at >= 0 ? argv[at + 1] : process.env.AERIE_AGENT_CONFIG ?? "/etc/aerie-agent/config.json";
  let config: AgentConfig;
  try {
    config = loadConfig(path);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
  if (argv.includes("--check-config")) {
    process.stdout.write(`${JSON.stringify({ ...config, token: config.token ? "(set)" : undefined }, null, 2)}\n`);
    return;
  }
  const agent = createAgent(config);
  agent.start();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), level: "info", msg: `stopping on ${signal}` })}\n`);
    void agent.stop().finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main(process.argv.slice(2));
