// Runs Debian's mosquitto with a generated configuration in a folder of its own: for tests, benchmarks
// and local scale-out runs (MQTT v5, shared subscriptions, persistent sessions). Listens on 127.0.0.1.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? "/usr/sbin/mosquitto";

export interface MosquittoOptions {
  dir: string;
  port: number;
  host?: string;
  /** Password and ACL files (see bridge/auth/mosquitto-files.ts); anonymous access when unset. */
  auth?: { passwordFile: string; aclFile: string };
  /** Largest MQTT packet mosquitto accepts (default 1 MiB, as the embedded broker). */
  maxPacketBytes?: number;
  /** Keep sessions and queued messages in dir across a restart of mosquitto. */
  persistence?: boolean;
}

export interface Mosquitto {
  url: string;
  pid: number;
  process: ChildProcess;
  /** SIGHUP: re-read the password and ACL files. */
  reload(): void;
  stop(): Promise<void>;
}

export function mosquittoConfig(opts: MosquittoOptions): string {
  return [
    `listener ${opts.port} ${opts.host ?? "127.0.0.1"}`,
    "protocol mqtt",
    opts.auth ? "allow_anonymous false" : "allow_anonymous true",
    // With Aerie's files the client id is the login: nobody can take over the bridge's or a device's session.
    ...(opts.auth ? [`password_file ${opts.auth.passwordFile}`, `acl_file ${opts.auth.aclFile}`, "use_username_as_clientid true"] : []),
    // Silent QoS1 drops beyond the default queue of 100 would break lossless ingest (shared notes).
    "max_queued_messages 0",
    // As AERIE_MQTT_MAX_PACKET_BYTES on the embedded broker: a larger packet closes its sender's connection.
    `max_packet_size ${opts.maxPacketBytes ?? 1048576}`,
    // The bridge holds PUBACKs until its batch commits, and stops reading its socket when
    // AERIE_BRIDGE_MAX_INFLIGHT (default 2000) messages wait. An unlimited window would let mosquitto push
    // past that, and the keepalive answer would queue behind the backlog until the bridge reconnects.
    // MQTT v5 clients say so themselves (receiveMaximum); for MQTT 3.1.1 the broker must keep below it.
    "max_inflight_messages 1000",
    `persistence ${opts.persistence ? "true" : "false"}`,
    `persistence_location ${opts.dir}/`,
    // Root would otherwise switch to user mosquitto, which cannot read the 0600 auth files.
    ...(process.getuid?.() === 0 ? ["user root"] : []),
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "",
  ].join("\n");
}

async function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

export async function startMosquitto(opts: MosquittoOptions): Promise<Mosquitto> {
  const host = opts.host ?? "127.0.0.1";
  const configFile = join(opts.dir, "mosquitto.conf");
  await writeFile(configFile, mosquittoConfig(opts));
  const child = spawn(MOSQUITTO_BIN, ["-c", configFile], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000)));
  // A test or benchmark that crashes (an uncaught error skips its cleanups) must not leave mosquitto behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const exited = new Promise<void>((resolve) => child.once("exit", () => {
    process.off("exit", killOnExit);
    resolve();
  }));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
    if (await reachable(host, opts.port)) break;
    if (i > 100) {
      child.kill("SIGKILL");
      throw new Error(`mosquitto did not listen on ${opts.port}: ${stderr}`);
    }
    await sleep(20);
  }
  return {
    url: `mqtt://${host}:${opts.port}`,
    pid: child.pid!,
    process: child,
    reload: () => void child.kill("SIGHUP"),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(5000).then(() => child.kill("SIGKILL"))]);
      await exited;
    },
  };
}
