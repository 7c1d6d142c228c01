// RSQL/sort field names per entity, as hawkBit's *Fields enums expose them.
import { type FieldMap, field } from "./query.js";
import type {
  ActionRec, ActionStatusEntry, DistributionSetRec, DistributionSetTypeRec, RolloutGroupRec, RolloutRec, SoftwareModuleRec,
  SoftwareModuleTypeRec, TargetFilterRec, TargetRec, TargetTagRec, TargetTypeRec,
} from "./model.js";
import type { Store } from "./store.js";

const audited = {
  createdat: (e: { createdAt: number }) => e.createdAt,
  createdby: (e: { createdBy: string }) => e.createdBy,
  lastmodifiedat: (e: { lastModifiedAt: number }) => e.lastModifiedAt,
  lastmodifiedby: (e: { lastModifiedBy: string }) => e.lastModifiedBy,
};

export const softwareModuleTypeFields: FieldMap<SoftwareModuleTypeRec> = {
  ...audited, id: (t) => t.id, key: (t) => t.key, name: (t) => t.name, description: (t) => t.description,
  maxassignments: (t) => t.maxAssignments,
};

export const distributionSetTypeFields: FieldMap<DistributionSetTypeRec> = {
  ...audited, id: (t) => t.id, key: (t) => t.key, name: (t) => t.name, description: (t) => t.description,
};

export function softwareModuleFields(store: Store): FieldMap<SoftwareModuleRec> {
  return {
    ...audited, id: (m) => m.id, name: (m) => m.name, version: (m) => m.version, vendor: (m) => m.vendor,
    description: (m) => m.description, type: (m) => store.softwareModuleType(m.typeId).key,
  };
}

export function distributionSetFields(store: Store): FieldMap<DistributionSetRec> {
  return {
    ...audited, id: (d) => d.id, name: (d) => d.name, version: (d) => d.version, description: (d) => d.description,
    type: (d) => store.distributionSetType(d.typeId).key, complete: (d) => String(store.isComplete(d)),
    locked: (d) => String(d.locked), valid: (d) => String(d.valid !== false),
    // DistributionSetFields.TAG ("tags", name) and METADATA (a map).
    tag: (d) => (d.tagIds ?? []).map((id) => store.state.distributionSetTags?.find((x) => x.id === id)?.name ?? ""),
    metadata: (d, sub) => (sub === undefined ? undefined : d.metadata?.[sub]),
  };
}

/**
 * hawkBit 1.1.0 TargetFields (hawkbit-repository-api .../qfields/TargetFields.java): assignedDS / installedDS need
 * name or version, tag is by name, type takes id/key/name (key by default), the deprecated targettype needs one of
 * them, attribute and metadata are maps, updateStatus an enum, autoConfirm true/false.
 */
export function targetFields(store: Store): FieldMap<TargetRec> {
  const ds = (id: number | undefined, sub?: string) => {
    if (id === undefined) return undefined;
    const set = store.distributionSet(id);
    return sub === "version" ? set.version : set.name;
  };
  const type = (t: TargetRec, sub?: string) => {
    const found = t.targetTypeId === undefined ? undefined : store.state.targetTypes?.find((x) => x.id === t.targetTypeId);
    return sub === "name" ? found?.name : sub === "id" ? found?.id : found?.key;
  };
  return {
    id: field((t) => t.controllerId),
    controllerid: field((t) => t.controllerId),
    name: field((t) => t.name),
    description: field((t) => t.description),
    createdat: field((t) => t.createdAt),
    createdby: field((t) => t.createdBy),
    lastmodifiedat: field((t) => t.lastModifiedAt),
    lastmodifiedby: field((t) => t.lastModifiedBy),
    updatestatus: field((t) => t.updateStatus, { values: ["unknown", "in_sync", "pending", "error", "registered"] }),
    ipaddress: field((t) => t.address),
    attribute: field((t, sub) => (sub === undefined ? undefined : t.attributes[sub]), { map: true }),
    group: field(() => undefined),
    assignedds: field((t, sub) => ds(t.assignedDistributionSetId, sub), { subs: ["name", "version"] }),
    installedds: field((t, sub) => ds(t.installedDistributionSetId, sub), { subs: ["name", "version"] }),
    tag: field((t) => (t.tagIds ?? []).map((id) => store.state.targetTags?.find((x) => x.id === id)?.name ?? ""), { subs: ["name"] }),
    lastcontrollerrequestat: field((t) => t.lastControllerRequestAt),
    metadata: field((t, sub) => (sub === undefined ? undefined : t.metadata?.[sub]), { map: true }),
    // TYPE defaults to its key (TargetFields.getDefaultSubEntityAttribute); "key" listed first so a bare `type` reads it.
    type: field(type, { subs: ["key", "id", "name"], defaultSub: "key" }),
    autoconfirm: field((t) => String(t.autoConfirm !== undefined), { boolean: true }),
    targettype: field(type, { subs: ["id", "key", "name"] }),
  };
}

export const targetTagFields: FieldMap<TargetTagRec> = {
  ...audited, id: (t) => t.id, name: (t) => t.name, description: (t) => t.description, colour: (t) => t.colour,
};

export const targetTypeFields: FieldMap<TargetTypeRec> = {
  ...audited, id: (t) => t.id, key: (t) => t.key, name: (t) => t.name, description: (t) => t.description,
};

export const targetFilterFields: FieldMap<TargetFilterRec> = {
  ...audited, id: (f) => f.id, name: (f) => f.name, query: (f) => f.query,
  autoassigndistributionset: (f, sub) => (f.autoAssign === undefined ? undefined : sub?.toLowerCase() === "id" || sub === undefined ? f.autoAssign.distributionSetId : undefined),
};

export const metadataFields: FieldMap<{ key: string; value: string }> = { key: (m) => m.key, value: (m) => m.value };

/** hawkBit 1.1.0 Action.Status, lower-cased as the REST API renders it (MgmtTargetMapper.toResponse). */
export const ACTION_STATUSES = [
  "finished", "error", "warning", "running", "canceled", "canceling", "retrieved", "download", "scheduled", "cancel_rejected",
  "downloaded", "wait_for_confirmation",
] as const;

/**
 * hawkBit 1.1.0 ActionFields (hawkbit-repository-api .../qfields/ActionFields.java): `status` is the action's real
 * status (an enum: `status==pending` is a 400), `active` a boolean; target, distributionSet, rollout and rolloutGroup
 * need one of their declared sub-attributes (TargetFields / DistributionSetFields / RolloutFields names).
 */
export function actionFields(store: Store): FieldMap<ActionRec> {
  return {
    id: field((a) => a.id),
    active: field((a) => String(a.active), { boolean: true }),
    status: field((a) => a.status, { values: ACTION_STATUSES }),
    laststatuscode: field((a) => a.lastStatusCode),
    createdat: field((a) => a.createdAt),
    createdby: field((a) => a.createdBy),
    lastmodifiedat: field((a) => a.lastModifiedAt),
    lastmodifiedby: field((a) => a.lastModifiedBy),
    weight: field((a) => a.weight),
    target: field((a, sub) => {
      const target = store.findTarget(a.controllerId);
      switch (sub) {
        case "name": return target?.name;
        case "updatestatus": return target?.updateStatus;
        case "address": return target?.address;
        default: return a.controllerId;
      }
    }, { subs: ["controllerid", "name", "updatestatus", "address"] }),
    distributionset: field((a, sub) => {
      const ds = store.distributionSet(a.distributionSetId);
      switch (sub) {
        case "name": return ds.name;
        case "version": return ds.version;
        case "type": return store.distributionSetType(ds.typeId).key;
        default: return ds.id;
      }
    }, { subs: ["id", "name", "version", "type"] }),
    rollout: field((a, sub) => {
      if (a.rolloutId === undefined) return undefined;
      return sub === "name" ? store.rollout(a.rolloutId).name : a.rolloutId;
    }, { subs: ["id", "name"] }),
    rolloutgroup: field((a, sub) => {
      if (a.rolloutGroupId === undefined) return undefined;
      return sub === "name" ? store.rolloutGroup(a.rolloutGroupId).name : a.rolloutGroupId;
    }, { subs: ["id", "name"] }),
    externalref: field((a) => a.externalRef),
  };
}

/** hawkBit 1.1.0 ActionStatusFields: id, timestamp, reportedAt (= createdAt), createdAt, createdBy. */
export const actionStatusFields: FieldMap<ActionStatusEntry> = {
  id: field((s) => s.id),
  timestamp: field((s) => s.timestamp ?? s.reportedAt),
  reportedat: field((s) => s.reportedAt),
  createdat: field((s) => s.reportedAt),
  createdby: field((s) => s.createdBy),
};

export const rolloutFields: FieldMap<RolloutRec> = {
  ...audited, id: (r) => r.id, name: (r) => r.name, description: (r) => r.description, status: (r) => r.status,
  distributionset: (r) => r.distributionSetId,
};

export const rolloutGroupFields: FieldMap<RolloutGroupRec> = {
  ...audited, id: (g) => g.id, name: (g) => g.name, description: (g) => g.description, status: (g) => g.status,
};
