// RAUC: `rauc install <bundle>` is a client of the RAUC service (de.pengutronix.rauc on the system
// D-Bus), which checks the bundle's signature against the keyring of its system.conf, writes the
// other slot and makes it primary through the bootloader backend. Slots, the booted one and what
// each holds come from `rauc status --detailed --output-format=json`; commit is
// `rauc status mark-good` (booted), rollback `mark-bad` + `mark-active` of the old slot.
import type { AgentConfig } from "../config.js";
import { describeFailure, runCommand, type RunResult } from "../exec.js";
import type { InstallResult, SlotStatus, SystemStatus, UpdateBackend } from "./types.js";
import { readVersions } from "../versions.js";

interface RaucSlotJson {
  class?: string;
  device?: string;
  bootname?: string | null;
  state?: string;
  boot_status?: string;
  slot_status?: { bundle?: { version?: string; compatible?: string }; status?: string; installed?: { timestamp?: string; count?: number } };
}

interface RaucStatusJson {
  compatible?: string;
  booted?: string;
  boot_primary?: string | null;
  slots?: Record<string, RaucSlotJson>[];
}

export class RaucBackend implements UpdateBackend {
  readonly client = "rauc" as const;

  accepts(filename: string): boolean {
    return /\.raucb$/i.test(filename);
  }

  constructor(private readonly config: AgentConfig) {}

  private env(): NodeJS.ProcessEnv {
    return this.config.rauc.dbusAddress ? { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: this.config.rauc.dbusAddress } : process.env;
  }

  private run(args: string[], timeoutMs = 60_000, onLine?: (line: string) => void): Promise<RunResult> {
    return runCommand([this.config.rauc.binary, ...args], { env: this.env(), timeoutMs, onLine: onLine && ((line) => onLine(line)) });
  }

  async raw(): Promise<RaucStatusJson & { slotList: (RaucSlotJson & { name: string })[] }> {
    const run = await this.run(["status", "--detailed", "--output-format=json"]);
    if (run.code !== 0) throw new Error(`rauc status failed: ${describeFailure(["rauc", "status"], run).join(" | ")}`);
    const parsed = JSON.parse(run.stdout) as RaucStatusJson;
    const slotList = (parsed.slots ?? []).flatMap((entry) => Object.entries(entry).map(([name, slot]) => ({ name, ...slot })));
    return { ...parsed, slotList };
  }

  async status(knownVersions: Record<string, string>): Promise<SystemStatus> {
    const raw = await this.raw();
    // What runs is what the running root file system says (versions file); RAUC's record of the
    // bundle installed in a slot is the next best (and the only one for the other slots).
    const versions = await readVersions(this.config.versionsFile);
    const running = versions.rootfs ?? Object.values(versions)[0];
    const primarySlot = raw.slotList.find((s) => s.name === raw.boot_primary);
    const slots: SlotStatus[] = raw.slotList
      .filter((s) => s.bootname)
      .slice(0, 8)
      .map((s) => ({
        name: s.name,
        bootname: s.bootname ?? undefined,
        class: s.class,
        state: s.state === "booted" ? "booted" : s.name === raw.boot_primary ? "active" : "inactive",
        version: (s.state === "booted" ? running : undefined) ?? s.slot_status?.bundle?.version ?? knownVersions[s.name],
      }));
    const booted = slots.find((s) => s.state === "booted") ?? slots.find((s) => s.bootname === raw.booted);
    return { booted, slots, compatible: raw.compatible, primary: primarySlot?.bootname ?? undefined };
  }

  target(status: SystemStatus): SlotStatus | undefined {
    const booted = status.booted;
    if (!booted) return undefined;
    return status.slots.find((s) => s.name !== booted.name && s.class === booted.class && s.bootname);
  }

  async install(files: { path: string; filename: string }[], _target: SlotStatus | undefined, onLine: (line: string) => void): Promise<InstallResult> {
    const details: string[] = [];
    for (const { path: file, filename } of files) {
      const run = await this.run(["install", file], 60 * 60 * 1000, onLine);
      if (run.code !== 0) {
        const reasons = run.output.split("\n").map((l) => l.trim()).filter((l) => /error|fail|refus|invalid|mismatch/i.test(l)).slice(-10).map((l) => l.slice(0, 1000));
        details.push(`rauc refused ${filename} (exit ${run.code ?? run.signal})`, ...(reasons.length > 0 ? reasons : describeFailure(["rauc", "install"], run, 8).slice(1)));
        return { ok: false, details: details.slice(0, 20) };
      }
      details.push(`rauc installed ${filename}`);
    }
    return { ok: true, details };
  }

  async prepareBoot(): Promise<void> {
    // RAUC made the written slot primary itself (bootloader backend set-primary).
  }

  /** The service's current operation ("idle" / "installing"), read over D-Bus. */
  async operation(): Promise<string | undefined> {
    const argv = ["dbus-send", "--system", "--print-reply", "--dest=de.pengutronix.rauc", "/", "org.freedesktop.DBus.Properties.Get", "string:de.pengutronix.rauc.Installer", "string:Operation"];
    const run = await runCommand(argv, { env: this.env(), timeoutMs: 10_000 });
    return /string "([^"]+)"/.exec(run.stdout)?.[1];
  }

  async installCompleted(target: SlotStatus | undefined, version: string, startedAt: Date): Promise<boolean> {
    // The service installs on its own: a crashed agent's install may still run. Wait for it.
    for (let i = 0; i < 3600 && (await this.operation()) === "installing"; i++) await new Promise((r) => setTimeout(r, 1000));
    const raw = await this.raw();
    const slot = raw.slotList.find((s) => s.name === target?.name);
    const at = slot?.slot_status?.installed?.timestamp ? Date.parse(slot.slot_status.installed.timestamp) : NaN;
    return slot?.slot_status?.bundle?.version === version && slot.slot_status?.status === "ok" && raw.boot_primary === slot.name && at >= startedAt.getTime() - 1000;
  }

  async commit(): Promise<void> {
    const run = await this.run(["status", "mark-good", "booted"]);
    if (run.code !== 0) throw new Error(`rauc status mark-good failed: ${describeFailure(["rauc"], run).join(" | ")}`);
  }

  async rollback(bad: SlotStatus | undefined, good: SlotStatus | undefined): Promise<void> {
    if (bad) {
      const run = await this.run(["status", "mark-bad", bad.state === "booted" ? "booted" : bad.name]);
      if (run.code !== 0) throw new Error(`rauc status mark-bad failed: ${describeFailure(["rauc"], run).join(" | ")}`);
    }
    if (good) {
      const run = await this.run(["status", "mark-active", good.state === "booted" ? "booted" : good.name]);
      if (run.code !== 0) throw new Error(`rauc status mark-active failed: ${describeFailure(["rauc"], run).join(" | ")}`);
    }
  }
}
