// Campaigns: Aerie's record of a hawkBit rollout. The campaign row is written before the rollout
// is created, and the rollout is found again by its name (the campaign id), so an interrupted
// create never leaves a second rollout behind.
import type { HawkbitManagementClient } from "../hawkbit/management-client.js";
import type { Database } from "../../core/db/prisma.js";
import { audit } from "../audit.js";
import { conflict, HttpError, notFound } from "../http-error.js";
import { compile, parseBody } from "../validation.js";

/** Drawn: created → starting → running ⇄ paused → finished | stopped. */
export type CampaignStatus = "created" | "starting" | "running" | "paused" | "finished" | "stopped";

export interface CreateCampaign {
  name: string;
  releaseId: string;
  targetFilter: string;
  groups: number;
  successThreshold: number;
  errorThreshold: number;
  actionType: "soft" | "forced" | "downloadonly";
  start: boolean;
}

export const validateCreateCampaign = compile<CreateCampaign>({
  type: "object",
  required: ["name", "releaseId", "targetFilter"],
  additionalProperties: false,
  properties: {
    name: { type: "string", pattern: "^[A-Za-z0-9._ -]{1,64}$" },
    releaseId: { type: "string", format: "uuid" },
    targetFilter: { type: "string", minLength: 1, maxLength: 1024 },
    groups: { type: "integer", minimum: 1, maximum: 100, default: 2 },
    successThreshold: { type: "integer", minimum: 1, maximum: 100, default: 100 },
    errorThreshold: { type: "integer", minimum: 1, maximum: 100, default: 50 },
    actionType: { enum: ["soft", "forced", "downloadonly"], default: "forced" },
    start: { type: "boolean", default: false },
  },
});

export function rolloutName(campaignId: string): string {
  return `aerie-${campaignId}`;
}

export class CampaignService {
  constructor(private readonly db: Database, private readonly hawkbit: HawkbitManagementClient) {}

  async create(body: unknown, actor: string) {
    const input = parseBody(validateCreateCampaign, body);
    const release = await this.db.release.findUnique({ where: { id: input.releaseId } });
    if (!release) throw notFound(`release ${input.releaseId}`);
    if (!release.hawkbitDistributionSetId) throw conflict(`release ${release.id} has no distribution set in hawkBit`);
    if (await this.db.campaign.findUnique({ where: { name: input.name } })) throw conflict(`campaign ${input.name} exists already`);

    const campaign = await this.db.campaign.create({
      data: {
        name: input.name,
        releaseId: release.id,
        targetFilter: input.targetFilter,
        groups: { amount: input.groups },
        options: { successThreshold: input.successThreshold, errorThreshold: input.errorThreshold, actionType: input.actionType },
      },
    });
    try {
      await this.ensureRollout(campaign.id);
    } catch (error) {
      // The filter or thresholds were refused by hawkBit: no campaign without a rollout remains.
      await this.db.campaign.delete({ where: { id: campaign.id } });
      throw error;
    }
    await audit(this.db, actor, "campaign.create", `campaign:${campaign.id}`, { name: input.name, release: release.id, targetFilter: input.targetFilter });
    if (input.start) await this.start(campaign.id, actor);
    return this.get(campaign.id);
  }

  /** Creates the campaign's rollout unless hawkBit has it already. */
  async ensureRollout(campaignId: string): Promise<number> {
    const campaign = await this.db.campaign.findUniqueOrThrow({ where: { id: campaignId }, include: { release: true } });
    if (campaign.hawkbitRolloutId) return campaign.hawkbitRolloutId;
    const options = campaign.options as { successThreshold: number; errorThreshold: number; actionType: CreateCampaign["actionType"] };
    const name = rolloutName(campaign.id);
    const existing = await this.hawkbit.findRolloutByName(name);
    const rollout =
      existing ??
      (await this.hawkbit.createRollout({
        name,
        description: campaign.name,
        distributionSetId: campaign.release.hawkbitDistributionSetId!,
        targetFilterQuery: campaign.targetFilter,
        amountGroups: (campaign.groups as { amount: number }).amount,
        type: options.actionType,
        successCondition: { condition: "THRESHOLD", expression: String(options.successThreshold) },
        successAction: { action: "NEXTGROUP", expression: "" },
        errorCondition: { condition: "THRESHOLD", expression: String(options.errorThreshold) },
        errorAction: { action: "PAUSE", expression: "" },
      }));
    await this.db.campaign.update({ where: { id: campaign.id }, data: { hawkbitRolloutId: rollout.id } });
    return rollout.id;
  }

  /** Marks the campaign to start; the monitor starts the rollout as soon as hawkBit has it READY. */
  async start(id: string, actor: string) {
    const campaign = await this.db.campaign.findUnique({ where: { id } });
    if (!campaign) throw notFound(`campaign ${id}`);
    if (campaign.status !== "created") throw new HttpError(409, "conflict", `campaign ${id} is ${campaign.status}; only a created campaign can start`);
    await this.db.campaign.update({ where: { id }, data: { status: "starting" satisfies CampaignStatus } });
    await audit(this.db, actor, "campaign.start", `campaign:${id}`);
    return this.get(id);
  }

  async get(id: string) {
    const campaign = await this.db.campaign.findUnique({ where: { id }, include: { release: true } });
    if (!campaign) throw notFound(`campaign ${id}`);
    const actions = await this.db.deviceAction.findMany({ where: { campaignId: id }, include: { device: { select: { controllerId: true } } }, orderBy: { createdAt: "asc" } });
    const counts: Record<string, number> = {};
    for (const action of actions) counts[action.status] = (counts[action.status] ?? 0) + 1;
    return {
      id: campaign.id,
      name: campaign.name,
      status: campaign.status as CampaignStatus,
      release: { id: campaign.release.id, name: campaign.release.name, version: campaign.release.version },
      targetFilter: campaign.targetFilter,
      groups: campaign.groups,
      options: campaign.options,
      hawkbitRolloutId: campaign.hawkbitRolloutId,
      createdAt: campaign.createdAt,
      startedAt: campaign.startedAt,
      finishedAt: campaign.finishedAt,
      progress: { devices: actions.length, byStatus: counts },
      devices: actions.map((a) => ({ controllerId: a.device.controllerId, actionId: a.hawkbitActionId, status: a.status, detail: a.detail, updatedAt: a.updatedAt })),
    };
  }

  list() {
    return this.db.campaign.findMany({ orderBy: { createdAt: "desc" } });
  }
}
