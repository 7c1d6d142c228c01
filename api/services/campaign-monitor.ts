// The campaign reconciler: on a timer (first pass at start-up), it moves every live campaign one step towards
// what was asked, reading only Postgres and hawkBit. Each step is idempotent, so a crash between any two hawkBit
// calls is repaired by the next pass: releases still provisioning are completed, campaigns without a rollout get
// theirs (found by name before it is created), retries find their `_retry` rollout before asking for one.
// Besides following hawkBit it does what hawkBit lacks: scheduled start, maintenance windows, abort criteria,
// and advancing health-gated / paced rollouts (hawkBit pauses after each group; Aerie resumes when allowed).
import { PassLoop } from "../../core/pass-loop.js";
import { wakeBridge } from "./bridge-wake.js";
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import type { MgmtRolloutGroupResponseBody, MgmtRolloutResponseBody } from "../../hawkbit/types.js";
import type { Database } from "../../core/db/prisma.js";
import type { AerieMetrics } from "../../core/metrics.js";
import { logger } from "../../core/log.js";
import { audit } from "../audit.js";
import { inWindow } from "./campaign-plan.js";
import { type CampaignRuntime, type CampaignService, type CampaignStatus, LIVE_STATUSES, type PausedBy, type StoredOptions } from "./campaigns.js";
import { evaluateHealthGate } from "./health-gate.js";
import type { ReleaseService } from "./releases.js";
import type { StuckDevices } from "./stuck-devices.js";

type CampaignRow = Awaited<ReturnType<Database["campaign"]["findMany"]>>[number];

export class CampaignMonitor {
  private readonly log = logger("campaigns");
  private readonly loop = new PassLoop(
    async () => {
      await this.runOnce();
      return this.intervalMs;
    },
    (error) => {
      this.log.warn({ err: (error as Error).message }, "campaign pass failed");
      return this.intervalMs;
    },
  );

  constructor(
    private readonly db: Database,
    private readonly hawkbit: HawkbitManagementClient,
    private readonly campaigns: CampaignService,
    private readonly metrics: AerieMetrics,
    private readonly intervalMs = 1000,
    private readonly releases?: ReleaseService,
    private readonly stuckDevices?: StuckDevices,
  ) {}

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private get stopped(): boolean {
    return this.loop.stopped;
  }

  async runOnce(): Promise<void> {
    if (this.releases) {
      for (const id of await this.releases.pending()) {
        if (this.stopped) return;
        await this.releases.provision(id).catch((error) => this.log.warn({ release: id, err: (error as Error).message }, "release provisioning not completed yet"));
      }
    }
    const live = await this.db.campaign.findMany({ where: { status: { in: LIVE_STATUSES } }, orderBy: { createdAt: "asc" }, select: { id: true } });
    for (const { id } of live) {
      if (this.stopped) return;
      await this.campaigns
        .exclusive(id, async () => {
          // Read inside: an operator's command may have changed it since the list was read.
          const campaign = await this.db.campaign.findUnique({ where: { id } });
          if (campaign && LIVE_STATUSES.includes(campaign.status as CampaignStatus)) await this.step(campaign);
        })
        .catch((error) => this.log.warn({ campaign: id, err: (error as Error).message }, "campaign step failed; retried next pass"));
    }
    const byState = await this.db.campaign.groupBy({ by: ["status"], _count: true });
    this.metrics.campaignsByState.reset();
    for (const row of byState) this.metrics.campaignsByState.set({ state: row.status }, row._count);
  }

  private async setStatus(campaign: CampaignRow, status: CampaignStatus, data: Record<string, unknown> = {}, details: object = {}): Promise<void> {
    await this.db.campaign.update({ where: { id: campaign.id }, data: { status, ...data } });
    // `from` lets webhooks tell a resume (paused → running) from the first run (starting → running).
    if (status !== campaign.status) await audit(this.db, "aerie", `campaign.${status}`, `campaign:${campaign.id}`, { from: campaign.status, ...details });
  }

  private async step(campaign: CampaignRow): Promise<void> {
    const options = campaign.options as unknown as StoredOptions;
    const runtime = campaign.runtime as CampaignRuntime;
    if (campaign.status === "provisioning") {
      await this.campaigns.provision(campaign.id);
      return;
    }
    if (campaign.status === "retrying") {
      await this.campaigns.completeRetry(campaign.id);
      return;
    }
    const rollout = await this.hawkbit.getRollout(campaign.hawkbitRolloutId!);
    const now = Date.now();

    if (["created", "waiting_for_approval", "scheduled"].includes(campaign.status)) {
      const needsAerieApproval = options.approval && !campaign.approvedAt;
      if (rollout.status === "waiting_for_approval" || needsAerieApproval) {
        if (rollout.status === "waiting_for_approval" && campaign.approvedAt) {
          await this.hawkbit.approveRollout(rollout.id, `approved in Aerie by ${campaign.approvedBy}`);
          return;
        }
        if (campaign.status !== "waiting_for_approval") await this.setStatus(campaign, "waiting_for_approval");
        return;
      }
      if (rollout.status === "approval_denied") {
        await this.setStatus(campaign, "denied", { finishedAt: new Date(), startRequested: false, statusReason: "denied in hawkBit" });
        return;
      }
      if (campaign.startRequested && ["starting", "running", "paused"].includes(rollout.status)) {
        // The start reached hawkBit but Aerie did not learn it (crash or lost answer).
        await this.setStatus(campaign, "starting", { statusReason: null, runtime: { ...runtime, lastAdvanceAt: runtime.lastAdvanceAt ?? now } as object });
        return;
      }
      if (!campaign.startRequested || rollout.status !== "ready") {
        if (campaign.status === "waiting_for_approval") await this.setStatus(campaign, "created");
        return;
      }
      const startAt = options.startAt ? Date.parse(options.startAt) : undefined;
      if ((startAt !== undefined && startAt > now) || !inWindow(options.maintenanceWindow, new Date(now))) {
        if (campaign.status !== "scheduled") {
          await this.setStatus(campaign, "scheduled", { statusReason: startAt !== undefined && startAt > now ? `starts at ${options.startAt}` : "waiting for the maintenance window" });
        }
        return;
      }
      await this.hawkbit.startRollout(rollout.id);
      await wakeBridge(this.db);
      await this.setStatus(campaign, "starting", { statusReason: null, runtime: { ...runtime, lastAdvanceAt: now } as object }, { rolloutId: rollout.id, at: now });
      return;
    }

    if (rollout.status === "finished") {
      await this.setStatus(campaign, "finished", { finishedAt: new Date(), pausedBy: null }, { rolloutId: rollout.id });
      return;
    }
    if (rollout.status === "deleting" || rollout.status === "deleted" || rollout.status === "stopped") {
      await this.setStatus(campaign, "stopped", { finishedAt: new Date(), statusReason: campaign.statusReason ?? "rollout deleted in hawkBit" });
      return;
    }
    if (campaign.status === "starting") {
      if (rollout.status === "running" || rollout.status === "paused") {
        await this.setStatus(campaign, "running", { startedAt: campaign.startedAt ?? new Date() });
        // hawkBit has now created the first group's actions: if the bridge looked too early, it looks again.
        await wakeBridge(this.db);
      }
      return;
    }
    if (this.stuckDevices && (rollout.status === "running" || rollout.status === "paused")) {
      await this.stuckDevices.check(campaign.id, options, rollout.id, now);
    }
    if (await this.abortIfNeeded(campaign, options, rollout)) return;

    const pausedBy = campaign.pausedBy as PausedBy | null;
    if (pausedBy === "operator") {
      // Also the pause asked while hawkBit was still starting the rollout, and a resume done in hawkBit behind Aerie's back.
      if (rollout.status === "running") await this.hawkbit.pauseRollout(rollout.id);
      if (!campaign.startedAt && (rollout.status === "running" || rollout.status === "paused")) {
        await this.setStatus(campaign, "paused", { startedAt: new Date() });
        // As on starting → running: hawkBit has created the first group's actions, which go on while paused.
        await wakeBridge(this.db);
      }
      return;
    }

    // Maintenance window: outside it, no new group starts and a running rollout is held.
    if (!inWindow(options.maintenanceWindow, new Date(now))) {
      if (rollout.status === "running") await this.hawkbit.pauseRollout(rollout.id);
      if (campaign.status !== "paused" || pausedBy !== "maintenance-window") {
        await this.setStatus(campaign, "paused", { pausedBy: "maintenance-window", statusReason: "outside the maintenance window" });
      }
      return;
    }
    if (pausedBy === "maintenance-window") {
      if (rollout.status === "paused") {
        await this.hawkbit.resumeRollout(rollout.id);
        await wakeBridge(this.db);
      }
      await this.setStatus(campaign, "running", { pausedBy: null, statusReason: null });
      return;
    }

    if (rollout.status === "running") {
      if (campaign.status !== "running") await this.setStatus(campaign, "running", { pausedBy: null, statusReason: null });
      return;
    }
    if (rollout.status !== "paused") return;

    const groups: MgmtRolloutGroupResponseBody[] = [];
    for await (const g of this.hawkbit.paginate((q) => this.hawkbit.listRolloutGroups(rollout.id, q))) groups.push(g);
    if (groups.some((g) => g.status === "error")) {
      if (pausedBy !== "error-threshold") {
        await this.setStatus(campaign, "paused", { pausedBy: "error-threshold", statusReason: "a group exceeded the error threshold" });
      }
      return;
    }
    if (!options.healthGate && !options.pacing) {
      // Not paused by Aerie's success action, nor by an error: someone paused it in hawkBit itself.
      if (campaign.status !== "paused") await this.setStatus(campaign, "paused", { pausedBy: "operator", statusReason: "paused in hawkBit" });
      return;
    }
    // Paused by the groups' success action: Aerie decides when the next group may start.
    const started = groups.filter((g) => g.status !== "scheduled" && g.status !== "ready");
    const current = started[started.length - 1];
    if (!current) return;
    if (options.healthGate) {
      const members = await this.campaigns.groupMembers.of(rollout.id, current);
      const verdict = await evaluateHealthGate(this.db, campaign.id, members, options.healthGate.soakSeconds, options.successThreshold, now);
      const gate = { groupId: current.id, healthy: verdict.healthy, unhealthy: verdict.unhealthy, waiting: verdict.waiting, checkedAt: now };
      if (!verdict.passed) {
        const reason = verdict.unhealthy.length > 0
          ? `health gate: ${verdict.unhealthy.join(", ")} reported unhealthy after the update`
          : `health gate: waiting for ${current.name} to report healthy for ${options.healthGate.soakSeconds}s`;
        // An unhealthy device holds the campaign until an operator decides (resume or stop).
        await this.setStatus(campaign, "paused", { pausedBy: "health-gate", statusReason: reason, runtime: { ...runtime, gate } as object }, { gate });
        return;
      }
    }
    if (options.pacing) {
      const nextAt = (runtime.lastAdvanceAt ?? 0) + options.pacing.intervalSeconds * 1000;
      if (now < nextAt) {
        if (pausedBy !== "pacing") await this.setStatus(campaign, "paused", { pausedBy: "pacing", statusReason: `pacing: next group at ${new Date(nextAt).toISOString()}` });
        return;
      }
    }
    // Recorded first: a crash before hawkBit resumes is repaired by the next pass (campaign running, rollout
    // still paused → evaluated again). Operator commands cannot interleave (CampaignService.exclusive).
    await this.db.campaign.update({
      where: { id: campaign.id },
      data: { status: "running", pausedBy: null, statusReason: null, runtime: { ...runtime, lastAdvanceAt: now } as object },
    });
    await this.hawkbit.resumeRollout(rollout.id);
    await wakeBridge(this.db);
    await audit(this.db, "aerie", "campaign.group.advance", `campaign:${campaign.id}`, { after: current.name, at: now });
  }

  /** Aerie's abort criteria: over the whole campaign, once enough devices are done. */
  private async abortIfNeeded(campaign: CampaignRow, options: StoredOptions, rollout: MgmtRolloutResponseBody): Promise<boolean> {
    if (!options.abort) return false;
    const counts = rollout.totalTargetsPerStatus ?? {};
    const errors = counts.error ?? 0;
    const executed = (counts.finished ?? 0) + errors;
    if (executed < options.abort.minExecuted || (errors * 100) / executed < options.abort.errorPercent) return false;
    const reason = `aborted: ${errors} of ${executed} devices failed (limit ${options.abort.errorPercent}% after ${options.abort.minExecuted})`;
    await this.campaigns.end(campaign.id, "aerie", reason, "aborted");
    return true;
  }
}
