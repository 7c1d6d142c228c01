// The agent's state on disk: the current action's phase, and every report not yet acknowledged by
// the broker (the outbox). Written with write → fsync → rename → fsync(dir), so a power cut leaves
// either the old or the new file, never a torn one. Each phase is saved BEFORE the step it names is
// started, and each report is saved BEFORE it is published: after a crash the agent knows what it
// was doing (and does not install twice) and still has every report it had not delivered (a
// repeated messageId is processed once by Aerie, so sending again is safe).
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Deployment } from "../bridge/protocol/schemas.js";

export type Phase =
  /** Consent asked (consentRequired), waiting for Aerie's notice with consentRequired:false. */
  | "consent"
  | "downloading"
  /** Downloaded and verified; waiting for install (soft consent, window, activation of download-only). */
  | "downloaded"
  /** The installer was started; on restart: started again (attempts counted) or found completed. */
  | "installing"
  /** Installed; the reboot command is being run. */
  | "rebooting"
  /** Rolling back after failed health: old slot selected, rebooting into it. */
  | "rolling-back";

export interface StagedFile {
  filename: string;
  sha256: string;
  path: string;
}

export interface ActionState {
  actionId: number;
  deployment: Deployment;
  phase: Phase;
  files: StagedFile[];
  /** Install attempts started (a crash mid-install starts it again up to maxInstallAttempts). */
  installAttempts: number;
  /** Slot booted when the install started, its version, and the slot written. */
  fromSlot?: string;
  fromVersion?: string;
  targetSlot?: string;
  /** When soft consent said defer: do not ask before. */
  deferUntil?: string;
  /** Failed-health rollback: the report to send once booted back. */
  rollbackReport?: { details: string[]; checks: Record<string, boolean> };
  /** Boot id when the reboot (or rollback reboot) was started: unchanged after a restart = no reboot yet. */
  bootId?: string;
  /** Consent: what the agent answered (accept ends the asking; soft installs are not asked again). */
  consent?: "accept" | "defer";
  /** Feedback `downloaded` sent (download-only actions end here). */
  reportedDownloaded?: boolean;
  startedAt: string;
}

export type OutboxKind = "feedback" | "consent" | "health";

export interface OutboxEntry {
  kind: OutboxKind;
  body: { messageId: string } & Record<string, unknown>;
}

export interface AgentState {
  version: 1;
  action?: ActionState;
  outbox: OutboxEntry[];
  /**
   * The last `seq` given to a feedback or consent report (protocol v1): saved with the report it numbers, so a
   * restart never reuses one and the bridge can order this device's reports across its instances.
   */
  reportSeq?: number;
  /** Actions finished (any outcome), newest last: a retained notice delivered again is not acted on. */
  finished: number[];
  /** Release version written by the agent per slot (a slot's version when the tool cannot tell). */
  slotVersions: Record<string, string>;
}

const EMPTY: AgentState = { version: 1, outbox: [], finished: [], slotVersions: {} };
const KEEP_FINISHED = 200;

export class StateStore {
  private current: AgentState;
  readonly file: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = join(dir, "state.json");
    this.current = this.read();
  }

  private read(): AgentState {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return structuredClone(EMPTY);
      throw error;
    }
    // The rename is atomic: a file that does not parse was not written by this store; refuse to
    // guess (an install could be repeated) and leave it for the operator.
    const parsed = JSON.parse(text) as AgentState;
    if (parsed.version !== 1) throw new Error(`${this.file}: unknown state version ${String(parsed.version)}`);
    return { ...structuredClone(EMPTY), ...parsed };
  }

  get state(): Readonly<AgentState> {
    return this.current;
  }

  /** Applies `change` to a copy and makes it durable before returning. */
  update(change: (state: AgentState) => void): AgentState {
    const next = structuredClone(this.current);
    change(next);
    this.write(next);
    this.current = next;
    return next;
  }

  finishAction(actionId: number): void {
    this.update((s) => {
      if (s.action?.actionId === actionId) delete s.action;
      s.finished = [...s.finished.filter((id) => id !== actionId), actionId].slice(-KEEP_FINISHED);
    });
  }

  private write(state: AgentState): void {
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(state, null, 1));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    const dirFd = openSync(this.dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}
