// SWUpdate: `swupdate -i <file> -k <CA bundle> [-e <selection of the target slot>]` (Debian's
// swupdate checks the CMS signature of sw-description against -k and every image's sha256 before
// writing); the reason of a refusal is SWUpdate's own [ERROR] lines. A/B is SWUpdate's usual U-Boot
// scheme: the agent sets the boot slot variable, `upgrade_available=1`, `bootcount=0` and
// `ustate=1` (SWUpdate's STATE_INSTALLED) after the install; on commit `ustate=0` and
// `upgrade_available=0`; on rollback `ustate=3` (STATE_FAILED) and the old slot. The environment is
// read and written with configurable commands (fw_printenv -n / fw_setenv -s by default).
// The booted slot is found on the kernel command line (root=<device> or <anything>.slot=<bootname>).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentConfig } from "../config.js";
import { describeFailure, runCommand } from "../exec.js";
import type { InstallResult, SlotStatus, SystemStatus, UpdateBackend } from "./types.js";
import { readVersions } from "../versions.js";

/** SWUpdate's bootloader state values (core/state.h). */
export const USTATE = { OK: "0", INSTALLED: "1", TESTING: "2", FAILED: "3" } as const;

export class SwupdateBackend implements UpdateBackend {
  readonly client = "swupdate" as const;

  accepts(filename: string): boolean {
    return /\.swu$/i.test(filename);
  }

  constructor(private readonly config: AgentConfig, private readonly killWithParent: string[] = []) {}

  async getEnv(name: string): Promise<string | undefined> {
    const run = await runCommand([...this.config.swupdate.getEnv, name], { timeoutMs: 30_000 });
    if (run.code !== 0) return undefined;
    return run.stdout.trim();
  }

  async setEnv(values: Record<string, string>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "aerie-agent-env-"));
    try {
      const script = join(dir, "env");
      await writeFile(script, Object.entries(values).map(([k, v]) => `${k} ${v}`).join("\n") + "\n");
      const argv = [...this.config.swupdate.setEnv, script];
      const run = await runCommand(argv, { timeoutMs: 30_000 });
      if (run.code !== 0) throw new Error(`setting the bootloader environment failed: ${describeFailure(argv, run).join(" | ")}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async bootedSlot(): Promise<SlotStatus | undefined> {
    const slots = this.config.swupdate.slots;
    if (slots.length === 0) return undefined;
    const cmdline = (await readFile(this.config.cmdlineFile, "utf8").catch(() => "")).trim().split(/\s+/);
    return slots.find((slot) => cmdline.some((token) => (slot.device && token === `root=${slot.device}`) || (token.includes(".slot=") && token.endsWith(`.slot=${slot.bootname}`))));
  }

  async status(knownVersions: Record<string, string>): Promise<SystemStatus> {
    const booted = await this.bootedSlot();
    const versions = await readVersions(this.config.versionsFile);
    const runningVersion = versions.rootfs ?? Object.values(versions)[0];
    const primary = this.config.swupdate.slots.length > 0 ? await this.getEnv(this.config.swupdate.slotVariable) : undefined;
    if (!booted) {
      const name = "rootfs";
      const slot: SlotStatus = { name, state: "booted", version: runningVersion ?? knownVersions[name] };
      return { booted: slot, slots: this.config.swupdate.slots.length === 0 ? [slot] : [], compatible: this.config.compatible, primary };
    }
    const slots: SlotStatus[] = this.config.swupdate.slots.map((s) => ({
      name: s.name,
      bootname: s.bootname,
      state: s.name === booted.name ? "booted" : s.bootname === primary ? "active" : "inactive",
      version: s.name === booted.name ? (runningVersion ?? knownVersions[s.name]) : knownVersions[s.name],
    }));
    return { booted: slots.find((s) => s.name === booted.name), slots, compatible: this.config.compatible, primary };
  }

  target(status: SystemStatus): SlotStatus | undefined {
    if (!status.booted?.bootname) return undefined;
    return status.slots.find((s) => s.name !== status.booted!.name);
  }

  async install(files: { path: string; filename: string }[], target: SlotStatus | undefined, onLine: (line: string) => void): Promise<InstallResult> {
    const selection = this.config.swupdate.slots.find((s) => s.name === target?.name)?.selection;
    const details: string[] = [];
    for (const { path: file, filename } of files) {
      const argv = [
        ...this.killWithParent,
        this.config.swupdate.binary, "-v", "-i", file,
        ...(this.config.keyring.caFile ? ["-k", this.config.keyring.caFile] : []),
        ...(selection ? ["-e", selection] : []),
        ...this.config.swupdate.args,
      ];
      // A private TMPDIR: swupdate extracts there and puts its IPC sockets there.
      const tmp = await mkdtemp(join(tmpdir(), "aerie-agent-swupdate-"));
      const run = await runCommand(argv, { onLine: (line) => onLine(line), timeoutMs: 60 * 60 * 1000, env: { ...process.env, TMPDIR: tmp }, cwd: this.config.swupdate.workingDirectory }).finally(() => rm(tmp, { recursive: true, force: true }));
      const errors = run.output.split("\n").filter((l) => /\[ERROR\]/.test(l)).map((l) => l.replace(/^.*\[ERROR\]\s*:?\s*/, "").trim().slice(0, 1000));
      // Debian's swupdate exits 0 on success; an [ERROR] line also means refusal (a known
      // swupdate quirk exits 0 after some failures).
      // Debian's swupdate sometimes exits 1 after an install it reported successful (a race in its
      // shutdown, also seen by the signing tests): its own words decide then.
      const succeeded = errors.length === 0 && !run.error && !run.timedOut && /SWUpdate was successful/i.test(run.output);
      if (!succeeded && (run.code !== 0 || errors.length > 0 || run.error)) {
        details.push(`swupdate refused ${filename}${run.code !== null ? ` (exit ${run.code})` : ""}`, ...(errors.length > 0 ? errors.slice(-10) : describeFailure(argv, run, 8)));
        return { ok: false, details: details.slice(0, 20) };
      }
      details.push(`swupdate installed ${filename}${target ? ` into ${target.name}` : ""}`);
    }
    return { ok: true, details };
  }

  async prepareBoot(target: SlotStatus | undefined): Promise<void> {
    if (!target?.bootname) {
      if (this.config.swupdate.slots.length === 0) return;
      throw new Error("no target slot to boot");
    }
    await this.setEnv({ [this.config.swupdate.slotVariable]: target.bootname, upgrade_available: "1", bootcount: "0", ustate: USTATE.INSTALLED });
  }

  async installCompleted(target: SlotStatus | undefined): Promise<boolean> {
    // prepareBoot is the last step of a completed install: its marks are the proof.
    if (!target?.bootname) return false;
    return (await this.getEnv("ustate")) === USTATE.INSTALLED && (await this.getEnv(this.config.swupdate.slotVariable)) === target.bootname;
  }

  async commit(): Promise<void> {
    if (this.config.swupdate.slots.length === 0) return;
    await this.setEnv({ ustate: USTATE.OK, upgrade_available: "0", bootcount: "0" });
  }

  async rollback(_bad: SlotStatus | undefined, good: SlotStatus | undefined): Promise<void> {
    if (!good?.bootname) return;
    await this.setEnv({ [this.config.swupdate.slotVariable]: good.bootname, ustate: USTATE.FAILED, upgrade_available: "0", bootcount: "0" });
  }
}
