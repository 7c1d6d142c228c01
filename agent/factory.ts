// Builds the agent from a configuration (main.ts and the tests).
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { Agent } from "./agent.js";
import type { AgentConfig } from "./config.js";
import { RaucBackend } from "./installers/rauc.js";
import { SwupdateBackend } from "./installers/swupdate.js";
import type { UpdateBackend } from "./installers/types.js";
import { createLogger, type Logger } from "./log.js";
import { MqttSession } from "./mqtt-session.js";
import { StateStore } from "./state-store.js";
import { Keyring } from "./verifier.js";

const onPath = (tool: string) => (process.env.PATH ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, tool)));

export function createBackend(config: AgentConfig): UpdateBackend {
  if (config.updateClient === "rauc") return new RaucBackend(config);
  // util-linux setpriv makes swupdate die with the agent: after a crash the install is known to
  // have stopped, and is started again instead of racing a leftover swupdate.
  return new SwupdateBackend(config, onPath("setpriv") ? ["setpriv", "--pdeathsig", "KILL", "--"] : []);
}

export function createAgent(config: AgentConfig, log: Logger = createLogger(config.logLevel)): Agent {
  const store = new StateStore(config.stateDir);
  const keyring = new Keyring(config.keyring.publicKeys);
  const backend = createBackend(config);
  let agent: Agent | undefined;
  const session = new MqttSession(config, store, log, () => agent!.hello());
  agent = new Agent({ config, store, session, backend, keyring, log });
  return agent;
}

