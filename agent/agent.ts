// The agent's state machine. One action at a time, its phase saved before each step starts:
//
//   notice ─► [consent] ─► downloading ─► downloaded ─► installing ─► rebooting ─► (boot) health
//               │ defer/reject    │ cancel      │ downloadonly: ends   │ install failed: failure
//               ▼                 ▼             ▼ soft: consent/defer  ▼
//                               canceled      window / activation   commit + success
//                                                                    or rollback: rolling-back ─► (boot) failure
//
// Every step runs in one serial queue (notices, cancels, timers and the resumed phase after a
// restart cannot interleave); only a running download can be interrupted (cancel, superseding
// notice). After a crash or power cut the saved phase says where to continue: a download resumes,
// an interrupted install is checked (completed → reboot) or started again (bounded), a pending
// reboot is detected by the boot id, and every report still in the outbox is sent again.
import { readFile, rm } from "node:fs/promises";
import type { Cancel, Deployment, Feedback, FeedbackStatus, Health, Hello } from "../bridge/protocol/schemas.js";
import { downstreamValidators, describeErrors } from "../bridge/protocol/schemas.js";
import type { AgentConfig } from "./config.js";
import { askConsent, inMaintenanceWindow, nextWindowStart } from "./consent.js";
import { downloadArtifact } from "./downloader.js";
import { describeFailure, runCommand } from "./exec.js";
import { runHealthChecks } from "./health.js";
import type { SlotStatus, SystemStatus, UpdateBackend } from "./installers/types.js";
import type { Logger } from "./log.js";
import type { MqttSession } from "./mqtt-session.js";
import type { ActionState, StateStore } from "./state-store.js";
import { collect } from "./telemetry.js";
import { verifyArtifact, VerificationError, type Keyring } from "./verifier.js";
import { readVersions } from "./versions.js";

type Step = "next" | "wait";

const clip = (lines: string[]) => lines.filter(Boolean).slice(0, 20).map((l) => l.slice(0, 1024));

export interface AgentDeps {
  config: AgentConfig;
  store: StateStore;
  session: MqttSession;
  backend: UpdateBackend;
  keyring: Keyring;
  log: Logger;
}

export class Agent {
  private chain: Promise<void> = Promise.resolve();
  private download: { actionId: number; controller: AbortController } | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private telemetryTimer: NodeJS.Timeout | undefined;
  /** A newer notice that arrived while an install was under way; handled once that one ends. */
  private queued: Deployment | undefined;
  /** Phase "installing" found at start-up belongs to a process that died: check before repeating. */
  private resumedInstall = true;
  private stopped = false;
  private readonly config: AgentConfig;
  private readonly store: StateStore;
  private readonly session: MqttSession;
  private readonly backend: UpdateBackend;
  private readonly log: Logger;

  constructor(private readonly deps: AgentDeps) {
    ({ config: this.config, store: this.store, session: this.session, backend: this.backend, log: this.log } = deps);
  }

  start(): void {
    this.session.on("deployment", (d) => this.onNotice(d));
    this.session.on("cancel", (c) => this.onCancel(c));
    this.session.start();
    this.kick();
    const interval = this.config.telemetry.intervalSeconds;
    if (interval > 0) {
      this.telemetryTimer = setInterval(() => void this.sendTelemetry(), interval * 1000);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wakeTimer);
    clearInterval(this.telemetryTimer);
    this.download?.controller.abort(new Error("agent stopping"));
    await Promise.race([this.chain, new Promise((r) => setTimeout(r, 5000))]);
    await this.session.stop();
  }

  /** Resolves once the queued work so far is done (tests). */
  idle(): Promise<void> {
    return this.chain;
  }

  async sendTelemetry(): Promise<void> {
    try {
      await this.session.telemetry(await collect(this.config.telemetry.collectors, this.config.telemetry));
    } catch (error) {
      this.log.debug("telemetry not sent", { err: (error as Error).message });
    }
  }

  // ── what the agent tells Aerie ──────────────────────────────────────────────────────────────

  async hello(): Promise<Hello> {
    const status = await this.backend.status(this.store.state.slotVersions).catch((error: Error) => {
      this.log.warn("cannot read the update tool's status", { err: error.message });
      return undefined;
    });
    const versions = await readVersions(this.config.versionsFile);
    const running = status?.booted?.version;
    if (running && !versions.rootfs) versions.rootfs = running;
    return {
      updateClient: this.config.updateClient,
      hardware: this.config.hardware,
      ...(this.config.compatible ?? status?.compatible ? { compatible: (this.config.compatible ?? status?.compatible)!.slice(0, 256) } : {}),
      versions,
      ...(Object.keys(this.config.attributes).length > 0 ? { attributes: this.config.attributes } : {}),
      ...(Object.keys(this.config.secondaryIds).length > 0 ? { secondaryIds: this.config.secondaryIds } : {}),
      slots: (status?.slots ?? []).map((s) => ({ name: s.name, ...(s.bootname ? { bootname: s.bootname } : {}), ...(s.state ? { state: s.state } : {}), ...(s.version ? { version: s.version } : {}) })),
    };
  }

  private feedback(actionId: number, status: FeedbackStatus, extra: Omit<Partial<Feedback>, "messageId" | "actionId" | "status"> = {}): void {
    const body: Record<string, unknown> = { actionId, status, ...extra };
    if (extra.details) body.details = clip(extra.details);
    this.log.info("feedback", { actionId, status, progress: extra.progress, details: body.details, type: this.store.state.action?.deployment.type });
    this.session.report("feedback", body);
  }

  private health(report: Omit<Health, "messageId">): void {
    this.log.info("health", { ...report });
    this.session.report("health", { ...report, bootedSlot: report.bootedSlot.slice(0, 64), runningVersion: report.runningVersion.slice(0, 128) });
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────

  private onNotice(deployment: Deployment): void {
    if (!downstreamValidators.deployment(deployment)) {
      this.log.warn("ignoring a deployment notice that fails its schema", { reason: describeErrors(downstreamValidators.deployment) });
      return;
    }
    const current = this.store.state.action;
    // A superseding notice stops a download at once; the rest happens in order.
    if (current && current.actionId !== deployment.actionId && this.download?.actionId === current.actionId) {
      this.download.controller.abort(new Error(`superseded by action ${deployment.actionId}`));
    }
    this.enqueue(async () => this.acceptNotice(deployment));
    this.kick();
  }

  private acceptNotice(deployment: Deployment): void {
    const state = this.store.state;
    if (state.finished.includes(deployment.actionId)) return; // retained notice of a finished action
    const current = state.action;
    if (current && current.actionId === deployment.actionId) {
      // The same action again (after hello, after consent, a window opening, time-forced → forced).
      this.store.update((s) => {
        s.action!.deployment = deployment;
        if (s.action!.phase === "consent" && !deployment.consentRequired) {
          s.action!.phase = "downloading";
          s.action!.consent = "accept";
          delete s.action!.deferUntil;
        }
      });
      return;
    }
    if (current && ["installing", "rebooting", "rolling-back"].includes(current.phase)) {
      this.log.info("a newer action waits until the running update ends", { running: current.actionId, next: deployment.actionId });
      this.queued = deployment;
      return;
    }
    if (current) this.log.info("action superseded", { previous: current.actionId, next: deployment.actionId });
    const action: ActionState = {
      actionId: deployment.actionId,
      deployment,
      phase: deployment.consentRequired ? "consent" : "downloading",
      files: [],
      installAttempts: 0,
      startedAt: new Date().toISOString(),
    };
    this.store.update((s) => {
      s.action = action;
    });
  }

  private onCancel(cancel: Cancel): void {
    if (!downstreamValidators.cancel(cancel)) return;
    const current = this.store.state.action;
    if (current?.actionId === cancel.actionId && ["installing", "rebooting", "rolling-back"].includes(current.phase)) {
      // Too late: the slot is being written or tried. Answered at once, once per action.
      if (!(current as ActionState & { cancelRejected?: boolean }).cancelRejected) {
        this.store.update((s) => Object.assign(s.action!, { cancelRejected: true }));
        this.feedback(cancel.actionId, "cancel-rejected", { details: [`already ${current.phase}`] });
      }
      return;
    }
    if (this.download?.actionId === cancel.actionId) this.download.controller.abort(new Error("canceled"));
    this.enqueue(async () => {
      const action = this.store.state.action;
      if (action?.actionId === cancel.actionId) {
        if (["installing", "rebooting", "rolling-back"].includes(action.phase)) return; // answered above
        this.feedback(cancel.actionId, "canceled", { details: [`stopped while ${action.phase}`] });
        this.store.finishAction(cancel.actionId);
      } else if (!this.store.state.finished.includes(cancel.actionId)) {
        // Nothing of it here: nothing to stop.
        this.feedback(cancel.actionId, "canceled", { details: ["not started on this device"] });
        this.store.update((s) => {
          s.finished = [...s.finished, cancel.actionId].slice(-200);
        });
      }
    });
    this.kick();
  }

  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: Error) => this.log.error("agent step failed", { err: error.message, stack: error.stack }));
  }

  private kick(): void {
    this.enqueue(() => this.drive());
  }

  private wakeAt(when: Date): void {
    clearTimeout(this.wakeTimer);
    const delay = Math.max(0, Math.min(when.getTime() - Date.now(), 2 ** 31 - 1));
    this.wakeTimer = setTimeout(() => this.kick(), delay);
  }

  private async drive(): Promise<void> {
    for (let steps = 0; steps < 100 && !this.stopped; steps++) {
      const action = this.store.state.action;
      if (!action) {
        if (this.queued) {
          const next = this.queued;
          this.queued = undefined;
          this.acceptNotice(next);
          continue;
        }
        return;
      }
      if ((await this.advance(action)) === "wait") return;
    }
  }

  private async advance(action: ActionState): Promise<Step> {
    switch (action.phase) {
      case "consent":
        return this.consentStep(action);
      case "downloading":
        return this.downloadStep(action);
      case "downloaded":
        return this.readyStep(action);
      case "installing":
        return this.resumeInstall(action);
      case "rebooting":
        return this.afterReboot(action);
      case "rolling-back":
        return this.afterRollback(action);
    }
  }

  private finish(action: ActionState): void {
    this.store.finishAction(action.actionId);
    void this.session.sendHello().catch(() => undefined);
  }

  // ── consent ─────────────────────────────────────────────────────────────────────────────────

  private async consentStep(action: ActionState): Promise<Step> {
    if (action.consent === "accept") return "wait"; // Aerie's notice with consentRequired:false comes next
    if (action.deferUntil && Date.parse(action.deferUntil) > Date.now()) {
      this.wakeAt(new Date(action.deferUntil));
      return "wait";
    }
    const decision = await askConsent(this.config.consent, action.deployment);
    if (decision.decision === "reject") {
      this.session.report("consent", { actionId: action.actionId, decision: "reject", details: clip([decision.reason]) });
      this.finish(action);
      return "next";
    }
    if (decision.decision === "defer") {
      this.store.update((s) => Object.assign(s.action!, { consent: "defer", deferUntil: decision.until.toISOString() }));
      this.session.report("consent", { actionId: action.actionId, decision: "defer", deferUntil: decision.until.toISOString(), ...(decision.reason ? { details: clip([decision.reason]) } : {}) });
      this.wakeAt(decision.until);
      return "wait";
    }
    this.store.update((s) => {
      s.action!.consent = "accept";
      delete s.action!.deferUntil;
    });
    this.session.report("consent", { actionId: action.actionId, decision: "accept" });
    return "wait";
  }

  // ── download ────────────────────────────────────────────────────────────────────────────────

  private async downloadStep(action: ActionState): Promise<Step> {
    const { actionId, deployment } = action;
    const controller = new AbortController();
    this.download = { actionId, controller };
    const total = deployment.artifacts.reduce((sum, a) => sum + a.size, 0) || 1;
    let done = 0;
    let reported = -1;
    const progress = (bytes: number) => {
      const percent = Math.min(100, Math.floor(((done + bytes) / total) * 100));
      // Every 25 %: each report is a durable write and an MQTT message.
      if (percent >= reported + 25 || (reported < 0 && percent >= 0)) {
        reported = percent - (percent % 25);
        this.feedback(actionId, "downloading", { progress: percent });
      }
    };
    try {
      const files: ActionState["files"] = [];
      for (const artifact of deployment.artifacts) {
        const path = await downloadArtifact(artifact, {
          dir: this.config.downloadDir,
          schemes: this.config.download.schemes,
          retries: this.config.download.retries,
          retryDelayMs: this.config.download.retryDelayMs,
          stallTimeoutMs: this.config.download.timeoutSeconds * 1000,
          signal: controller.signal,
          onProgress: (received) => progress(received),
          onReuse: () => this.log.info("artifact already downloaded; verifying it again", { actionId, filename: artifact.filename }),
          refreshOffers: async () => {
            const response = await this.session.request("deployment");
            const fresh = response?.ok ? (response.result as Deployment | null) : undefined;
            return fresh?.actionId === actionId ? fresh.artifacts.find((a) => a.filename === artifact.filename && a.hashes.sha256 === artifact.hashes.sha256)?.offers : undefined;
          },
        });
        try {
          await verifyArtifact(path, artifact, this.deps.keyring, { caFile: this.config.keyring.caFile });
        } catch (error) {
          await rm(path, { force: true });
          throw error;
        }
        done += artifact.size;
        files.push({ filename: artifact.filename, sha256: artifact.hashes.sha256, path });
      }
      if (this.store.state.action?.actionId !== actionId) return "next";
      this.store.update((s) => {
        s.action!.files = files;
        s.action!.phase = "downloaded";
      });
      if (reported < 100) this.feedback(actionId, "downloading", { progress: 100 });
      return "next";
    } catch (error) {
      if (controller.signal.aborted) return "next"; // canceled or superseded: handled by whoever aborted
      if (this.store.state.action?.actionId !== actionId) return "next";
      const message = (error as Error).message;
      this.feedback(actionId, "failure", { details: [error instanceof VerificationError ? `verification failed: ${message}` : message] });
      this.finish(action);
      return "next";
    } finally {
      if (this.download?.controller === controller) this.download = undefined;
    }
  }

  // ── waiting to install ──────────────────────────────────────────────────────────────────────

  private async readyStep(action: ActionState): Promise<Step> {
    const { actionId, deployment } = action;
    if (!action.reportedDownloaded) {
      this.store.update((s) => Object.assign(s.action!, { reportedDownloaded: true }));
      this.feedback(actionId, "downloaded", { details: [`${deployment.release.name} ${deployment.release.version} verified`] });
    }
    if (deployment.type === "downloadonly") {
      // hawkBit closes a download-only action on `downloaded`; the files stay for the activation
      // (a later action with the same artifacts installs them without downloading again).
      this.finish(action);
      return "next";
    }
    if (deployment.maintenanceWindow?.available === false) {
      this.log.info("downloaded; waiting for the maintenance window", { actionId });
      return "wait";
    }
    if (!inMaintenanceWindow(this.config.maintenanceWindows)) {
      const at = nextWindowStart(this.config.maintenanceWindows);
      this.log.info("downloaded; waiting for the device's maintenance window", { actionId, at: at.toISOString() });
      this.wakeAt(at);
      return "wait";
    }
    if (deployment.type === "soft" && action.consent !== "accept") {
      if (action.deferUntil && Date.parse(action.deferUntil) > Date.now()) {
        this.wakeAt(new Date(action.deferUntil));
        return "wait";
      }
      const decision = await askConsent(this.config.consent, deployment);
      if (decision.decision === "reject") {
        this.feedback(actionId, "rejected", { details: [decision.reason] });
        this.finish(action);
        return "next";
      }
      if (decision.decision === "defer") {
        this.store.update((s) => Object.assign(s.action!, { deferUntil: decision.until.toISOString() }));
        this.log.info("soft update deferred", { actionId, until: decision.until.toISOString(), reason: decision.reason });
        this.wakeAt(decision.until);
        return "wait";
      }
      this.store.update((s) => Object.assign(s.action!, { consent: "accept" }));
    }
    return this.install(action);
  }

  // ── install ─────────────────────────────────────────────────────────────────────────────────

  private async install(action: ActionState): Promise<Step> {
    const { actionId } = action;
    this.resumedInstall = false;
    const status = await this.backend.status(this.store.state.slotVersions);
    const target = action.targetSlot ? status.slots.find((s) => s.name === action.targetSlot) : this.backend.target(status);
    this.store.update((s) => {
      Object.assign(s.action!, {
        phase: "installing",
        installAttempts: s.action!.installAttempts + 1,
        fromSlot: s.action!.fromSlot ?? status.booted?.name,
        fromVersion: s.action!.fromVersion ?? status.booted?.version,
        targetSlot: target?.name,
        installStartedAt: new Date().toISOString(),
      });
    });
    const attempt = this.store.state.action!.installAttempts;
    this.feedback(actionId, "installing", { details: [`${action.deployment.release.name} ${action.deployment.release.version}${target ? ` into slot ${target.name}` : ""}${attempt > 1 ? ` (attempt ${attempt}: the previous one was interrupted)` : ""}`] });
    // Only what this tool installs (a release may carry other files, e.g. for other clients).
    const installable = action.files.filter((f) => this.backend.accepts(f.filename));
    if (installable.length === 0) {
      this.feedback(actionId, "failure", { details: [`none of ${action.files.map((f) => f.filename).join(", ")} is an update ${this.backend.client} installs`] });
      this.finish(action);
      return "next";
    }
    const result = await this.backend.install(installable, target, (line) => this.log.debug("installer", { line }));
    if (!result.ok) {
      this.feedback(actionId, "failure", { details: result.details });
      this.finish(action);
      return "next";
    }
    return this.installed(actionId, target, result.details);
  }

  private async installed(actionId: number, target: SlotStatus | undefined, details: string[]): Promise<Step> {
    const action = this.store.state.action!;
    try {
      await this.backend.prepareBoot(target);
    } catch (error) {
      this.feedback(actionId, "failure", { details: [...details, (error as Error).message] });
      this.finish(action);
      return "next";
    }
    const bootId = await this.bootId();
    this.store.update((s) => {
      if (target) s.slotVersions[target.name] = action.deployment.release.version;
      Object.assign(s.action!, { phase: "rebooting", bootId });
    });
    this.feedback(actionId, "rebooting", { details: [...details, target ? `booting slot ${target.name}` : "rebooting"] });
    return this.reboot();
  }

  /** Phase installing at start-up: the agent died during the install. */
  private async resumeInstall(action: ActionState): Promise<Step> {
    if (!this.resumedInstall) return "wait";
    this.resumedInstall = false;
    const status = await this.backend.status(this.store.state.slotVersions);
    const target = status.slots.find((s) => s.name === action.targetSlot);
    const startedAt = new Date((action as ActionState & { installStartedAt?: string }).installStartedAt ?? action.startedAt);
    if (await this.backend.installCompleted(target, action.deployment.release.version, startedAt)) {
      this.log.info("the interrupted install had completed", { actionId: action.actionId });
      return this.installed(action.actionId, target, ["the install completed while the agent was down"]);
    }
    if (action.installAttempts >= this.config.maxInstallAttempts) {
      this.feedback(action.actionId, "failure", { details: [`the install was interrupted ${action.installAttempts} times (crash or power cut); giving up`, `slot ${action.fromSlot ?? "?"} still runs ${action.fromVersion ?? "the previous version"}`] });
      this.finish(action);
      return "next";
    }
    // The other slot holds a half-written image; the running slot is untouched. Write it again.
    return this.install(action);
  }

  // ── reboot, health, commit or roll back ─────────────────────────────────────────────────────

  private async bootId(): Promise<string | undefined> {
    return (await readFile(this.config.bootIdFile, "utf8").catch(() => undefined))?.trim();
  }

  private async reboot(): Promise<Step> {
    // The reports before the reboot should be out; they are kept on disk if not.
    await this.session.drained(10_000);
    const argv = this.config.reboot.command;
    this.log.info("rebooting", { command: argv });
    const run = await runCommand(argv, { timeoutMs: (this.config.reboot.timeoutSeconds ?? 120) * 1000 });
    if (run.code !== 0) this.log.error("reboot command failed; waiting for a manual reboot", { details: describeFailure(argv, run) });
    return "wait";
  }

  private async afterReboot(action: ActionState): Promise<Step> {
    if (action.bootId && action.bootId === (await this.bootId())) {
      // Restarted, not rebooted (the reboot command ran, the machine has not gone down yet, or
      // the agent crashed before running it).
      if (!this.resumedInstall) return "wait";
      this.resumedInstall = false;
      return this.reboot();
    }
    this.resumedInstall = false;
    const { actionId, deployment } = action;
    const status = await this.backend.status(this.store.state.slotVersions);
    const booted = status.booted;
    const running = booted?.version ?? "unknown";
    const bootedName = booted?.name ?? "unknown";
    if (action.targetSlot && booted?.name !== action.targetSlot) {
      // The bootloader fell back (boot counter, watchdog) before the agent ran: the update failed,
      // and what runs is the old slot.
      const target = status.slots.find((s) => s.name === action.targetSlot);
      this.health({ actionId, bootedSlot: bootedName, runningVersion: running, healthy: false, checks: { bootedUpdatedSlot: false } });
      await this.backend.rollback(target, booted).catch((error: Error) => this.log.warn("marking the failed slot bad failed", { err: error.message }));
      this.feedback(actionId, "failure", { details: [`the bootloader booted slot ${bootedName} instead of the updated slot ${action.targetSlot}: it fell back`, `running ${running} in slot ${bootedName}`] });
      this.finish(action);
      return "next";
    }
    if (this.config.health.delaySeconds > 0) await new Promise((r) => setTimeout(r, this.config.health.delaySeconds * 1000));
    const result = await runHealthChecks(this.config.health.checks);
    this.health({ actionId, bootedSlot: bootedName, runningVersion: running, healthy: result.healthy, checks: result.checks });
    if (result.healthy) {
      try {
        await this.backend.commit(booted);
      } catch (error) {
        this.feedback(actionId, "failure", { details: [`commit failed: ${(error as Error).message}`, `running ${running} in slot ${bootedName}`] });
        this.finish(action);
        return "next";
      }
      this.feedback(actionId, "success", { details: [`running ${deployment.release.name} ${running} in slot ${bootedName}`, "committed"] });
      this.finish(action);
      return "next";
    }
    const good = status.slots.find((s) => s.name === action.fromSlot);
    if (!good || !action.targetSlot) {
      // No other slot to go back to: report what runs.
      this.feedback(actionId, "failure", { details: [...result.details, `running ${running} in slot ${bootedName}; no other slot to roll back to`] });
      this.finish(action);
      return "next";
    }
    // Recorded before the bootloader is told: a power cut right after the switch must still find the failed checks,
    // not mistake the old slot for a fallback of the bootloader's own.
    const bootId = await this.bootId();
    this.store.update((s) => Object.assign(s.action!, { phase: "rolling-back", bootId, rollbackReport: { details: result.details, checks: result.checks } }));
    await this.backend.rollback(booted, good);
    return this.reboot();
  }

  private async afterRollback(action: ActionState): Promise<Step> {
    if (action.bootId && action.bootId === (await this.bootId())) {
      if (!this.resumedInstall) return "wait";
      this.resumedInstall = false;
      return this.reboot();
    }
    this.resumedInstall = false;
    const status: SystemStatus = await this.backend.status(this.store.state.slotVersions);
    const booted = status.booted;
    const running = booted?.version ?? "unknown";
    const back = booted?.name === action.fromSlot;
    // The last health report described the failed slot; this one says what really runs now (the old
    // slot, or whatever the bootloader chose), so Aerie's registry never shows the rejected version.
    // Still `healthy: false`: the report is about the update, as after a bootloader fallback.
    this.health({ actionId: action.actionId, bootedSlot: booted?.name ?? "unknown", runningVersion: running, healthy: false, checks: { bootedUpdatedSlot: false } });
    this.feedback(action.actionId, "failure", {
      details: [
        ...(action.rollbackReport?.details ?? ["health check failed"]),
        back ? `rolled back: running ${running} in slot ${booted?.name}` : `rollback did not take effect: running ${running} in slot ${booted?.name ?? "unknown"}`,
      ].slice(-20),
    });
    this.finish(action);
    return "next";
  }
}
