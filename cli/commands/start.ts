// `aerie start`: runs Aerie until SIGINT/SIGTERM, then stops everything it started and exits 0.
import { InvalidConfigError, loadConfig } from "../../core/config.js";
import { DataDirInUseError } from "../../core/data-lock.js";
import { PortInUseError } from "../../core/ports.js";
import { redactUrl } from "../../core/redact.js";
import { StartAbortedError } from "../../core/shutdown.js";
import { startAerie } from "../../core/stack.js";

export const summary = "Run Aerie (API, bridge, and embedded services for every unset variable).";

const HELP = `Usage: aerie start

Runs Aerie in the foreground. Every external service whose variable is unset is embedded
(PostgreSQL, aedes, s3rver, hawkBit and Vault stand-ins), with data under AERIE_DATA_DIR.
See \`aerie config\` for every variable. Stop with Ctrl-C or SIGTERM.`;

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      console.error(`aerie: ${error.message}`);
      return 2;
    }
    throw error;
  }
  // Signals are handled from the start: SIGTERM while PostgreSQL is starting, or while Aerie waits for
  // its MQTT broker, stops what has started instead of killing Node and leaving PostgreSQL behind.
  const interrupted = new AbortController();
  let onSignal = (signal: NodeJS.Signals) => {
    console.log(`\n${signal}: stopping Aerie's start-up…`);
    interrupted.abort();
  };
  const handle = (signal: NodeJS.Signals) => onSignal(signal);
  process.on("SIGINT", handle);
  process.on("SIGTERM", handle);
  let stack;
  try {
    stack = await startAerie(config, { signal: interrupted.signal });
  } catch (error) {
    if (error instanceof StartAbortedError) return 0;
    // Start-up refused for a reason the operator fixes in the configuration: exit code 2, as for a bad variable.
    if (error instanceof PortInUseError || error instanceof DataDirInUseError) {
      console.error(`aerie: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const shown = Object.fromEntries(Object.entries(stack.endpoints).map(([name, url]) => [name, redactUrl(url)])) as unknown as typeof stack.endpoints;
  console.log(`Aerie is running.
  API          ${shown.api}  (health ${shown.api}/readyz, metrics ${shown.api}/metrics)
  MQTT         ${shown.mqtt}
  S3           ${shown.s3}
  hawkBit      ${shown.hawkbit}
  Vault        ${shown.vault}
  PostgreSQL   ${shown.database}
Press Ctrl-C to stop.`);

  const running = stack;
  return new Promise<number>((resolve) => {
    let stopping = false;
    onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping Aerie…`);
      running.stop().then(
        () => resolve(0),
        (error) => {
          console.error(`aerie: error while stopping: ${(error as Error).message}`);
          resolve(1);
        },
      );
    };
  });
}
