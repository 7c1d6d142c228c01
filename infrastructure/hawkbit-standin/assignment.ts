// Direct assignment of a distribution set to targets, as hawkBit 1.1.0 JpaDeploymentManagement.assignDistributionSets
// runs it with the OnlineDsAssignmentStrategy (Management API) or the OfflineDsAssignmentStrategy (offline assignment,
// DDI PUT installedBase).
import { record, startAction } from "./actions.js";
import { constraintViolation, dsIncomplete, dsInvalid, notFound } from "./errors.js";
import type { ActionRec, ActionType, DistributionSetRec, TargetRec } from "./model.js";
import type { Store } from "./store.js";
import { configValue } from "./tenant-config.js";

export interface AssignmentRequest {
  actionType: ActionType;
  forcedTime?: number;
  weight?: number;
  confirmationRequired?: boolean;
}

export interface AssignmentResult {
  alreadyAssigned: number;
  assigned: ActionRec[];
}

/** DistributionSetManagement.getValidAndComplete: deleted is 404, invalidated or incomplete a 400. */
export function validAndComplete(store: Store, dsId: number): DistributionSetRec {
  const ds = store.distributionSet(dsId);
  if (ds.deleted) throw notFound("DistributionSet", ds.id);
  if (ds.valid === false) throw dsInvalid(ds.id);
  if (!store.isComplete(ds)) throw dsIncomplete(ds.id);
  return ds;
}

/**
 * Online assignment (JpaDeploymentManagement.assignDistributionSetToTargets): targets already assigned the set count as
 * alreadyAssigned and get nothing; the others have their active actions cancelled (CANCELING; closed instead with
 * `repository.actions.autoclose.enabled`), their scheduled ones cancelled, the set assigned (PENDING), and a new
 * active action, RUNNING or WAIT_FOR_CONFIRMATION (confirmation defaults to the tenant's user-consent flow). The set
 * is locked implicitly (`implicit.lock.enabled`).
 */
export function assignDistributionSet(store: Store, ds: DistributionSetRec, targets: TargetRec[], request: AssignmentRequest, user: string): AssignmentResult {
  if (request.actionType === "timeforced" && request.forcedTime === undefined) throw constraintViolation("forcetime must be set for a timeforced assignment");
  const fresh = targets.filter((t) => t.assignedDistributionSetId !== ds.id);
  if (fresh.length > 0 && configValue(store, "implicit.lock.enabled").value === true) ds.locked = true;
  const autoclose = configValue(store, "repository.actions.autoclose.enabled").value === true;
  const flow = configValue(store, "user.confirmation.flow.enabled").value === true;
  const assigned: ActionRec[] = [];
  for (const target of fresh) {
    for (const old of store.actionsOf(target.controllerId).filter((a) => a.active || a.status === "scheduled")) {
      if (!old.active) {
        // cancelInactiveScheduledActionsForTargets
        record(store, old, "canceled", ["Update Server: Scheduled action canceled by a manual assignment."]);
      } else if (autoclose) {
        old.active = false;
        record(store, old, "canceled", ["Update Server: Action closed by a new assignment (autoclose)."]);
      } else if (old.status !== "canceling" && old.status !== "canceled") {
        record(store, old, "canceling", ["Update Server: cancel obsolete action due to new update"]);
      }
      store.touch(old, user);
    }
    const action: ActionRec = {
      id: store.nextId("actions"), controllerId: target.controllerId, distributionSetId: ds.id, actionType: request.actionType,
      forcedTime: request.actionType === "timeforced" ? request.forcedTime : undefined, weight: request.weight,
      active: false, status: "scheduled", history: [], ...store.audit(user),
    };
    store.state.actions.push(action);
    startAction(store, action, target, user, request.confirmationRequired ?? flow);
    assigned.push(action);
  }
  return { alreadyAssigned: targets.length - fresh.length, assigned };
}

/**
 * Offline assignment (OfflineDsAssignmentStrategy): a target not already assigned the set and not PENDING gets it as
 * assigned and installed (IN_SYNC) through a closed FINISHED action. Returns whether the target was assigned.
 */
export function offlineAssign(store: Store, ds: DistributionSetRec, target: TargetRec, user: string): boolean {
  if (target.assignedDistributionSetId === ds.id || target.updateStatus === "pending") return false;
  const now = Date.now();
  const action: ActionRec = {
    id: store.nextId("actions"), controllerId: target.controllerId, distributionSetId: ds.id, actionType: "forced",
    active: false, status: "finished", history: [], ...store.audit(user, now),
  };
  record(store, action, "finished", ["Update Server: Offline assignment of the distribution set."]);
  store.state.actions.push(action);
  target.assignedDistributionSetId = ds.id;
  target.installedDistributionSetId = ds.id;
  target.installedAt = now;
  target.updateStatus = "in_sync";
  store.touch(target, user);
  return true;
}
