// What a campaign asks for, and how it becomes one hawkBit rollout. The plan (target filter and groups) is
// computed once, stored with the campaign before anything is sent to hawkBit, and the rollout request is derived
// from it alone: a request repeated after a crash is the same request.
import { parse } from "@rsql/parser";
import type { ExpressionNode } from "@rsql/ast";
import type { MgmtActionType, MgmtRolloutGroup, MgmtRolloutRestRequestBodyPost } from "../../hawkbit/types.js";
import { rsqlValue } from "../../hawkbit/management-client.js";
import { badRequest } from "../http-error.js";
import { compile } from "../validation.js";

export interface Pacing {
  /** Devices notified per interval (the first interval with a ramp). */
  devices: number;
  intervalSeconds: number;
  /** Each interval may notify `rampFactor` times as many devices as the one before, up to `maxDevices`. */
  rampFactor: number;
  maxDevices?: number;
}

export interface MaintenanceWindow {
  /** "HH:MM" in UTC; a window with end before start spans midnight. */
  start: string;
  end: string;
}

export interface CampaignInput {
  name: string;
  releaseId: string;
  /** hawkBit target filter RSQL, passed through (hawkBit judges it). */
  targetFilter?: string;
  /**
   * RSQL over Aerie's device attributes (as the bridge sends them to hawkBit), translated to a target filter; or a
   * device group by name (resolved by the campaign service before planning).
   */
  selection?: string | { group: string };
  groups?: number | { name?: string; selection?: string; percentage: number }[];
  /** Cumulative shares of the selected devices, e.g. [1, 10, 50, 100]. */
  stages?: number[];
  successThreshold: number;
  errorThreshold: number;
  actionType: MgmtActionType;
  forceTime?: string;
  /** hawkBit's action weight (0-1000): with multi-assignments, the heavier action is installed first. */
  weight?: number;
  /** Keeps the campaign open: devices that match the selection later get the release, `groupSize` at a time. */
  dynamic?: { groupSize: number; nameSuffix: string };
  approval: boolean;
  startAt?: string;
  maintenanceWindow?: MaintenanceWindow;
  consentRequired: boolean;
  healthGate?: { soakSeconds: number };
  pacing?: Pacing;
  abort?: { errorPercent: number; minExecuted: number };
  /** A device whose action stays in one state this long is failed (DDI closed/failure naming the timeout). */
  stuckTimeoutSeconds?: number;
  /** Per state (Aerie's device-action status or hawkBit's action status), overriding stuckTimeoutSeconds. */
  stuckTimeoutPerState?: Record<string, number>;
  start: boolean;
}

const HHMM = "^([01][0-9]|2[0-3]):[0-5][0-9]$";

export const campaignInputSchema = {
  type: "object",
  required: ["name", "releaseId"],
  additionalProperties: false,
  properties: {
    name: { type: "string", pattern: "^[A-Za-z0-9._ -]{1,64}$" },
    releaseId: { type: "string", format: "uuid" },
    targetFilter: { type: "string", minLength: 1, maxLength: 1024, description: "hawkBit target filter (RSQL), passed through." },
    selection: {
      oneOf: [
        { type: "string", minLength: 1, maxLength: 1024, description: "RSQL over device attributes (controllerId, hardware, updateClient, version.rootfs, ...)." },
        {
          type: "object", required: ["group"], additionalProperties: false, description: "A device group (POST /api/v1/device-groups).",
          properties: { group: { type: "string", pattern: "^[A-Za-z0-9._-]{1,64}$" } },
        },
      ],
    },
    groups: {
      oneOf: [
        { type: "integer", minimum: 1, maximum: 100, description: "Equal split into this many groups." },
        {
          type: "array", minItems: 1, maxItems: 100,
          items: {
            type: "object", required: ["percentage"], additionalProperties: false,
            properties: {
              name: { type: "string", pattern: "^[A-Za-z0-9._ -]{1,64}$" },
              selection: { type: "string", minLength: 1, maxLength: 1024 },
              percentage: { type: "number", exclusiveMinimum: 0, maximum: 100, description: "Share of the devices still unassigned that match." },
            },
          },
        },
      ],
    },
    stages: { type: "array", minItems: 1, maxItems: 20, items: { type: "number", exclusiveMinimum: 0, maximum: 100 }, description: "Cumulative shares, ending with 100." },
    successThreshold: { type: "integer", minimum: 1, maximum: 100, default: 100 },
    errorThreshold: { type: "integer", minimum: 0, maximum: 100, default: 50 },
    actionType: { enum: ["soft", "forced", "timeforced", "downloadonly"], default: "forced" },
    forceTime: { type: "string", format: "date-time", description: "When a timeforced action becomes forced." },
    weight: { type: "integer", minimum: 0, maximum: 1000, description: "hawkBit action weight; the heavier of two assignments is installed first." },
    dynamic: {
      type: "object", required: ["groupSize"], additionalProperties: false,
      description: "Devices that match the selection after the start (newly registered or changed) are updated too, in groups of groupSize; the campaign then runs until stopped. Only with an equal split (groups as a number).",
      properties: {
        groupSize: { type: "integer", minimum: 1, maximum: 100000 },
        nameSuffix: { type: "string", pattern: "^[A-Za-z0-9._-]{0,32}$", default: "-dynamic" },
      },
    },
    approval: { type: "boolean", default: false },
    startAt: { type: "string", format: "date-time" },
    maintenanceWindow: {
      type: "object", required: ["start", "end"], additionalProperties: false,
      properties: { start: { type: "string", pattern: HHMM }, end: { type: "string", pattern: HHMM } },
    },
    consentRequired: { type: "boolean", default: false },
    healthGate: {
      type: "object", required: ["soakSeconds"], additionalProperties: false,
      properties: { soakSeconds: { type: "integer", minimum: 0, maximum: 604800 } },
    },
    pacing: {
      type: "object", required: ["devices"], additionalProperties: false,
      properties: {
        devices: { type: "integer", minimum: 1, maximum: 100000 },
        intervalSeconds: { type: "integer", minimum: 1, maximum: 86400, default: 60 },
        rampFactor: { type: "number", minimum: 1, maximum: 10, default: 1 },
        maxDevices: { type: "integer", minimum: 1 },
      },
    },
    abort: {
      type: "object", required: ["errorPercent", "minExecuted"], additionalProperties: false,
      properties: { errorPercent: { type: "number", minimum: 0, maximum: 100 }, minExecuted: { type: "integer", minimum: 1 } },
    },
    stuckTimeoutSeconds: { type: "integer", minimum: 1, maximum: 604800, description: "Fail a device whose action stays in one state this long." },
    stuckTimeoutPerState: {
      type: "object", description: "Seconds per state (downloading, installing, rebooting, running, retrieved, ...); overrides stuckTimeoutSeconds.",
      propertyNames: { pattern: "^[a-z_-]{1,32}$" },
      additionalProperties: { type: "integer", minimum: 1, maximum: 604800 },
    },
    start: { type: "boolean", default: false },
  },
} as const;

export const validateCampaignInput = compile<CampaignInput>(campaignInputSchema);

const literal = (v: string) => (/^[A-Za-z0-9._*:-]+$/.test(v) ? v : rsqlValue(v));

/** What a release can be installed on: its archives' hardware types and the versions it updates from. */
export interface ReleaseCompatibility {
  name: string;
  version: string;
  hardwareTypes?: string[];
  upgradableFrom: string[];
  versionComponent: string;
}

/**
 * Narrows the selected devices to those the release fits (device attributes `hardware` and
 * `version.<component>`, as the bridge reports them), and names the filters of those left out with the reason.
 */
export function restrictToRelease(selected: string, release: ReleaseCompatibility): { targetFilter: string; exclusions: Exclusion[] } {
  const terms: string[] = [];
  const exclusions: Exclusion[] = [];
  const what = `release ${release.name} ${release.version}`;
  if (release.hardwareTypes?.length) {
    const types = release.hardwareTypes.map(literal).join(",");
    terms.push(`attribute.hardware=in=(${types})`);
    exclusions.push({ reason: `${what} has no archive for this hardware (only ${release.hardwareTypes.join(", ")})`, filter: `(${selected});attribute.hardware=out=(${types})` });
  }
  if (release.upgradableFrom.length > 0) {
    const field = `attribute.version.${release.versionComponent}`;
    terms.push(`(${release.upgradableFrom.map((v) => `${field}==${literal(v)}`).join(",")})`);
    exclusions.push({
      reason: `installed ${release.versionComponent} version is not one ${what} updates from (${release.upgradableFrom.join(", ")})`,
      // Behind the hardware term, so a device is excluded for one reason only.
      filter: `(${selected});${[...terms.slice(0, -1), ...release.upgradableFrom.map((v) => `${field}!=${literal(v)}`)].join(";")}`,
    });
  }
  return terms.length === 0 ? { targetFilter: selected, exclusions } : { targetFilter: `(${selected});${terms.join(";")}`, exclusions };
}

/** Aerie names for hawkBit target fields; everything else is a device attribute. */
const TARGET_FIELDS: Record<string, string> = { controllerid: "controllerId", id: "controllerId", name: "name" };

function emit(node: ExpressionNode): string {
  if (node.type === "LOGIC") {
    const op = node.operator === "and" || node.operator === ";" ? ";" : ",";
    return `(${emit(node.left)}${op}${emit(node.right)})`;
  }
  const raw = node.left.selector;
  const field = TARGET_FIELDS[raw.toLowerCase()] ?? `attribute.${raw.replace(/^attributes?\./, "")}`;
  const value = node.right.value;
  const rendered = Array.isArray(value) ? `(${value.map(literal).join(",")})` : literal(value);
  return `${field}${node.operator}${rendered}`;
}

/** Device-attribute RSQL → hawkBit target filter RSQL (the bridge stores device attributes as target attributes). */
export function selectionToTargetFilter(selection: string, field = "selection"): string {
  let ast: ExpressionNode;
  try {
    ast = parse(selection);
  } catch (error) {
    throw badRequest(`${field} is not valid RSQL: ${(error as Error).message}`);
  }
  return emit(ast);
}

export interface PlannedGroup {
  name: string;
  targetFilterQuery?: string;
  targetPercentage: number;
}

/** Devices the selection matches but the release is not for, each kind with its reason. */
export interface Exclusion {
  reason: string;
  filter: string;
}

export interface CampaignPlan {
  targetFilter: string;
  exclusions?: Exclusion[];
  amountGroups?: number;
  groups?: PlannedGroup[];
  /** How many devices the selection matched when planned (only counted when pacing needs it). */
  matched?: number;
}

/** Cumulative stage shares → hawkBit's "percentage of the remaining targets" per group. */
export function stagesToGroups(stages: number[]): PlannedGroup[] {
  for (let i = 1; i < stages.length; i++) {
    if (stages[i]! <= stages[i - 1]!) throw badRequest("stages must increase");
  }
  if (stages[stages.length - 1] !== 100) throw badRequest("the last stage must be 100");
  let before = 0;
  return stages.map((share, i) => {
    const pct = i === stages.length - 1 ? 100 : ((share - before) / (100 - before)) * 100;
    before = share;
    return { name: `stage-${i + 1}`, targetPercentage: Math.round(pct * 1000) / 1000 };
  });
}

/** Batch sizes within `count` devices under pacing: `devices`, then ramped, capped by maxDevices. */
function batches(count: number, pacing: Pacing, state: { size: number }): number[] {
  const sizes: number[] = [];
  let left = count;
  while (left > 0) {
    const size = Math.min(left, Math.max(1, Math.floor(state.size)));
    sizes.push(size);
    left -= size;
    state.size = Math.min(state.size * pacing.rampFactor, pacing.maxDevices ?? Number.MAX_SAFE_INTEGER);
  }
  return sizes;
}

/** hawkBit's default quota of groups per rollout. */
export const MAX_GROUPS = 500;

/**
 * Stages (or one stage of everything) split into groups of at most the paced batch size. Percentages are of the
 * remaining devices, so hawkBit cuts groups of exactly these sizes from `matched` devices.
 */
export function pacedGroups(matched: number, stages: number[] | undefined, pacing: Pacing): PlannedGroup[] {
  const shares = stages ?? [100];
  const groups: PlannedGroup[] = [];
  const state = { size: pacing.devices };
  let assigned = 0;
  shares.forEach((share, s) => {
    const upTo = s === shares.length - 1 ? matched : Math.round((matched * share) / 100);
    for (const size of batches(upTo - assigned, pacing, state)) {
      const remaining = matched - assigned;
      assigned += size;
      groups.push({ name: `stage-${s + 1}-batch-${groups.length + 1}`, targetPercentage: assigned === matched ? 100 : (size / remaining) * 100 });
    }
  });
  if (groups.length === 0) groups.push({ name: "stage-1-batch-1", targetPercentage: 100 });
  if (groups.length > MAX_GROUPS) throw badRequest(`pacing would need ${groups.length} groups; hawkBit allows ${MAX_GROUPS}. Raise pacing.devices or the ramp.`);
  return groups;
}

/** Everything about the plan that needs no hawkBit call; `matched` is asked only when pacing needs a count. */
export async function planCampaign(input: CampaignInput, countMatched: (filter: string) => Promise<number>, release?: ReleaseCompatibility): Promise<CampaignPlan> {
  if (input.targetFilter && input.selection) throw badRequest("give either targetFilter or selection, not both");
  if (!input.targetFilter && !input.selection) throw badRequest("one of targetFilter or selection is required");
  if (input.groups !== undefined && input.stages !== undefined) throw badRequest("give either groups or stages, not both");
  if (input.pacing && Array.isArray(input.groups)) throw badRequest("pacing works with stages or an equal split, not with explicit groups");
  if (input.actionType === "timeforced" && !input.forceTime) throw badRequest("forceTime is required with actionType timeforced");
  if (input.abort && input.abort.minExecuted < 1) throw badRequest("abort.minExecuted must be at least 1");
  if (typeof input.selection === "object") throw badRequest(`device group ${input.selection.group} was not resolved`);
  if (input.dynamic && (input.stages || Array.isArray(input.groups) || input.pacing)) {
    throw badRequest("dynamic works with an equal split (groups as a number) only: hawkBit refuses dynamic rollouts with explicit groups");
  }
  const selected = input.targetFilter ?? selectionToTargetFilter(input.selection!);
  const { targetFilter, exclusions } = release ? restrictToRelease(selected, release) : { targetFilter: selected, exclusions: [] };
  const plan = await planGroups(input, targetFilter, countMatched);
  return exclusions.length > 0 ? { ...plan, exclusions } : plan;
}

async function planGroups(input: CampaignInput, targetFilter: string, countMatched: (filter: string) => Promise<number>): Promise<CampaignPlan> {
  if (input.dynamic) {
    // No device matching yet is fine for a dynamic campaign: hawkBit's rollout of dynamic groups only.
    const matched = await countMatched(targetFilter);
    return { targetFilter, matched, amountGroups: matched === 0 ? 0 : (input.groups as number | undefined) ?? 2 };
  }
  if (input.pacing) {
    const matched = await countMatched(targetFilter);
    if (matched === 0) throw badRequest("the selection matches no device");
    const equal = typeof input.groups === "number" ? input.groups : undefined;
    const stages = input.stages ?? (equal ? Array.from({ length: equal }, (_, i) => ((i + 1) * 100) / equal) : undefined);
    return { targetFilter, matched, groups: pacedGroups(matched, stages, input.pacing) };
  }
  if (input.stages) return { targetFilter, groups: stagesToGroups(input.stages) };
  if (Array.isArray(input.groups)) {
    return {
      targetFilter,
      groups: input.groups.map((g, i) => ({
        name: g.name ?? `group-${i + 1}`,
        targetFilterQuery: g.selection ? selectionToTargetFilter(g.selection, `groups[${i}].selection`) : undefined,
        targetPercentage: g.percentage,
      })),
    };
  }
  return { targetFilter, amountGroups: input.groups ?? 2 };
}

/** The rollout request, derived from the stored campaign only. */
export function rolloutRequest(name: string, description: string, distributionSetId: number, input: CampaignInput, plan: CampaignPlan): MgmtRolloutRestRequestBodyPost {
  // Gated campaigns let hawkBit pause after every group; Aerie resumes when health and pacing allow.
  const gated = input.healthGate !== undefined || input.pacing !== undefined;
  const groups: MgmtRolloutGroup[] | undefined = plan.groups?.map((g) => ({
    name: g.name, targetPercentage: g.targetPercentage, confirmationRequired: input.consentRequired,
    ...(g.targetFilterQuery ? { targetFilterQuery: g.targetFilterQuery } : {}),
  }));
  return {
    name, description, distributionSetId, targetFilterQuery: plan.targetFilter, type: input.actionType,
    ...(input.forceTime ? { forcetime: Date.parse(input.forceTime) } : {}),
    ...(input.weight !== undefined ? { weight: input.weight } : {}),
    ...(groups ? { groups } : { amountGroups: plan.amountGroups }),
    ...(input.dynamic ? { dynamic: true, dynamicGroupTemplate: { nameSuffix: input.dynamic.nameSuffix, targetCount: input.dynamic.groupSize } } : {}),
    // Always explicit: with the tenant's consent flow on, hawkBit would otherwise ask every device.
    confirmationRequired: input.consentRequired,
    successCondition: { condition: "THRESHOLD", expression: String(input.successThreshold) },
    successAction: { action: gated ? "PAUSE" : "NEXTGROUP", expression: "" },
    errorCondition: { condition: "THRESHOLD", expression: String(input.errorThreshold) },
    errorAction: { action: "PAUSE", expression: "" },
  };
}

/** Whether `now` lies in the daily UTC window. */
export function inWindow(window: MaintenanceWindow | undefined, now = new Date()): boolean {
  if (!window) return true;
  const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const t = now.getUTCHours() * 60 + now.getUTCMinutes();
  const start = minutes(window.start);
  const end = minutes(window.end);
  return start <= end ? t >= start && t < end : t >= start || t < end;
}
