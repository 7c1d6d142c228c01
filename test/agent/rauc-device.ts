// A file-backed RAUC device for the agent tests: a private D-Bus (dbus-daemon with a sandbox
// configuration of its own), a real `rauc service` on it with a sandbox system.conf (file-backed
// raw slots A/B, the test CA as keyring) and RAUC's `custom` bootloader backend implemented by a
// script that records every call, the slot states and the primary slot. powerOn() is the
// bootloader: it restarts the service with --override-boot-slot (the booted slot as /proc/cmdline
// would name it), and writes the versions file the booted image carries.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { slotImage, SLOT_SIZE } from "./swupdate-device.js";
import { writeJson } from "./helpers.js";
import { runCommand } from "../../agent/exec.js";

const BACKEND = `#!/bin/sh
# RAUC custom bootloader backend (bootloader=custom): records calls, slot states and the primary.
d="$(dirname "$0")"
echo "$*" >> "$d/backend.log"
case "$1" in
  get-primary) cat "$d/primary" ;;
  set-primary) echo "$2" > "$d/primary"; echo good > "$d/state.$2" ;;
  get-state) cat "$d/state.$2" 2>/dev/null || echo good ;;
  set-state) echo "$3" > "$d/state.$2" ;;
  get-current) cat "$d/current" ;;
  *) exit 1 ;;
esac
`;

const BUS_CONFIG = (socket: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

export class RaucDevice {
  readonly configPath: string;
  readonly busAddress: string;
  private bus: ChildProcess | undefined;
  private service: ChildProcess | undefined;
  serviceLog = "";

  constructor(readonly dir: string, readonly controllerId: string) {
    this.configPath = join(dir, "agent.json");
    this.busAddress = `unix:path=${join(dir, "bus")}`;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async create(options: { mqttUrl: string; keyring: string; extra?: Record<string, unknown> }): Promise<void> {
    await mkdir(this.path("slots"), { recursive: true });
    await mkdir(this.path("data"), { recursive: true });
    await writeFile(this.path("slots/A.img"), Buffer.concat([slotImage("1.0.0"), Buffer.alloc(4096)]));
    await writeFile(this.path("slots/B.img"), Buffer.alloc(SLOT_SIZE));
    await copyFile(options.keyring, this.path("keyring.pem"));
    await writeFile(this.path("backend"), BACKEND, { mode: 0o755 });
    await writeFile(this.path("primary"), "A\n");
    await writeFile(this.path("reboot"), `#!/bin/sh\necho "reboot $(date +%s%N)" >> "$(dirname "$0")/reboots"\n`, { mode: 0o755 });
    await writeFile(this.path("system.conf"), [
      "[system]", "compatible=aerie-board", "bootloader=custom", `data-directory=${this.path("data")}`, "",
      "[keyring]", `path=${this.path("keyring.pem")}`, "",
      "[handlers]", `bootloader-custom-backend=${this.path("backend")}`, "",
      "[slot.rootfs.0]", `device=${this.path("slots/A.img")}`, "type=raw", "bootname=A", "",
      "[slot.rootfs.1]", `device=${this.path("slots/B.img")}`, "type=raw", "bootname=B", "",
    ].join("\n"));
    await writeFile(this.path("bus.conf"), BUS_CONFIG(this.path("bus")));
    await writeJson(this.configPath, {
      controllerId: this.controllerId,
      token: "unused-without-broker-auth",
      mqtt: { url: options.mqttUrl },
      updateClient: "rauc",
      hardware: "aerie-board",
      stateDir: this.path("state"),
      keyring: { publicKeys: {} },
      download: { retries: 3, retryDelayMs: 200, timeoutSeconds: 20 },
      telemetry: { intervalSeconds: 0 },
      versionsFile: this.path("sw-versions"),
      bootIdFile: this.path("boot_id"),
      rauc: { dbusAddress: this.busAddress },
      reboot: { command: [this.path("reboot")] },
      health: { checks: [{ name: "app", command: ["sh", "-c", `if [ -e '${this.path("unhealthy")}' ]; then cat '${this.path("unhealthy")}'; exit 1; fi`], timeoutSeconds: 10 }] },
      logLevel: "debug",
      ...options.extra,
    });
    this.bus = spawn("dbus-daemon", ["--config-file", this.path("bus.conf"), "--nofork", "--nopidfile"], { stdio: "ignore" });
    await this.powerOn("A");
  }

  private async startService(booted: string): Promise<void> {
    this.service = spawn("rauc", ["service", `--conf=${this.path("system.conf")}`, `--override-boot-slot=${booted}`], {
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: this.busAddress },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const append = (chunk: Buffer) => {
      this.serviceLog += chunk.toString("utf8");
    };
    this.service.stdout!.on("data", append);
    this.service.stderr!.on("data", append);
    for (let i = 0; i < 100; i++) {
      const probe = await runCommand(["rauc", "status", "--output-format=json"], { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: this.busAddress }, timeoutMs: 10_000 });
      if (probe.code === 0 && this.serviceLog.length > 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`rauc service did not come up: ${this.serviceLog}`);
  }

  private async stopService(): Promise<void> {
    const service = this.service;
    this.service = undefined;
    if (!service || service.exitCode !== null || service.signalCode !== null) return;
    const exited = new Promise((r) => service.once("exit", r));
    service.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (service.exitCode === null && service.signalCode === null) service.kill("SIGKILL");
  }

  /** The bootloader: boots `slot`, or the primary one. */
  async powerOn(slot?: string): Promise<string> {
    await this.stopService();
    const booted = slot ?? (await readFile(this.path("primary"), "utf8")).trim();
    await writeFile(this.path("current"), `${booted}\n`);
    await writeFile(this.path("boot_id"), `${randomUUID()}\n`);
    const first = (await readFile(this.path(`slots/${booted}.img`))).subarray(0, 64).toString("latin1");
    const version = /AERIE-VERSION=([^\n]+)/.exec(first)?.[1];
    await writeFile(this.path("sw-versions"), version ? `rootfs ${version}\n` : "");
    await this.startService(booted);
    return booted;
  }

  async backendCalls(): Promise<string[]> {
    return (await readFile(this.path("backend.log"), "utf8").catch(() => "")).split("\n").filter(Boolean);
  }

  async primary(): Promise<string> {
    return (await readFile(this.path("primary"), "utf8")).trim();
  }

  async slotState(bootname: string): Promise<string> {
    return (await readFile(this.path(`state.${bootname}`), "utf8").catch(() => "good\n")).trim();
  }

  async reboots(): Promise<number> {
    return (await readFile(this.path("reboots"), "utf8").catch(() => "")).split("\n").filter(Boolean).length;
  }

  async slotVersion(slot: "A" | "B"): Promise<string | undefined> {
    return /AERIE-VERSION=([^\n]+)/.exec((await readFile(this.path(`slots/${slot}.img`))).subarray(0, 64).toString("latin1"))?.[1];
  }

  async stop(): Promise<void> {
    await this.stopService();
    if (this.bus && this.bus.exitCode === null) {
      const exited = new Promise((r) => this.bus!.once("exit", r));
      this.bus.kill("SIGTERM");
      await exited;
    }
  }
}
