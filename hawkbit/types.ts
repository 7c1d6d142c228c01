// Hand-written types for the hawkBit Management API, named after the schemas of hawkBit's OpenAPI document
// (/rest/v1). Response fields hawkBit may omit are optional.

export interface Link {
  href: string;
  name?: string;
  title?: string;
  templated?: boolean;
}

export type Links = Record<string, Link>;

export interface ExceptionInfo {
  exceptionClass?: string;
  errorCode?: string;
  message?: string;
  info?: Record<string, unknown>;
}

export interface MgmtBaseEntity {
  createdBy?: string;
  createdAt?: number;
  lastModifiedBy?: string;
  lastModifiedAt?: number;
  _links?: Links;
}

export interface PagedList<T> {
  content: T[];
  total?: number;
  size?: number;
  _links?: Links;
}

export interface MgmtSoftwareModuleType extends MgmtBaseEntity {
  id: number;
  key: string;
  name: string;
  description?: string;
  colour?: string;
  maxAssignments?: number;
  deleted?: boolean;
}

export interface MgmtDistributionSetType extends MgmtBaseEntity {
  id: number;
  key: string;
  name: string;
  description?: string;
  colour?: string;
  deleted?: boolean;
}

export interface MgmtSoftwareModuleRequestBodyPost {
  name: string;
  version: string;
  type: string;
  description?: string;
  vendor?: string;
  encrypted?: boolean;
}

export interface MgmtSoftwareModule extends MgmtBaseEntity {
  id: number;
  name: string;
  version: string;
  type: string;
  typeName?: string;
  description?: string;
  vendor?: string;
  encrypted?: boolean;
  locked?: boolean;
  deleted?: boolean;
}

export interface MgmtArtifactHash {
  sha1?: string;
  md5?: string;
  sha256?: string;
}

export interface MgmtArtifact extends MgmtBaseEntity {
  id: number;
  hashes?: MgmtArtifactHash;
  providedFilename?: string;
  size?: number;
}

export interface MgmtSoftwareModuleAssignment {
  id: number;
}

export interface MgmtDistributionSetRequestBodyPost {
  name: string;
  version: string;
  type?: string;
  description?: string;
  locked?: boolean;
  requiredMigrationStep?: boolean;
  modules?: MgmtSoftwareModuleAssignment[];
}

export interface MgmtDistributionSet extends MgmtBaseEntity {
  id: number;
  name: string;
  version?: string;
  type?: string;
  typeName?: string;
  description?: string;
  complete?: boolean;
  locked?: boolean;
  deleted?: boolean;
  valid?: boolean;
  requiredMigrationStep?: boolean;
  modules?: MgmtSoftwareModule[];
}

export interface MgmtTargetRequestBody {
  controllerId: string;
  name: string;
  description?: string;
  address?: string;
  securityToken?: string;
  requestAttributes?: boolean;
  targetType?: number;
}

export interface MgmtPollStatus {
  lastRequestAt?: number;
  nextExpectedRequestAt?: number;
  overdue?: boolean;
}

export type MgmtTargetUpdateStatus = "unknown" | "registered" | "pending" | "in_sync" | "error";

export interface MgmtTarget extends MgmtBaseEntity {
  controllerId: string;
  name: string;
  description?: string;
  updateStatus?: MgmtTargetUpdateStatus | string;
  lastControllerRequestAt?: number;
  installedAt?: number;
  ipAddress?: string;
  address?: string;
  pollStatus?: MgmtPollStatus;
  securityToken?: string;
  requestAttributes?: boolean;
  targetType?: number;
  targetTypeName?: string;
  autoConfirmActive?: boolean;
}

export type MgmtTargetAttributes = Record<string, string>;

export type MgmtActionType = "soft" | "forced" | "timeforced" | "downloadonly";

export interface MgmtAction extends MgmtBaseEntity {
  id: number;
  type?: "update" | "cancel" | string;
  /**
   * hawkBit 1.x: the action's status (Action.Status) lower-cased: running, retrieved, download, downloaded, scheduled,
   * wait_for_confirmation, canceling, cancel_rejected, warning, finished, error, canceled. Read it with actions.ts.
   */
  status?: string;
  /** Whether the action is still open. */
  active?: boolean;
  /** @deprecated Not in hawkBit 1.x (MgmtAction has none); only the old stand-in rendered it. Aerie never reads it. */
  detailStatus?: string;
  forceTime?: number;
  forceType?: MgmtActionType;
  weight?: number;
  rollout?: number;
  rolloutName?: string;
  lastStatusCode?: number;
  externalRef?: string;
}

export interface MgmtRolloutCondition {
  condition?: "THRESHOLD";
  expression?: string;
}

export interface MgmtRolloutSuccessAction {
  /** PAUSE: hawkBit pauses the rollout once the group meets its success condition; a resume starts the next group. */
  action?: "NEXTGROUP" | "PAUSE";
  expression?: string;
}

export interface MgmtRolloutErrorAction {
  action?: "PAUSE";
  expression?: string;
}

export interface MgmtRolloutGroup {
  name: string;
  description?: string;
  targetFilterQuery?: string;
  targetPercentage?: number;
  successCondition?: MgmtRolloutCondition;
  successAction?: MgmtRolloutSuccessAction;
  errorCondition?: MgmtRolloutCondition;
  errorAction?: MgmtRolloutErrorAction;
  confirmationRequired?: boolean;
}

/**
 * How a dynamic rollout cuts its dynamic groups: hawkBit names them `group-<n><nameSuffix>` and fills each with up to
 * `targetCount` targets that match the filter after the static groups were made.
 */
export interface MgmtDynamicRolloutGroupTemplate {
  nameSuffix?: string;
  targetCount?: number;
}

export interface MgmtRolloutRestRequestBodyPost {
  name: string;
  description?: string;
  targetFilterQuery: string;
  distributionSetId: number;
  amountGroups?: number;
  groups?: MgmtRolloutGroup[];
  type?: MgmtActionType;
  forcetime?: number;
  startAt?: number;
  weight?: number;
  confirmationRequired?: boolean;
  /** Keeps the rollout open after its static groups: targets that match later get dynamic groups. Not with `groups`. */
  dynamic?: boolean;
  /** Only with `dynamic`; without it the dynamic groups copy the last static group. */
  dynamicGroupTemplate?: MgmtDynamicRolloutGroupTemplate;
  successCondition?: MgmtRolloutCondition;
  successAction?: MgmtRolloutSuccessAction;
  errorCondition?: MgmtRolloutCondition;
  errorAction?: MgmtRolloutErrorAction;
}

export type MgmtRolloutStatus =
  | "creating" | "ready" | "starting" | "running" | "paused" | "finished" | "stopping" | "stopped"
  | "deleting" | "deleted" | "waiting_for_approval" | "approval_denied";

export interface MgmtRolloutResponseBody extends MgmtBaseEntity {
  id: number;
  name: string;
  description?: string;
  status: MgmtRolloutStatus | string;
  totalTargets: number;
  totalTargetsPerStatus?: Record<string, number>;
  totalGroups?: number;
  targetFilterQuery?: string;
  distributionSetId?: number;
  startAt?: number;
  forcetime?: number;
  deleted?: boolean;
  type?: MgmtActionType;
  weight?: number;
  dynamic?: boolean;
  approvalRemark?: string;
  approveDecidedBy?: string;
}

export interface MgmtSystemTenantConfigurationValue {
  value?: unknown;
  global?: boolean;
  lastModifiedAt?: number;
  lastModifiedBy?: string;
  createdAt?: number;
  createdBy?: string;
}

export interface MgmtTargetAutoConfirm {
  active: boolean;
  initiator?: string;
  remark?: string;
  activatedAt?: number;
  _links?: Links;
}

export type MgmtRolloutGroupStatus = "creating" | "ready" | "scheduled" | "running" | "finished" | "error";

export interface MgmtRolloutGroupResponseBody extends MgmtRolloutGroup, MgmtBaseEntity {
  id: number;
  status?: MgmtRolloutGroupStatus | string;
  totalTargets?: number;
  totalTargetsPerStatus?: Record<string, number>;
  dynamic?: boolean;
}

/** Query parameters of hawkBit's paged list endpoints. `limit` above 500 is not honoured by hawkBit. */
export interface PageQuery {
  q?: string;
  offset?: number;
  limit?: number;
  sort?: string;
  /** Action listings (hawkBit 1.x): `compact` (default, self link only) or `full` (target, distributionset, rollout links). */
  representation?: "compact" | "full";
}

export interface MgmtTagRequestBodyPut {
  name?: string;
  description?: string;
  colour?: string;
}

export interface MgmtTag extends MgmtBaseEntity {
  id: number;
  name: string;
  description?: string;
  colour?: string;
}

/** What hawkBit does when a tag (un)assignment names a target it does not know. */
export type OnNotFoundPolicy = "FAIL" | "ON_WHAT_FOUND_AND_FAIL" | "ON_WHAT_FOUND_AND_SUCCESS";

export interface MgmtTargetTypeRequestBodyPost {
  name: string;
  key?: string;
  description?: string;
  colour?: string;
  compatibledistributionsettypes?: { id: number }[];
}

export interface MgmtTargetType extends MgmtBaseEntity {
  id: number;
  key: string;
  name: string;
  description?: string;
  colour?: string;
  deleted?: boolean;
}

export interface MgmtMetadata {
  key: string;
  value?: string;
}

export interface MgmtSoftwareModuleMetadata extends MgmtMetadata {
  /** Shown to devices in the DDI deployment (chunk metadata). */
  targetVisible?: boolean;
}

export interface MgmtInvalidateDistributionSetRequestBody {
  /** soft: open actions are cancelled (devices confirm); force: closed at once; none: left running. */
  actionCancelationType: "soft" | "force" | "none";
  cancelRollouts?: boolean;
}

export interface MgmtTargetFilterQueryRequestBody {
  name: string;
  query: string;
}

export interface MgmtTargetFilterQuery extends MgmtBaseEntity {
  id: number;
  name?: string;
  query?: string;
  autoAssignDistributionSet?: number;
  autoAssignActionType?: MgmtActionType;
  autoAssignWeight?: number;
  confirmationRequired?: boolean;
}

export interface MgmtDistributionSetAutoAssignment {
  id: number;
  type?: MgmtActionType;
  weight?: number;
  confirmationRequired?: boolean;
}
