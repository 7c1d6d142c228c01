// The `npm start` process as an operator meets it: a taken port stops start-up with exit code 2 and
// the variable's name; a second Aerie on the same data folder is refused and leaves the first one
// running; SIGTERM to `npm start` stops every process it started (Node, PostgreSQL, the S3 child).
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startMosquitto } from "../../infrastructure/mosquitto/launcher.js";
import { freePort, tempDir } from "../helpers/env.js";

const ROOT = new URL("../../", import.meta.url).pathname;

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function launch(command: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, AERIE_LOG_LEVEL: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const aerie = (env: Record<string, string>) => launch(process.execPath, ["--import", "tsx", "cli/aerie.ts", "start"], env);

async function ports(dataDir: string): Promise<Record<string, string>> {
  return {
    AERIE_DATA_DIR: dataDir,
    AERIE_API_PORT: String(await freePort()),
    AERIE_POSTGRES_PORT: String(await freePort()),
    AERIE_MQTT_PORT: String(await freePort()),
    AERIE_S3_PORT: String(await freePort()),
    AERIE_HAWKBIT_PORT: String(await freePort()),
    AERIE_VAULT_PORT: String(await freePort()),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process below `root`, from /proc (Linux). */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of parents) if (ppid === parent) found.push(pid), queue.push(pid);
  }
  return found;
}

async function waitForOutput(started: Started, pattern: RegExp, ms = 150_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(started.output())) {
    if (started.child.exitCode !== null) throw new Error(`exited with ${started.child.exitCode} before ${pattern}:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms:\n${started.output()}`);
    await sleep(100);
  }
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end("not aerie\n"));
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

describe("the Aerie process", function () {
  this.timeout(300_000);

  for (const variable of ["AERIE_API_PORT", "AERIE_S3_PORT"]) {
    it(`stops with exit code 2 naming ${variable} when its port is taken, before starting anything`, async () => {
      const dir = await tempDir();
      const env = await ports(dir.path);
      const squatter = await listen(Number(env[variable]));
      try {
        const started = aerie(env);
        const code = await started.exited;
        expect(code, started.output()).to.equal(2);
        expect(started.output()).to.contain(variable).and.contain(env[variable]).and.not.contain("Aerie is running");
        expect(existsSync(join(dir.path, "postgres")), "PostgreSQL was not initialised").to.equal(false);
        expect(existsSync(join(dir.path, "aerie.lock")), "lock released").to.equal(false);
      } finally {
        squatter.close();
        await dir.remove();
      }
    });
  }

  it("refuses a second Aerie on the same data folder, leaves the first running, and SIGTERM to `npm start` stops everything", async () => {
    const dir = await tempDir();
    const env = await ports(dir.path);
    const first = launch("npm", ["start"], env);
    let processes: number[] = [];
    try {
      await waitForOutput(first, /Aerie is running/);
      const lock = readFileSync(join(dir.path, "aerie.lock"), "utf8").trim();
      processes = descendants(first.child.pid!);
      const postgresPid = Number(readFileSync(join(dir.path, "postgres", "postmaster.pid"), "utf8").split("\n")[0]);
      expect(processes, "PostgreSQL is a child of npm start").to.include(postgresPid);
      expect(processes.map(String), "the lock holds Aerie's pid").to.include(lock);
      // Aerie (node), PostgreSQL (with its workers) and the S3 child at least.
      expect(processes.length).to.be.greaterThan(3);

      const second = aerie({ ...(await ports(dir.path)) });
      const code = await second.exited;
      expect(code, second.output()).to.equal(2);
      expect(second.output()).to.contain(dir.path).and.contain(`pid ${lock}`);
      expect(alive(postgresPid), "the first Aerie's PostgreSQL still runs").to.equal(true);
      const health = await fetch(`http://127.0.0.1:${env.AERIE_API_PORT}/healthz`);
      expect(health.status).to.equal(200);
      expect(readFileSync(join(dir.path, "aerie.lock"), "utf8").trim()).to.equal(lock);

      first.child.kill("SIGTERM");
      expect(await first.exited, first.output()).to.equal(0);
      for (let i = 0; i < 100 && processes.some(alive); i++) await sleep(100);
      expect(processes.filter(alive), "processes left running").to.deep.equal([]);
      expect(existsSync(join(dir.path, "aerie.lock")), "lock released").to.equal(false);
    } finally {
      if (first.child.exitCode === null) first.child.kill("SIGKILL");
      for (const pid of processes) if (alive(pid)) process.kill(pid, "SIGKILL");
      await dir.remove();
    }
  });

  it("with AERIE_MOSQUITTO_AUTH_DIR writes mosquitto's files first and waits for the broker; SIGTERM while waiting stops everything", async () => {
    const dir = await tempDir();
    const mqttPort = await freePort();
    const authDir = join(dir.path, "mosquitto-auth");
    const mqttEnv = { MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`, MQTT_USERNAME: "aerie-bridge", MQTT_PASSWORD: "bridge-password-0123", AERIE_MOSQUITTO_AUTH_DIR: authDir };
    let broker: Awaited<ReturnType<typeof startMosquitto>> | undefined;
    const all: number[] = [];
    try {
      // No broker yet: Aerie writes the files, then waits instead of exiting.
      const waiting = aerie({ ...(await ports(join(dir.path, "a"))), ...mqttEnv });
      await waitForOutput(waiting, /waiting for the MQTT broker/);
      expect(existsSync(join(authDir, "passwd")) && existsSync(join(authDir, "acl")), "auth files written before connecting").to.equal(true);
      broker = await startMosquitto({ dir: dir.path, port: mqttPort, auth: { passwordFile: join(authDir, "passwd"), aclFile: join(authDir, "acl") } });
      await waitForOutput(waiting, /Aerie is running/);
      all.push(...descendants(waiting.child.pid!));
      waiting.child.kill("SIGTERM");
      expect(await waiting.exited, waiting.output()).to.equal(0);
      await broker.stop();
      broker = undefined;

      // Interrupted while waiting (the broker never comes): PostgreSQL and the rest stop too.
      const stuck = aerie({ ...(await ports(join(dir.path, "b"))), ...mqttEnv });
      await waitForOutput(stuck, /waiting for the MQTT broker/);
      const started = descendants(stuck.child.pid!);
      all.push(...started);
      const postgresPid = Number(readFileSync(join(dir.path, "b", "postgres", "postmaster.pid"), "utf8").split("\n")[0]);
      expect(started).to.include(postgresPid);
      stuck.child.kill("SIGTERM");
      expect(await stuck.exited, stuck.output()).to.equal(0);
      for (let i = 0; i < 100 && all.some(alive); i++) await sleep(100);
      expect(all.filter(alive), "processes left running").to.deep.equal([]);
    } finally {
      await broker?.stop();
      for (const pid of all) if (alive(pid)) process.kill(pid, "SIGKILL");
      await dir.remove();
    }
  });
});
