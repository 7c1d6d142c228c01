// Entity → Management API JSON, with the `_links` hawkBit's mappers attach. `base` is the request's origin,
// because hawkBit builds its links from the incoming Host header.
import type {
  ActionRec, ActionStatusEntry, ArtifactRec, Audit, DistributionSetRec, DistributionSetTypeRec, RolloutGroupRec,
  RolloutRec, SoftwareModuleRec, SoftwareModuleTypeRec, TargetFilterRec, TargetRec, TargetTagRec, TargetTypeRec,
} from "./model.js";
import type { Store } from "./store.js";
import { rolloutTargetCounts } from "./rollout-engine.js";
import { DEFAULT_POLLING, POLLING_OVERDUE_TIME, POLLING_TIME, configValue, durationSeconds } from "./tenant-config.js";

type Links = Record<string, { href: string }>;
const link = (href: string) => ({ href });
const API = "/rest/v1";

/**
 * The audit fields followed by `fields`. Not `{ ...auditOf(e), ...fields }`: V8 builds an object literal that starts
 * with a spread some 50 times slower when many fields follow, and a listing renders hundreds of them.
 */
function audited<F extends object>(e: Audit, fields: F) {
  return Object.assign({ createdBy: e.createdBy, createdAt: e.createdAt, lastModifiedBy: e.lastModifiedBy, lastModifiedAt: e.lastModifiedAt }, fields);
}

export function softwareModuleType(base: string, t: SoftwareModuleTypeRec) {
  return audited(t, {
    name: t.name, description: t.description, key: t.key, maxAssignments: t.maxAssignments, colour: t.colour,
    deleted: t.deleted ?? false, id: t.id,
    _links: { self: link(`${base}${API}/softwaremoduletypes/${t.id}`) } satisfies Links,
  });
}

export function distributionSetType(base: string, t: DistributionSetTypeRec) {
  const self = `${base}${API}/distributionsettypes/${t.id}`;
  return audited(t, {
    name: t.name, description: t.description, key: t.key, colour: t.colour, deleted: t.deleted ?? false, id: t.id,
    _links: {
      self: link(self), mandatorymodules: link(`${self}/mandatorymoduletypes`), optionalmodules: link(`${self}/optionalmoduletypes`),
    } satisfies Links,
  });
}

export function softwareModule(base: string, store: Store, m: SoftwareModuleRec) {
  const type = store.softwareModuleType(m.typeId);
  const self = `${base}${API}/softwaremodules/${m.id}`;
  return audited(m, {
    name: m.name, description: m.description, version: m.version, type: type.key, typeName: type.name,
    vendor: m.vendor, encrypted: m.encrypted, locked: m.locked, deleted: m.deleted ?? false, id: m.id,
    _links: {
      self: link(self), artifacts: link(`${self}/artifacts`), type: link(`${base}${API}/softwaremoduletypes/${type.id}`),
      metadata: link(`${self}/metadata?offset=0&limit=50`),
    } satisfies Links,
  });
}

export function artifact(base: string, a: ArtifactRec) {
  const self = `${base}${API}/softwaremodules/${a.softwareModuleId}/artifacts/${a.id}`;
  return audited(a, {
    id: a.id, hashes: { sha1: a.sha1, md5: a.md5, sha256: a.sha256 }, providedFilename: a.filename,
    size: a.size, _links: { self: link(self), download: link(`${self}/download`) } satisfies Links,
  });
}

export function distributionSet(base: string, store: Store, d: DistributionSetRec) {
  const type = store.distributionSetType(d.typeId);
  const self = `${base}${API}/distributionsets/${d.id}`;
  return audited(d, {
    name: d.name, description: d.description, version: d.version, id: d.id,
    modules: d.moduleIds.map((id) => softwareModule(base, store, store.softwareModule(id))),
    requiredMigrationStep: d.requiredMigrationStep, type: type.key, typeName: type.name,
    complete: store.isComplete(d), locked: d.locked, deleted: d.deleted ?? false, valid: d.valid !== false,
    _links: {
      self: link(self), modules: link(`${self}/assignedSM?offset=0&limit=50`), type: link(`${base}${API}/distributionsettypes/${type.id}`),
      metadata: link(`${self}/metadata?offset=0&limit=50`), assignedTargets: link(`${self}/assignedTargets`),
      installedTargets: link(`${self}/installedTargets`),
    } satisfies Links,
  });
}

/**
 * hawkBit 1.1.0 JpaTenantConfigurationManagement.pollStatusResolver: the next poll is expected a pollingTime after the
 * last one, and the target is overdue once pollingOverdueTime more has passed (both the tenant's values).
 */
function pollStatusOf(t: TargetRec, store: Store | undefined) {
  if (t.lastControllerRequestAt === undefined) return undefined;
  const seconds = (key: string, fallback: number) => {
    if (!store) return fallback;
    const value = String(configValue(store, key, { ...DEFAULT_POLLING, pollingTime: store.globalPollingTime }).value);
    return durationSeconds(value.split(",")[0]!.split("~")[0]!.trim()) ?? fallback;
  };
  const next = t.lastControllerRequestAt + seconds(POLLING_TIME, 300) * 1000;
  return { lastRequestAt: t.lastControllerRequestAt, nextExpectedRequestAt: next, overdue: Date.now() > next + seconds(POLLING_OVERDUE_TIME, 300) * 1000 };
}

export function target(base: string, t: TargetRec, store?: Store) {
  const type = t.targetTypeId === undefined ? undefined : store?.state.targetTypes?.find((x) => x.id === t.targetTypeId);
  const self = `${base}${API}/targets/${encodeURIComponent(t.controllerId)}`;
  const pollStatus = pollStatusOf(t, store);
  return audited(t, {
    name: t.name, description: t.description, controllerId: t.controllerId, updateStatus: t.updateStatus,
    lastControllerRequestAt: t.lastControllerRequestAt, installedAt: t.installedAt, ipAddress: t.ipAddress,
    address: t.address, pollStatus, securityToken: t.securityToken, requestAttributes: t.requestAttributes,
    autoConfirmActive: t.autoConfirm !== undefined, targetType: type?.id, targetTypeName: type?.name,
    _links: {
      self: link(self), assignedDS: link(`${self}/assignedDS`), installedDS: link(`${self}/installedDS`),
      attributes: link(`${self}/attributes`), actions: link(`${self}/actions?offset=0&limit=50&sort=id%3ADESC`),
      metadata: link(`${self}/metadata?offset=0&limit=50`), autoConfirm: link(`${self}/autoConfirm`),
    } satisfies Links,
  });
}

type NamedLinks = Record<string, { href: string; name?: string }>;

/**
 * hawkBit 1.1.0 MgmtTargetMapper.toResponse (compact: the self link only) and toResponseWithLinks (`full`: target,
 * distributionset, status, rollout and, for a canceling or canceled action, canceledaction). MgmtAction 1.1.0 has
 * `active` and the real status (lower-cased Action.Status) and no `detailStatus`; `forceTime` only for TIMEFORCED.
 */
export function action(base: string, store: Store, a: ActionRec, full = true) {
  const targetSelf = `${base}${API}/targets/${encodeURIComponent(a.controllerId)}`;
  const self = `${targetSelf}/actions/${a.id}`;
  const rollout = a.rolloutId === undefined ? undefined : store.rollout(a.rolloutId);
  const cancelingOrCanceled = a.status === "canceling" || a.status === "canceled";
  const links: NamedLinks = { self: link(self) };
  if (full) {
    if (cancelingOrCanceled) links.canceledaction = link(self);
    const target = store.findTarget(a.controllerId);
    links.target = { href: targetSelf, ...(target ? { name: target.name } : {}) };
    const ds = store.distributionSet(a.distributionSetId);
    links.distributionset = { href: `${base}${API}/distributionsets/${ds.id}`, name: `${ds.name}:${ds.version}` };
    links.status = link(`${self}/status?offset=0&limit=50&sort=id%3ADESC`);
    if (rollout) links.rollout = { href: `${base}${API}/rollouts/${rollout.id}`, name: rollout.name };
  }
  return audited(a, {
    id: a.id,
    type: cancelingOrCanceled ? "cancel" : "update",
    active: a.active,
    status: a.status,
    forceTime: a.actionType === "timeforced" ? a.forcedTime : undefined, forceType: a.actionType,
    weight: a.weight, rollout: rollout?.id, rolloutName: rollout?.name, lastStatusCode: a.lastStatusCode,
    externalRef: a.externalRef || undefined,
    _links: links,
  });
}

/** hawkBit 1.1.0 MgmtDistributionSetMapper.toResponse(List<DistributionSetAssignmentResult>): MgmtTargetAssignmentResponseBody. */
export function assignmentResult(base: string, alreadyAssigned: number, assigned: ActionRec[]) {
  return {
    assigned: assigned.length, alreadyAssigned, total: assigned.length + alreadyAssigned,
    assignedActions: assigned.map((a) => ({ id: a.id, _links: { self: link(`${base}${API}/targets/${encodeURIComponent(a.controllerId)}/actions/${a.id}`) } })),
  };
}

/** hawkBit 1.1.0 MgmtTargetMapper.toResponse(ActionStatus, messages): `type` is the lower-cased status. */
export function actionStatus(s: ActionStatusEntry) {
  return {
    id: s.id, type: s.status, messages: s.messages, reportedAt: s.reportedAt, timestamp: s.timestamp ?? s.reportedAt,
    ...(s.code === undefined ? {} : { code: s.code }),
  };
}

/**
 * hawkBit 1.1.0 MgmtRolloutMapper.toResponseRollout(rollout, withDetails): the compact form (rollout listings without
 * `representation=full`) has no totalTargetsPerStatus, totalGroups, startAt, approval fields and only the self link.
 */
export function rollout(base: string, store: Store, r: RolloutRec, full = true) {
  const self = `${base}${API}/rollouts/${r.id}`;
  const ds = store.distributionSet(r.distributionSetId);
  const compact = {
    name: r.name, description: r.description, targetFilterQuery: r.targetFilterQuery,
    distributionSetId: r.distributionSetId, id: r.id, status: r.status, totalTargets: r.totalTargets,
    forcetime: r.forcedTime, deleted: r.deleted ?? false, type: r.actionType, weight: r.weight, dynamic: r.dynamic ?? false,
  };
  if (!full) return audited(r, { ...compact, _links: { self: link(self) } satisfies Links });
  return audited(r, {
    ...compact,
    totalTargetsPerStatus: rolloutTargetCounts(store.actionsOfRollout(r.id), r.totalTargets),
    totalGroups: r.groupIds.length, startAt: r.startAt, approvalRemark: r.approvalRemark, approveDecidedBy: r.approveDecidedBy,
    _links: {
      self: link(self), start: link(`${self}/start`), pause: link(`${self}/pause`), resume: link(`${self}/resume`),
      triggerNextGroup: link(`${self}/triggerNextGroup`), approve: link(`${self}/approve`), deny: link(`${self}/deny`),
      groups: link(`${self}/deploygroups?offset=0&limit=50`),
      distributionset: { href: `${base}${API}/distributionsets/${ds.id}`, name: `${ds.name}:${ds.version}` },
    } satisfies Record<string, { href: string; name?: string }>,
  });
}

export function rolloutGroup(base: string, store: Store, g: RolloutGroupRec) {
  const actions = store.actionsOfGroup(g.id);
  return audited(g, {
    name: g.name, description: g.description,
    successCondition: g.successCondition, successAction: g.successAction, errorCondition: g.errorCondition, errorAction: g.errorAction,
    targetFilterQuery: g.targetFilterQuery ?? "",
    targetPercentage: g.targetPercentage,
    confirmationRequired: g.confirmationRequired ?? store.rollout(g.rolloutId).confirmationRequired ?? false, id: g.id, dynamic: g.dynamic ?? false, status: g.status,
    totalTargets: g.controllerIds.length, totalTargetsPerStatus: rolloutTargetCounts(actions, g.controllerIds.length),
    _links: { self: link(`${base}${API}/rollouts/${g.rolloutId}/deploygroups/${g.id}`) } satisfies Links,
  });
}

/** MgmtTagMapper: a distribution set tag renders as a target tag, with its own links. */
export function distributionSetTag(base: string, t: TargetTagRec) {
  const self = `${base}${API}/distributionsettags/${t.id}`;
  return audited(t, {
    name: t.name, description: t.description, colour: t.colour, id: t.id,
    _links: { self: link(self), assignedDistributionSets: link(`${self}/assigned?offset=0&limit=50`) } satisfies Links,
  });
}

export function targetTag(base: string, t: TargetTagRec) {
  const self = `${base}${API}/targettags/${t.id}`;
  return audited(t, {
    name: t.name, description: t.description, colour: t.colour, id: t.id,
    _links: { self: link(self), assignedTargets: link(`${self}/assigned?offset=0&limit=50`) } satisfies Links,
  });
}

export function targetType(base: string, t: TargetTypeRec) {
  const self = `${base}${API}/targettypes/${t.id}`;
  return audited(t, {
    name: t.name, description: t.description, key: t.key, colour: t.colour, deleted: false, id: t.id,
    _links: { self: link(self), compatibledistributionsettypes: link(`${self}/compatibledistributionsettypes`) } satisfies Links,
  });
}

export function targetFilter(base: string, f: TargetFilterRec) {
  const self = `${base}${API}/targetfilters/${f.id}`;
  return audited(f, {
    id: f.id, name: f.name, query: f.query,
    autoAssignDistributionSet: f.autoAssign?.distributionSetId, autoAssignActionType: f.autoAssign?.actionType,
    autoAssignWeight: f.autoAssign?.weight, confirmationRequired: f.autoAssign?.confirmationRequired,
    _links: { self: link(self), autoAssignDS: link(`${self}/autoAssignDS`) } satisfies Links,
  });
}
