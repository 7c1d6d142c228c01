// RSQL/sort field names per entity, as hawkBit's *Fields enums expose them.
import type { FieldMap } from "./query.js";
import type {
  ActionRec, DistributionSetRec, DistributionSetTypeRec, RolloutGroupRec, RolloutRec, SoftwareModuleRec,
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
    locked: (d) => String(d.locked),
  };
}

export function targetFields(store: Store): FieldMap<TargetRec> {
  const ds = (id: number | undefined, sub?: string) => {
    if (id === undefined) return undefined;
    const set = store.distributionSet(id);
    return sub?.toLowerCase() === "version" ? set.version : sub?.toLowerCase() === "id" ? set.id : set.name;
  };
  return {
    ...audited,
    id: (t) => t.controllerId, controllerid: (t) => t.controllerId, name: (t) => t.name,
    description: (t) => t.description, updatestatus: (t) => t.updateStatus, ipaddress: (t) => t.address,
    address: (t) => t.address, lastcontrollerrequestat: (t) => t.lastControllerRequestAt,
    attribute: (t, sub) => (sub === undefined ? undefined : t.attributes[sub]),
    assignedds: (t, sub) => ds(t.assignedDistributionSetId, sub),
    installedds: (t, sub) => ds(t.installedDistributionSetId, sub),
    tag: (t) => (t.tagIds ?? []).map((id) => store.state.targetTags?.find((x) => x.id === id)?.name ?? ""),
    targettype: (t, sub) => {
      const type = t.targetTypeId === undefined ? undefined : store.state.targetTypes?.find((x) => x.id === t.targetTypeId);
      return sub?.toLowerCase() === "name" ? type?.name : sub?.toLowerCase() === "id" ? type?.id : type?.key;
    },
    metadata: (t, sub) => (sub === undefined ? undefined : t.metadata?.[sub]),
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

export function actionFields(store: Store): FieldMap<ActionRec> {
  return {
    ...audited,
    id: (a) => a.id,
    // hawkBit's STATUS field is the active flag rendered as pending/finished; DETAILSTATUS is the real status.
    status: (a) => (a.active ? "pending" : "finished"),
    active: (a) => String(a.active),
    detailstatus: (a) => a.status,
    laststatuscode: (a) => a.lastStatusCode,
    weight: (a) => a.weight,
    target: (a, sub) => {
      const s = sub?.toLowerCase();
      if (s === "name") return store.findTarget(a.controllerId)?.name;
      return a.controllerId;
    },
    distributionset: (a, sub) => {
      const ds = store.distributionSet(a.distributionSetId);
      const s = sub?.toLowerCase();
      return s === "name" ? ds.name : s === "version" ? ds.version : ds.id;
    },
    rollout: (a, sub) => {
      if (a.rolloutId === undefined) return undefined;
      return sub?.toLowerCase() === "name" ? store.rollout(a.rolloutId).name : a.rolloutId;
    },
    rolloutgroup: (a, sub) => {
      if (a.rolloutGroupId === undefined) return undefined;
      return sub?.toLowerCase() === "name" ? store.rolloutGroup(a.rolloutGroupId).name : a.rolloutGroupId;
    },
  };
}

export const rolloutFields: FieldMap<RolloutRec> = {
  ...audited, id: (r) => r.id, name: (r) => r.name, description: (r) => r.description, status: (r) => r.status,
  distributionset: (r) => r.distributionSetId,
};

export const rolloutGroupFields: FieldMap<RolloutGroupRec> = {
  ...audited, id: (g) => g.id, name: (g) => g.name, description: (g) => g.description, status: (g) => g.status,
};
