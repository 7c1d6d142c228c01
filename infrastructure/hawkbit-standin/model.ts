// Persisted entities of the stand-in. Field names follow hawkBit's JPA model where the REST mappers read them,
// so the representation layer stays a straight translation.

export interface Audit {
  createdAt: number;
  createdBy: string;
  lastModifiedAt: number;
  lastModifiedBy: string;
}

export interface SoftwareModuleTypeRec extends Audit {
  id: number;
  key: string;
  name: string;
  description: string;
  maxAssignments: number;
  colour?: string;
  /** Soft-deleted: still in use by modules or DS types (JpaSoftwareModuleTypeManagement.delete). */
  deleted?: boolean;
}

export interface DistributionSetTypeRec extends Audit {
  id: number;
  key: string;
  name: string;
  description: string;
  mandatoryModuleTypeIds: number[];
  optionalModuleTypeIds: number[];
  colour?: string;
  /** Soft-deleted: still in use by sets (JpaDistributionSetTypeManagement.delete). */
  deleted?: boolean;
}

export interface SoftwareModuleRec extends Audit {
  id: number;
  name: string;
  version: string;
  typeId: number;
  vendor?: string;
  description?: string;
  encrypted: boolean;
  locked: boolean;
  metadata?: SoftwareModuleMetadataRec[];
  /** Soft-deleted: still part of a distribution set, no longer listed. */
  deleted?: boolean;
}

export interface SoftwareModuleMetadataRec {
  key: string;
  value: string;
  targetVisible: boolean;
}

export interface ArtifactRec extends Audit {
  id: number;
  softwareModuleId: number;
  filename: string;
  size: number;
  sha1: string;
  md5: string;
  sha256: string;
}

export interface DistributionSetRec extends Audit {
  id: number;
  name: string;
  version: string;
  typeId: number;
  description?: string;
  moduleIds: number[];
  locked: boolean;
  requiredMigrationStep: boolean;
  metadata?: Record<string, string>;
  tagIds?: number[];
  /** Invalidated for good (absent: valid). */
  valid?: boolean;
  /** Soft-deleted: kept for the actions that refer to it, no longer listed. */
  deleted?: boolean;
}

/** hawkBit's TargetUpdateStatus, lower-cased as the REST API renders it. */
export type TargetUpdateStatus = "unknown" | "registered" | "pending" | "in_sync" | "error";

export interface TargetRec extends Audit {
  id: number;
  controllerId: string;
  name: string;
  description?: string;
  address?: string;
  ipAddress?: string;
  securityToken: string;
  requestAttributes: boolean;
  attributes: Record<string, string>;
  updateStatus: TargetUpdateStatus;
  lastControllerRequestAt?: number;
  assignedDistributionSetId?: number;
  installedDistributionSetId?: number;
  installedAt?: number;
  /** The device's standing consent (DDI activateAutoConfirm or the Management API). */
  autoConfirm?: { initiator?: string; remark?: string; activatedAt: number };
  tagIds?: number[];
  targetTypeId?: number;
  metadata?: Record<string, string>;
}

export interface TargetTagRec extends Audit {
  id: number;
  name: string;
  description?: string;
  colour?: string;
}

export interface TargetTypeRec extends Audit {
  id: number;
  key: string;
  name: string;
  description?: string;
  colour?: string;
  compatibleDistributionSetTypeIds: number[];
}

export interface TargetFilterRec extends Audit {
  id: number;
  name: string;
  query: string;
  autoAssign?: { distributionSetId: number; actionType: ActionType; weight?: number; confirmationRequired?: boolean };
}

/** hawkBit 1.1.0 Action.Status, lower-cased as MgmtAction.status renders it. */
export type ActionStatus =
  | "scheduled" | "running" | "retrieved" | "download" | "downloaded" | "warning"
  | "canceling" | "canceled" | "finished" | "error" | "wait_for_confirmation" | "cancel_rejected";

export type ActionType = "forced" | "soft" | "timeforced" | "downloadonly";

export interface ActionStatusEntry {
  id: number;
  status: ActionStatus;
  reportedAt: number;
  messages: string[];
  code?: number;
  /** The device's own time of the status (DdiActionFeedback.timestamp), else the time it was recorded. */
  timestamp?: number;
  createdBy?: string;
}

export interface ActionRec extends Audit {
  id: number;
  controllerId: string;
  distributionSetId: number;
  actionType: ActionType;
  forcedTime?: number;
  weight?: number;
  active: boolean;
  status: ActionStatus;
  rolloutId?: number;
  rolloutGroupId?: number;
  lastStatusCode?: number;
  history: ActionStatusEntry[];
  /** Set by an external system on assignment (MgmtAction.externalRef). */
  externalRef?: string;
}

export type RolloutStatus =
  | "creating" | "waiting_for_approval" | "approval_denied" | "ready" | "starting" | "running" | "paused" | "finished"
  | "deleting" | "deleted" | "stopping" | "stopped";
export type RolloutGroupStatus = "creating" | "ready" | "scheduled" | "running" | "finished" | "error";

export interface Condition {
  condition: "THRESHOLD";
  expression: string;
}

export interface GroupConditions {
  successCondition: Condition;
  successAction: { action: "NEXTGROUP" | "PAUSE"; expression: string };
  errorCondition?: Condition;
  errorAction?: { action: "PAUSE"; expression: string };
}

export interface RolloutRec extends Audit {
  id: number;
  name: string;
  description?: string;
  targetFilterQuery: string;
  distributionSetId: number;
  status: RolloutStatus;
  actionType: ActionType;
  forcedTime?: number;
  startAt?: number;
  weight?: number;
  totalTargets: number;
  /** Ordered: index 0 is started first. */
  groupIds: number[];
  confirmationRequired?: boolean;
  approvalRemark?: string;
  approveDecidedBy?: string;
  /** Soft-deleted: kept (with its actions) because it had started. */
  deleted?: boolean;
  /** Never finishes by itself: targets that start to match are put into dynamic groups. */
  dynamic?: boolean;
}

export interface RolloutGroupRec extends Audit, GroupConditions {
  id: number;
  rolloutId: number;
  name: string;
  description?: string;
  status: RolloutGroupStatus;
  targetFilterQuery?: string;
  targetPercentage: number;
  /** Targets split into this group when the rollout was created. */
  controllerIds: string[];
  /** A PAUSE success action fires once; after the resume the next group starts. */
  successActionFired?: boolean;
  confirmationRequired?: boolean;
  /** Filled while the rollout runs, up to `targetPercentage` targets (hawkBit keeps a dynamic group's size there). */
  dynamic?: boolean;
}

export interface StandinState {
  version: 1;
  sequences: Record<string, number>;
  softwareModuleTypes: SoftwareModuleTypeRec[];
  distributionSetTypes: DistributionSetTypeRec[];
  softwareModules: SoftwareModuleRec[];
  artifacts: ArtifactRec[];
  distributionSets: DistributionSetRec[];
  targets: TargetRec[];
  actions: ActionRec[];
  rollouts: RolloutRec[];
  rolloutGroups: RolloutGroupRec[];
  /** The tenant metadata's default distribution set type (`default.ds.type`); absent means the seeded os_app. */
  defaultDsTypeId?: number;
  /** Tenant configuration (Management API /system/configs), only keys that were set. Absent in old state files. */
  tenantConfig?: Record<string, TenantConfigRec>;
  /** Absent in state files written before tags, target types and target filters. */
  targetTags?: TargetTagRec[];
  /** Distribution set tags (same shape as target tags). */
  distributionSetTags?: TargetTagRec[];
  targetTypes?: TargetTypeRec[];
  targetFilters?: TargetFilterRec[];
}

export interface TenantConfigRec extends Audit {
  value: unknown;
}
