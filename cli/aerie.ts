// `aerie <command> [args]`. Each command lives in cli/commands/<name>.ts and exports
// `summary` (one line for the overview) and `run(args): Promise<number>` (the exit code).
import { pathToFileURL } from "node:url";
import { redactText } from "../core/redact.js";

export interface CliCommand {
  summary: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<CliCommand>> = {
  start: () => import("./commands/start.js"),
  config: () => import("./commands/config.js"),
  sign: () => import("./commands/sign.js"),
  keyring: () => import("./commands/keyring.js"),
  tokens: () => import("./commands/tokens.js"),
  artifacts: () => import("./commands/artifacts.js"),
  releases: () => import("./commands/releases.js"),
  campaigns: () => import("./commands/campaigns.js"),
  devices: () => import("./commands/devices.js"),
  audit: () => import("./commands/audit.js"),
};

async function overview(): Promise<string> {
  const lines = ["Usage: aerie <command> [options]", "", "Commands:"];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const command = await load();
    lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  }
  lines.push("", "Run `aerie <command> --help` for a command's options.");
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(await overview());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`aerie: unknown command '${name}'\n\n${await overview()}`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (error) {
    console.error(`aerie ${name}: ${redactText((error as Error).message)}`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
