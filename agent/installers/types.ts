// What the agent needs from an update tool: where it runs (slots), writing an update into the
// other slot, and the bootloader's side of A/B (try the new slot, commit it, or go back).
import type { UpdateClient } from "../config.js";

export interface SlotStatus {
  name: string;
  bootname?: string;
  state?: "booted" | "active" | "inactive";
  version?: string;
  /** RAUC slot class (rootfs, appfs): only slots of the booted root's class take part in A/B. */
  class?: string;
}

export interface SystemStatus {
  booted?: SlotStatus;
  slots: SlotStatus[];
  compatible?: string;
  /** Bootname the bootloader boots next. */
  primary?: string;
}

export interface InstallResult {
  ok: boolean;
  /** The tool's reason, one line each (feedback details). */
  details: string[];
}

export interface UpdateBackend {
  readonly client: UpdateClient;
  /** Whether this tool installs a file of that name (.swu / .raucb). */
  accepts(filename: string): boolean;
  /** `knownVersions`: slot → version the agent itself wrote there (when the tool cannot tell). */
  status(knownVersions: Record<string, string>): Promise<SystemStatus>;
  /** The slot an install writes: the other slot of the booted one; undefined without A/B. */
  target(status: SystemStatus): SlotStatus | undefined;
  install(files: { path: string; filename: string }[], target: SlotStatus | undefined, onLine: (line: string) => void): Promise<InstallResult>;
  /** After a successful install: boot the target next, on trial. */
  prepareBoot(target: SlotStatus | undefined): Promise<void>;
  /** After a crash mid-install: whether that install completed anyway (then it is not run again). */
  installCompleted(target: SlotStatus | undefined, version: string, startedAt: Date): Promise<boolean>;
  /** The booted slot proved healthy: keep it. */
  commit(booted: SlotStatus | undefined): Promise<void>;
  /** `bad` failed (health, or the bootloader left it): mark it bad, boot `good` next. */
  rollback(bad: SlotStatus | undefined, good: SlotStatus | undefined): Promise<void>;
}
