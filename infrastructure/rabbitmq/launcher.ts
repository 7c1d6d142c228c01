// Runs Debian's rabbitmq-server (the broker hawkBit's DMF API uses) in a folder of its own, for tests,
// benchmarks and local runs: loopback only, a private Erlang port mapper (so nothing outlives it and
// parallel runs do not share one), one user with a random password, no guest. Production runs a
// RabbitMQ cluster (docker-compose has one); this only makes a real broker available without one.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../core/ports.js";

const RABBITMQ_HOME = process.env.RABBITMQ_HOME ?? "/usr/lib/rabbitmq";
const SERVER = join(RABBITMQ_HOME, "bin/rabbitmq-server");
const CTL = join(RABBITMQ_HOME, "bin/rabbitmqctl");

export interface RabbitMqOptions {
  dir: string;
  /** AMQP port; a free one when unset. */
  port?: number;
  /** The virtual host created with the broker (hawkBit's DMF runs in one per tenant or test). */
  vhost?: string;
  /** Start-up limit; Erlang boots in 2–5 s on a quiet machine. */
  timeoutMs?: number;
}

export interface RabbitMq {
  /** amqp://user:password@127.0.0.1:port/vhost */
  url: string;
  port: number;
  user: string;
  password: string;
  vhost: string;
  pid: number;
  /** Adds a virtual host the broker's user may use fully; returns its amqp URL. */
  addVhost(name: string): Promise<string>;
  stop(): Promise<void>;
}

async function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

export function rabbitMqAvailable(): boolean {
  return spawnSync(SERVER, ["--help"], { stdio: "ignore" }).error === undefined;
}

export async function startRabbitMq(opts: RabbitMqOptions): Promise<RabbitMq> {
  const port = opts.port ?? (await freePort());
  const vhost = opts.vhost ?? "aerie";
  const user = "aerie";
  const password = randomBytes(18).toString("base64url");
  const nodename = `aerie-${port}@localhost`;
  await mkdir(opts.dir, { recursive: true });
  const config = join(opts.dir, "rabbitmq.conf");
  await writeFile(
    config,
    [
      `listeners.tcp.1 = 127.0.0.1:${port}`,
      // The definitions below are applied on the first boot of this folder only.
      `default_user = ${user}`,
      `default_pass = ${password}`,
      `default_vhost = ${vhost}`,
      "default_user_tags.administrator = true",
      "log.console = false",
      "log.file.level = warning",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  await writeFile(join(opts.dir, "enabled_plugins"), "[].\n");
  const env = {
    ...process.env,
    // The Erlang cookie lives in HOME; a private one keeps other nodes on this machine out.
    HOME: opts.dir,
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(await freePort()),
    RABBITMQ_MNESIA_BASE: join(opts.dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(opts.dir, "log"),
    RABBITMQ_CONFIG_FILE: join(opts.dir, "rabbitmq"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(opts.dir, "enabled_plugins"),
    RABBITMQ_PID_FILE: join(opts.dir, "rabbitmq.pid"),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    ERL_EPMD_PORT: String(await freePort()),
  };
  // Its own process group: the script, erl and the port mapper go together.
  const child = spawn(SERVER, [], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-4000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const killOnExit = () => killGroup("SIGKILL");
  process.once("exit", killOnExit);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (!(await reachable(port))) {
    if (child.exitCode !== null) throw new Error(`rabbitmq-server exited: ${output}`);
    if (Date.now() > deadline) {
      killGroup("SIGKILL");
      throw new Error(`rabbitmq-server did not listen on 127.0.0.1:${port}: ${output}`);
    }
    await sleep(100);
  }
  const ctl = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const run = spawn(CTL, ["-n", nodename, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      run.stdout!.on("data", (c: Buffer) => void (text += c.toString()));
      run.stderr!.on("data", (c: Buffer) => void (text += c.toString()));
      run.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`rabbitmqctl ${args.join(" ")}: ${text.trim()}`))));
    });
  const urlFor = (name: string) => `amqp://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(name)}`;
  return {
    url: urlFor(vhost),
    port,
    user,
    password,
    vhost,
    pid: child.pid!,
    async addVhost(name) {
      await ctl(["add_vhost", name]);
      await ctl(["set_permissions", "-p", name, user, ".*", ".*", ".*"]);
      return urlFor(name);
    },
    async stop() {
      process.off("exit", killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup("SIGTERM");
      await Promise.race([exited, sleep(10_000).then(() => killGroup("SIGKILL"))]);
      await exited;
      // The private port mapper was started detached by erl, outside our group.
      spawnSync("epmd", ["-kill"], { env, stdio: "ignore" });
    },
  };
}
