// Campaigns: Aerie's record of a hawkBit rollout plus what hawkBit lacks. Operator commands land here; the
// campaign reconciler (campaign-monitor.ts) drives every campaign towards what was asked, from Postgres and
// hawkBit alone, so Aerie may die between any two hawkBit calls.
//
// Campaign state machine ("CampaignStatus"):
//
//   provisioning ──rollout ensured (looked up by name, then created)──► created
//        │ hawkBit refused the rollout (4xx): row removed, refusal answered
//   created ──start──► (waiting_for_approval ──approve──►) (scheduled: startAt / maintenance window) ──► starting
//   waiting_for_approval ──deny──► denied
//   starting ──hawkBit RUNNING──► running ◄──resume / gate passed──► paused (operator, error threshold, health gate,
//                                   │                                        pacing interval, maintenance window)
//                                   ├──hawkBit FINISHED──► finished
//                                   ├──abort criteria met──► aborted
//   created | running | paused ──stop──► stopped (hawkBit's rollout stop: open actions cancelled, devices told `cancel`)
//   finished | stopped | aborted (with failed devices) ──retry──► retrying ──retry rollout ensured──► created (start requested)
import { GroupMembers } from "./group-members.js";
import { wakeBridge } from "./bridge-wake.js";
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { HawkbitError } from "../../hawkbit/errors.js";
import { actionStatus, openActionsOfRollout } from "../../hawkbit/actions.js";
import type { MgmtRolloutGroupResponseBody } from "../../hawkbit/types.js";
import type { Database } from "../../core/db/prisma.js";
import { SerialByKey } from "../../core/serial-by-key.js";
import { audit } from "../audit.js";
import { HttpError, badRequest, conflict, notFound } from "../http-error.js";
import { parseBody } from "../validation.js";
import { type CampaignInput, type CampaignPlan, planCampaign, rolloutRequest, validateCampaignInput } from "./campaign-plan.js";
import type { DeviceGroupService } from "./device-groups.js";
import { hardwareTypesOf } from "./releases.js";
import { TIMED_OUT_PREFIX } from "./stuck-devices.js";

export type CampaignStatus =
  | "provisioning" | "created" | "waiting_for_approval" | "denied" | "scheduled" | "starting" | "running" | "paused"
  | "finished" | "stopped" | "aborted" | "retrying";

/** Campaigns the reconciler works on. */
export const LIVE_STATUSES: CampaignStatus[] = ["provisioning", "created", "waiting_for_approval", "scheduled", "starting", "running", "paused", "retrying"];

/** Who paused a campaign: only an operator's pause is left alone by the reconciler. */
export type PausedBy = "operator" | "error-threshold" | "health-gate" | "pacing" | "maintenance-window" | "success-action";

export interface CampaignRuntime {
  /** When Aerie last started a group (start or resume), for pacing. */
  lastAdvanceAt?: number;
  previousRollouts?: number[];
  retryName?: string;
  gate?: { groupId: number; healthy: number; unhealthy: string[]; waiting: number; checkedAt: number };
}

export interface StoredOptions extends Omit<CampaignInput, "name" | "releaseId" | "start"> {
  plan: CampaignPlan;
}

/** Excluded devices listed per reason in a campaign's answer; `progress.excluded` counts them all. */
const EXCLUDED_LISTED = 100;

export function rolloutName(campaignId: string): string {
  return `aerie-${campaignId}`;
}

function conflictState(id: string, status: string, what: string): HttpError {
  return new HttpError(409, "conflict", `campaign ${id} is ${status}; ${what}`);
}

export class CampaignService {
  /** Shared with the campaign monitor's health gate. */
  readonly groupMembers: GroupMembers;

  constructor(
    private readonly db: Database,
    private readonly hawkbit: HawkbitManagementClient,
    private readonly groups?: DeviceGroupService,
    /** How devices reach hawkBit (the bridge's channel): DMF has a batch mode that cannot ask for consent. */
    private readonly channel: { transport?: "ddi" | "dmf" } = {},
  ) {
    this.groupMembers = new GroupMembers(hawkbit);
  }

  /** A device group as selection becomes the group's target filter; the stored options keep the group's name. */
  private async resolveSelection(input: CampaignInput): Promise<CampaignInput> {
    if (typeof input.selection !== "object") return input;
    if (input.targetFilter) throw badRequest("give either targetFilter or selection, not both");
    if (!this.groups) throw badRequest("device groups are not available");
    return { ...input, selection: undefined, targetFilter: await this.groups.targetFilterOf(input.selection.group) };
  }

  async create(body: unknown, actor: string) {
    const input = parseBody(validateCampaignInput, body);
    const release = await this.db.release.findUnique({ where: { id: input.releaseId }, include: { artifacts: { select: { hardwareType: true } } } });
    if (!release) throw notFound(`release ${input.releaseId}`);
    if (release.status !== "ready" || !release.hawkbitDistributionSetId) throw conflict(`release ${release.id} is ${release.status}; only a ready release can be rolled out`);
    if (await this.db.campaign.findUnique({ where: { name: input.name } })) throw conflict(`campaign ${input.name} exists already`);
    if (input.consentRequired) await this.assertConsentPossible();
    const compatibility = { name: release.name, version: release.version, hardwareTypes: hardwareTypesOf(release.artifacts), upgradableFrom: release.upgradableFrom, versionComponent: release.versionComponent };
    const plan = await planCampaign(await this.resolveSelection(input), async (q) => (await this.hawkbit.listTargets({ q, limit: 1 })).total ?? 0, compatibility);
    const { name, releaseId, start, ...rest } = input;
    const options: StoredOptions = { ...rest, plan };

    const campaign = await this.db.campaign.create({
      data: {
        name, releaseId, targetFilter: plan.targetFilter, groups: (plan.groups ?? { amount: plan.amountGroups }) as object,
        options: options as object, status: "provisioning" satisfies CampaignStatus, startRequested: start,
      },
    });
    let pending: unknown;
    try {
      await this.provision(campaign.id);
    } catch (error) {
      // hawkBit refused the rollout (filter, thresholds, groups): no campaign without a rollout remains, and a
      // refused request leaves no audit event (whose trigger would also enqueue campaign.created webhooks).
      if (error instanceof HawkbitError && error.status !== undefined && error.status < 500 && error.status !== 429) {
        await this.db.campaign.delete({ where: { id: campaign.id } });
        throw error;
      }
      // hawkBit unreachable: the campaign exists and the reconciler provisions it later, so it is audited.
      pending = error;
    }
    await audit(this.db, actor, "campaign.create", `campaign:${campaign.id}`, { name, release: releaseId, targetFilter: plan.targetFilter });
    if (pending) throw pending;
    return this.get(campaign.id);
  }

  /**
   * With batch.assignments.enabled, hawkBit sends a rollout's actions over DMF as BATCH_DOWNLOAD(_AND_INSTALL),
   * never CONFIRM (AmqpMessageDispatcherService.sendBatchUpdateMessage does not look at confirmation): devices
   * would be told to install without being asked. Refused before anything is created.
   */
  private async assertConsentPossible(): Promise<void> {
    if (this.channel.transport !== "dmf") return;
    const batch = await this.hawkbit.getTenantConfig("batch.assignments.enabled");
    if (batch.value === true) {
      throw conflict("consentRequired: hawkBit's batch.assignments.enabled is on, and over DMF hawkBit then sends batch installs without asking devices for consent; switch it off in hawkBit or leave consentRequired out");
    }
  }

  private readonly inflight = new Map<string, Promise<number>>();
  private readonly serial = new SerialByKey();

  /**
   * Runs work on one campaign alone. Operator commands and the reconciler's steps both read a campaign, call
   * hawkBit and write the outcome; interleaved, a step acting on what it read before a resume undid the resume.
   */
  exclusive<T>(campaignId: string, work: () => Promise<T>): Promise<T> {
    return this.serial.run(campaignId, work);
  }

  /** provisioning → created: the rollout exists in hawkBit exactly once. Safe to repeat at any point. */
  provision(campaignId: string): Promise<number> {
    // The API request and the reconciler share this service: one provisioning per campaign at a time.
    const running = this.inflight.get(campaignId);
    if (running) return running;
    const run = this.provisionOnce(campaignId).finally(() => this.inflight.delete(campaignId));
    this.inflight.set(campaignId, run);
    return run;
  }

  private async provisionOnce(campaignId: string): Promise<number> {
    const campaign = await this.db.campaign.findUniqueOrThrow({ where: { id: campaignId }, include: { release: true } });
    if (campaign.hawkbitRolloutId) return campaign.hawkbitRolloutId;
    const options = campaign.options as unknown as StoredOptions;
    if (options.consentRequired) {
      // hawkBit asks devices for consent only with the tenant's confirmation flow on; Aerie's rollouts always say
      // explicitly whether they need it, so switching it on changes nothing for the others.
      const flow = await this.hawkbit.getTenantConfig("user.confirmation.flow.enabled");
      if (flow.value !== true) await this.hawkbit.setTenantConfig("user.confirmation.flow.enabled", true);
    }
    const request = rolloutRequest(rolloutName(campaign.id), campaign.name, campaign.release.hawkbitDistributionSetId!, { ...options, name: campaign.name, releaseId: campaign.releaseId, start: false }, options.plan);
    const rollout = await this.hawkbit.ensureRollout(request);
    await this.db.campaign.update({ where: { id: campaign.id }, data: { hawkbitRolloutId: rollout.id, status: "created" satisfies CampaignStatus } });
    return rollout.id;
  }

  /** Kept for callers of the walking skeleton. */
  ensureRollout(campaignId: string): Promise<number> {
    return this.provision(campaignId);
  }

  private async load(id: string) {
    const campaign = await this.db.campaign.findUnique({ where: { id } });
    if (!campaign) throw notFound(`campaign ${id}`);
    return campaign;
  }

  /** Asks for the start; the reconciler starts the rollout once it is ready, approved, due and in its window. */
  start(id: string, actor: string) {
    return this.exclusive(id, async () => {
      const campaign = await this.load(id);
      if (!["provisioning", "created", "waiting_for_approval"].includes(campaign.status) || campaign.startRequested) {
        throw conflictState(id, campaign.startRequested && campaign.status === "created" ? "starting already" : campaign.status, "only a created campaign can start");
      }
      await this.db.campaign.update({ where: { id }, data: { startRequested: true } });
      await audit(this.db, actor, "campaign.start", `campaign:${id}`);
      return this.get(id);
    });
  }

  pause(id: string, actor: string) {
    return this.exclusive(id, async () => {
      const campaign = await this.load(id);
      // "starting" too: Aerie learns that hawkBit runs the rollout up to a pass later, while devices may already update.
      if (!["starting", "running", "paused"].includes(campaign.status)) throw conflictState(id, campaign.status, "only a started campaign can be paused");
      // Recorded first: if Aerie stops before hawkBit has paused, the reconciler pauses it.
      await this.db.campaign.update({ where: { id }, data: { status: "paused", pausedBy: "operator" satisfies PausedBy, statusReason: `paused by ${actor}` } });
      const rollout = await this.hawkbit.getRollout(campaign.hawkbitRolloutId!);
      // hawkBit pauses only a running rollout; one still starting is paused by the reconciler once it runs.
      if (rollout.status === "running") await this.hawkbit.pauseRollout(rollout.id);
      await audit(this.db, actor, "campaign.pause", `campaign:${id}`);
      return this.get(id);
    });
  }

  /** An operator's resume also overrides a health gate, pacing or error pause: the next group starts. */
  resume(id: string, actor: string) {
    return this.exclusive(id, async () => {
      const campaign = await this.load(id);
      if (campaign.status !== "paused") throw conflictState(id, campaign.status, "only a paused campaign can be resumed");
      const rollout = await this.hawkbit.getRollout(campaign.hawkbitRolloutId!);
      if (rollout.status === "paused") {
        await this.hawkbit.resumeRollout(rollout.id);
        await wakeBridge(this.db);
      }
      const runtime = { ...(campaign.runtime as CampaignRuntime), lastAdvanceAt: Date.now(), gate: undefined };
      // Paused before hawkBit ran it: back to starting, so the reconciler still does the first run's work.
      const status: CampaignStatus = campaign.startedAt ? "running" : "starting";
      await this.db.campaign.update({ where: { id }, data: { status, pausedBy: null, statusReason: null, runtime: runtime as object } });
      await audit(this.db, actor, "campaign.resume", `campaign:${id}`);
      return this.get(id);
    });
  }

  /**
   * Ends the campaign with hawkBit 1.x's rollout stop: hawkBit drops the actions not started yet and cancels every open
   * one (CANCELING), so each notified device receives `cancel` from the bridge and answers it; the rollout ends
   * STOPPED once they have.
   */
  stop(id: string, actor: string) {
    return this.exclusive(id, () => this.end(id, actor, `stopped by ${actor}`, "stopped"));
  }

  /** Stops (or aborts) the campaign; the caller runs inside exclusive() for it. */
  async end(id: string, actor: string, reason: string, status: CampaignStatus) {
    const campaign = await this.load(id);
    if (!["provisioning", "created", "waiting_for_approval", "scheduled", "starting", "running", "paused"].includes(campaign.status)) {
      throw conflictState(id, campaign.status, "it cannot be stopped");
    }
    const rolloutId = campaign.hawkbitRolloutId ?? (campaign.status === "provisioning" ? await this.provision(id) : undefined);
    if (rolloutId) await this.stopRollout(rolloutId);
    await this.db.campaign.update({ where: { id }, data: { status, statusReason: reason, finishedAt: new Date(), startRequested: false } });
    await wakeBridge(this.db);
    await audit(this.db, actor, `campaign.${status}`, `campaign:${id}`, { reason });
    return this.get(id);
  }

  /** POST /rollouts/{id}/stop; a rollout hawkBit has already ended (finished, stopped, deleted) needs none. */
  private async stopRollout(rolloutId: number): Promise<void> {
    const rollout = await this.hawkbit.getRollout(rolloutId).catch((error: unknown) => {
      if (error instanceof HawkbitError && error.kind === "not-found") return undefined;
      throw error;
    });
    // JpaRolloutManagement.stop accepts these (ROLLOUT_STATUS_STOPPABLE); anything else is over or on its way out.
    const stoppable = ["creating", "ready", "waiting_for_approval", "starting", "running", "paused", "approval_denied"];
    if (rollout && stoppable.includes(rollout.status ?? "")) await this.hawkbit.stopRollout(rolloutId);
  }

  /**
   * Cancels one device's update in a started campaign: hawkBit's soft cancel of its open action (CANCELING), which the
   * bridge announces to the device as `cancel`; the device's answer ends it (canceled, or back to running if it
   * refuses). The rest of the campaign goes on.
   */
  cancelDevice(id: string, controllerId: string, actor: string) {
    return this.exclusive(id, async () => {
      const campaign = await this.load(id);
      if (!["starting", "running", "paused"].includes(campaign.status) || !campaign.hawkbitRolloutId) {
        throw conflictState(id, campaign.status, "only a started campaign has device updates to cancel");
      }
      const q = openActionsOfRollout(campaign.hawkbitRolloutId);
      const open = await this.hawkbit.listTargetActions(controllerId, { q, sort: "id:DESC", limit: 1 }).catch((error: unknown) => {
        if (error instanceof HawkbitError && error.kind === "not-found") throw notFound(`device ${controllerId}`);
        throw error;
      });
      const action = open.content[0];
      if (!action) throw notFound(`an open update of device ${controllerId} in campaign ${id}`);
      if (actionStatus(action) !== "canceling") await this.hawkbit.cancelAction(controllerId, action.id);
      await audit(this.db, actor, "campaign.device-cancel", `campaign:${id}`, { controllerId, actionId: action.id });
      await wakeBridge(this.db);
      return { campaignId: id, controllerId, actionId: action.id, status: "canceling" };
    });
  }

  approve(id: string, actor: string) {
    return this.exclusive(id, async () => {
      const campaign = await this.load(id);
      const options = campaign.options as unknown as StoredOptions;
      if (campaign.status !== "waiting_for_approval" && !(options.approval && !campaign.approvedAt && ["provisioning", "created"].includes(campaign.status))) {
        throw conflictState(id, campaign.status, "only a campaign waiting for approval can be approved");
      }
      // Four eyes. hawkBit's approval workflow (DefaultRolloutApprovalStrategy#isApprovalNeeded,
      // JpaRolloutManagement#approveOrDeny) separates the creating and the approving permission; Aerie also
      // separates the persons: whoever created or started the campaign cannot approve it as well.
      const own = await this.db.auditEvent.findFirst({ where: { subject: `campaign:${id}`, actor, action: { in: ["campaign.create", "campaign.start"] } } });
      if (own) throw new HttpError(403, "four_eyes", `${actor} ${own.action === "campaign.create" ? "created" : "started"} this campaign, so someone else must approve it (four eyes)`);
      await this.db.campaign.update({ where: { id }, data: { approvedAt: new Date(), approvedBy: actor } });
      if (campaign.hawkbitRolloutId) {
        const rollout = await this.hawkbit.getRollout(campaign.hawkbitRolloutId);
        if (rollout.status === "waiting_for_approval") await this.hawkbit.approveRollout(rollout.id, `approved in Aerie by ${actor}`);
      }
      await this.db.campaign.update({ where: { id }, data: { status: "created" } });
      await audit(this.db, actor, "campaign.approve", `campaign:${id}`);
      return this.get(id);
    });
  }

  deny(id: string, actor: string) {
    return this.exclusive(id, async () => {
      const campaign = await this.load(id);
      const options = campaign.options as unknown as StoredOptions;
      if (campaign.status !== "waiting_for_approval" && !(options.approval && !campaign.approvedAt && campaign.status === "created")) {
        throw conflictState(id, campaign.status, "only a campaign waiting for approval can be denied");
      }
      if (campaign.hawkbitRolloutId) {
        const rollout = await this.hawkbit.getRollout(campaign.hawkbitRolloutId);
        if (rollout.status === "waiting_for_approval") await this.hawkbit.denyRollout(rollout.id, `denied in Aerie by ${actor}`);
        else await this.hawkbit.deleteRollout(rollout.id);
      }
      await this.db.campaign.update({ where: { id }, data: { status: "denied", statusReason: `denied by ${actor}`, finishedAt: new Date(), startRequested: false } });
      await audit(this.db, actor, "campaign.deny", `campaign:${id}`);
      return this.get(id);
    });
  }

  /** A new rollout over the devices that failed; only once the rollout is over in hawkBit. */
  retry(id: string, actor: string) {
    return this.exclusive(id, async () => {
      const campaign = await this.load(id);
      if (!["finished", "stopped", "aborted"].includes(campaign.status) || !campaign.hawkbitRolloutId) {
        throw conflictState(id, campaign.status, "only a finished, stopped or aborted campaign can retry its failed devices");
      }
      const rollout = await this.hawkbit.getRollout(campaign.hawkbitRolloutId);
      if ((rollout.totalTargetsPerStatus?.error ?? 0) === 0) throw conflictState(id, campaign.status, "no device failed");
      if (rollout.status !== "finished") throw conflictState(id, campaign.status, `its rollout is ${rollout.status}; hawkBit retries only finished rollouts`);
      const runtime: CampaignRuntime = { ...(campaign.runtime as CampaignRuntime), retryName: `${rollout.name}_retry` };
      await this.db.campaign.update({ where: { id }, data: { status: "retrying", runtime: runtime as object, finishedAt: null, statusReason: `retry by ${actor}` } });
      await audit(this.db, actor, "campaign.retry", `campaign:${id}`, { rolloutId: rollout.id });
      await this.completeRetry(id);
      return this.get(id);
    });
  }

  /** retrying → created: the retry rollout exists exactly once (found by hawkBit's `<name>_retry` name first). */
  async completeRetry(id: string): Promise<void> {
    const campaign = await this.load(id);
    if (campaign.status !== "retrying") return;
    const runtime = campaign.runtime as CampaignRuntime;
    const retried = (await this.hawkbit.findRolloutByName(runtime.retryName!)) ?? (await this.hawkbit.retryRollout(campaign.hawkbitRolloutId!));
    const next: CampaignRuntime = { ...runtime, previousRollouts: [...(runtime.previousRollouts ?? []), campaign.hawkbitRolloutId!], retryName: undefined, gate: undefined };
    await this.db.campaign.update({
      where: { id },
      data: { hawkbitRolloutId: retried.id, status: "created", startRequested: true, pausedBy: null, runtime: next as object },
    });
  }

  async get(id: string) {
    const campaign = await this.db.campaign.findUnique({ where: { id }, include: { release: true } });
    if (!campaign) throw notFound(`campaign ${id}`);
    const actions = await this.db.deviceAction.findMany({ where: { campaignId: id }, include: { device: { select: { controllerId: true } } }, orderBy: { createdAt: "asc" } });
    // The latest action per device: a retry gives a device a second one.
    const latest = new Map<string, (typeof actions)[number]>();
    for (const action of actions) latest.set(action.device.controllerId, action);
    const counts: Record<string, number> = {};
    let timedOut = 0;
    for (const action of latest.values()) {
      counts[action.status] = (counts[action.status] ?? 0) + 1;
      if (action.detail?.startsWith(TIMED_OUT_PREFIX)) timedOut++;
    }

    let groups: { id: number; name: string; status?: string; totalTargets?: number; targetPercentage?: number; byStatus?: Record<string, number>; devices: string[] }[] = [];
    let rollout: { id: number; status: string; totalTargets: number; byStatus?: Record<string, number> } | undefined;
    const groupOf = new Map<string, string>();
    if (campaign.hawkbitRolloutId) {
      try {
        const r = await this.hawkbit.getRollout(campaign.hawkbitRolloutId);
        rollout = { id: r.id, status: r.status, totalTargets: r.totalTargets, byStatus: r.totalTargetsPerStatus };
        const list: MgmtRolloutGroupResponseBody[] = [];
        for await (const g of this.hawkbit.paginate((q) => this.hawkbit.listRolloutGroups(r.id, q))) list.push(g);
        groups = [];
        for (const g of list) {
          const devices = await this.groupMembers.of(r.id, g);
          for (const d of devices) groupOf.set(d, g.name);
          groups.push({ id: g.id, name: g.name, status: g.status, totalTargets: g.totalTargets, targetPercentage: g.targetPercentage, byStatus: g.totalTargetsPerStatus, devices });
        }
      } catch (error) {
        if (!(error instanceof HawkbitError && error.kind === "not-found")) throw error;
      }
    }
    const options = campaign.options as unknown as StoredOptions;
    const excluded = await this.excluded(options.plan);
    return {
      id: campaign.id,
      name: campaign.name,
      status: campaign.status as CampaignStatus,
      statusReason: campaign.statusReason,
      pausedBy: campaign.pausedBy,
      startRequested: campaign.startRequested,
      approval: { required: options.approval ?? false, approvedBy: campaign.approvedBy, approvedAt: campaign.approvedAt },
      release: { id: campaign.release.id, name: campaign.release.name, version: campaign.release.version },
      targetFilter: campaign.targetFilter,
      groups: campaign.groups,
      options: campaign.options,
      hawkbitRolloutId: campaign.hawkbitRolloutId,
      createdAt: campaign.createdAt,
      startedAt: campaign.startedAt,
      finishedAt: campaign.finishedAt,
      rollout,
      gate: (campaign.runtime as CampaignRuntime).gate,
      progress: { devices: latest.size, byStatus: counts, timedOut, excluded: excluded.count, groups: groups.map(({ devices, ...g }) => ({ ...g, devices: devices.length })) },
      excluded: excluded.devices,
      devices: [...latest.values()].map((a) => ({
        controllerId: a.device.controllerId, group: groupOf.get(a.device.controllerId) ?? null, actionId: a.hawkbitActionId, status: a.status, detail: a.detail, updatedAt: a.updatedAt,
      })),
    };
  }

  /**
   * Selected devices the release does not fit, asked of hawkBit now (a device may have been updated or registered
   * since): the count, and the first devices of each reason.
   */
  private async excluded(plan: CampaignPlan | undefined): Promise<{ count: number; devices: { controllerId: string; reason: string }[] }> {
    let count = 0;
    const devices: { controllerId: string; reason: string }[] = [];
    for (const exclusion of plan?.exclusions ?? []) {
      const page = await this.hawkbit.listTargets({ q: exclusion.filter, limit: EXCLUDED_LISTED, sort: "controllerId:ASC" });
      count += page.total ?? page.content.length;
      for (const t of page.content) devices.push({ controllerId: t.controllerId, reason: exclusion.reason });
    }
    return { count, devices };
  }

  list() {
    return this.db.campaign.findMany({ orderBy: { createdAt: "desc" } });
  }
}
