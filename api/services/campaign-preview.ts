// A campaign's dry run: the same validation and plan as creating it, then who the selection matches in hawkBit,
// split into the devices the rollout would take and those left out with the reason (hardware, installed version).
// Nothing is written, nothing is created in hawkBit (a device group named as selection is provisioned, as any use).
import type { Database } from "../../core/db/prisma.js";
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { badRequest, notFound } from "../http-error.js";
import { parseBody } from "../validation.js";
import { type CampaignInput, planCampaign, validateCampaignInput } from "./campaign-plan.js";
import type { DeviceGroupService } from "./device-groups.js";
import { hardwareTypesOf } from "./releases.js";

/** Devices listed per side; the totals count them all. */
const LISTED = 500;

export class CampaignPreviewService {
  constructor(private readonly db: Database, private readonly hawkbit: HawkbitManagementClient, private readonly groups?: DeviceGroupService) {}

  async preview(body: unknown) {
    // The name does not matter for a dry run; the schema wants one.
    const withName = body && typeof body === "object" && !("name" in body) ? { ...body, name: "preview" } : body;
    let input: CampaignInput = parseBody(validateCampaignInput, withName);
    const release = await this.db.release.findUnique({ where: { id: input.releaseId }, include: { artifacts: { select: { hardwareType: true } } } });
    if (!release) throw notFound(`release ${input.releaseId}`);
    if (typeof input.selection === "object") {
      if (input.targetFilter) throw badRequest("give either targetFilter or selection, not both");
      if (!this.groups) throw badRequest("device groups are not available");
      input = { ...input, selection: undefined, targetFilter: await this.groups.targetFilterOf(input.selection.group) };
    }
    const compatibility = { name: release.name, version: release.version, hardwareTypes: hardwareTypesOf(release.artifacts), upgradableFrom: release.upgradableFrom, versionComponent: release.versionComponent };
    const count = async (q: string) => (await this.hawkbit.listTargets({ q, limit: 1 })).total ?? 0;
    const plan = await planCampaign(input, count, compatibility);
    const selectedPage = await this.hawkbit.listTargets({ q: plan.targetFilter, limit: LISTED, sort: "controllerId:ASC" });
    const selectedTotal = selectedPage.total ?? selectedPage.content?.length ?? 0;
    const excluded: { controllerId: string; reason: string }[] = [];
    let excludedTotal = 0;
    for (const exclusion of plan.exclusions ?? []) {
      const page = await this.hawkbit.listTargets({ q: exclusion.filter, limit: LISTED, sort: "controllerId:ASC" });
      excludedTotal += page.total ?? 0;
      for (const t of page.content ?? []) excluded.push({ controllerId: t.controllerId, reason: exclusion.reason });
    }
    const groups = plan.groups
      ? sizes(selectedTotal, plan.groups.map((g) => ({ name: g.name, percentage: g.targetPercentage, filtered: g.targetFilterQuery !== undefined })))
      : sizes(selectedTotal, Array.from({ length: plan.amountGroups ?? 0 }, (_, i) => ({ name: `group-${i + 1}`, percentage: 100 / ((plan.amountGroups ?? 0) - i), filtered: false })));
    return {
      release: { id: release.id, name: release.name, version: release.version, status: release.status },
      targetFilter: plan.targetFilter,
      selected: { total: selectedTotal, devices: (selectedPage.content ?? []).map((t) => ({ controllerId: t.controllerId, name: t.name ?? null })) },
      excluded: { total: excludedTotal, devices: excluded },
      groups,
      ...(release.status !== "ready" ? { warnings: [`release ${release.name} ${release.version} is ${release.status}; a campaign needs a ready release`] } : {}),
    };
  }
}

/** hawkBit cuts each group as a percentage of the devices not yet in a group (RolloutManagement's group creation). */
function sizes(total: number, groups: { name: string; percentage: number; filtered: boolean }[]) {
  let left = total;
  return groups.map((g) => {
    const devices = g.filtered ? null : Math.min(left, Math.round((left * g.percentage) / 100));
    if (devices !== null) left -= devices;
    return { name: g.name, percentage: g.percentage, devices };
  });
}
