// Follows every live campaign's rollout in hawkBit: starts it once hawkBit has it READY, and
// records running/paused/finished as hawkBit reports them. Runs on a timer; each pass is one
// GET per live campaign, so a restart of Aerie simply resumes following where hawkBit is.
import type { HawkbitManagementClient } from "../hawkbit/management-client.js";
import type { Database } from "../../core/db/prisma.js";
import type { AerieMetrics } from "../../core/metrics.js";
import { logger } from "../../core/log.js";
import { audit } from "../audit.js";
import type { CampaignService, CampaignStatus } from "./campaigns.js";

const LIVE: CampaignStatus[] = ["starting", "running", "paused"];

const FROM_ROLLOUT: Record<string, CampaignStatus | undefined> = {
  starting: "running",
  running: "running",
  paused: "paused",
  finished: "finished",
  stopped: "stopped",
  stopping: "running",
};

export class CampaignMonitor {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly log = logger("campaigns");

  constructor(
    private readonly db: Database,
    private readonly hawkbit: HawkbitManagementClient,
    private readonly campaigns: CampaignService,
    private readonly metrics: AerieMetrics,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.runOnce()
        .catch((error) => this.log.warn({ err: (error as Error).message }, "campaign pass failed"))
        .finally(() => this.schedule(this.intervalMs));
    }, delay);
  }

  async runOnce(): Promise<void> {
    const live = await this.db.campaign.findMany({ where: { status: { in: LIVE } } });
    for (const campaign of live) {
      if (this.stopped) return;
      const rolloutId = campaign.hawkbitRolloutId ?? (await this.campaigns.ensureRollout(campaign.id));
      const rollout = await this.hawkbit.getRollout(rolloutId);
      const rolloutStatus = rollout.status.toLowerCase();
      if (campaign.status === "starting") {
        if (rolloutStatus === "ready") {
          await this.hawkbit.startRollout(rolloutId);
          await this.db.campaign.update({ where: { id: campaign.id }, data: { status: "running", startedAt: new Date() } });
          await audit(this.db, "aerie", "campaign.running", `campaign:${campaign.id}`, { rolloutId });
        }
        continue;
      }
      const next = FROM_ROLLOUT[rolloutStatus];
      if (!next || next === campaign.status) continue;
      const finishedAt = next === "finished" || next === "stopped" ? new Date() : undefined;
      await this.db.campaign.update({ where: { id: campaign.id }, data: { status: next, finishedAt } });
      await audit(this.db, "aerie", `campaign.${next}`, `campaign:${campaign.id}`, { rolloutId, rolloutStatus });
    }
    const byState = await this.db.campaign.groupBy({ by: ["status"], _count: true });
    this.metrics.campaignsByState.reset();
    for (const row of byState) this.metrics.campaignsByState.set({ state: row.status }, row._count);
  }
}
