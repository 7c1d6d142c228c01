// Action lifecycle: starting an assignment on a target and folding DDI feedback into action + target state,
// following hawkBit's DDI state-machine mapping (docs: "State Machine Mapping").
import type { ActionRec, ActionStatus, TargetRec } from "./model.js";
import type { Store } from "./store.js";
import { actionGone } from "./errors.js";

export type DdiExecution =
  | "closed" | "proceeding" | "canceled" | "scheduled" | "rejected" | "resumed" | "downloaded" | "download";
export type DdiFinished = "success" | "failure" | "none";

export interface Feedback {
  execution: DdiExecution;
  finished: DdiFinished;
  code?: number;
  details: string[];
  progress?: { cnt: number; of?: number };
}

function record(store: Store, action: ActionRec, status: ActionStatus, messages: string[], code?: number): void {
  action.history.push({ id: store.nextId("actionStatus"), status, reportedAt: Date.now(), messages, code });
  action.status = status;
  if (code !== undefined) action.lastStatusCode = code;
}

/**
 * A scheduled action becomes the target's open deployment. With the user-consent flow it first waits for the
 * device's confirmation, unless the device has auto-confirmation active.
 */
export function startAction(store: Store, action: ActionRec, target: TargetRec, user: string, confirmationRequired = false): void {
  action.active = true;
  if (confirmationRequired && !target.autoConfirm) {
    record(store, action, "wait_for_confirmation", ["Waiting for confirmation of the assignment"]);
  } else {
    record(store, action, "running", target.autoConfirm && confirmationRequired
      ? [`Assignment automatically confirmed by initiator '${target.autoConfirm.initiator ?? ""}'.`] : ["Action started"]);
  }
  store.touch(action, user);
  target.assignedDistributionSetId = action.distributionSetId;
  target.updateStatus = "pending";
  store.touch(target, user);
}

function finishOnTarget(store: Store, action: ActionRec, target: TargetRec, success: boolean): void {
  action.active = false;
  if (success) {
    target.installedDistributionSetId = action.distributionSetId;
    target.installedAt = Date.now();
    target.updateStatus = "in_sync";
  } else {
    target.updateStatus = "error";
  }
  store.touch(target, target.controllerId);
}

function statusFor(action: ActionRec, fb: Feedback): ActionStatus {
  switch (fb.execution) {
    case "closed": return fb.finished === "failure" ? "error" : "finished";
    case "canceled": return "canceled";
    case "rejected": return "warning";
    case "download": return "download";
    case "downloaded": return "downloaded";
    case "proceeding": case "scheduled": case "resumed": return action.status === "canceling" ? "canceling" : "running";
  }
}

/** Device consent: confirmed makes the action RUNNING (then exposed by deploymentBase); denied leaves it waiting. */
export function applyConfirmation(store: Store, action: ActionRec, target: TargetRec, confirmed: boolean, details: string[], code?: number): void {
  if (!action.active) throw actionGone(action.id);
  if (confirmed) {
    record(store, action, "running", [`Assignment confirmed by device${details.length ? `: ${details.join("; ")}` : ""}`], code);
  } else {
    action.history.push({ id: store.nextId("actionStatus"), status: "wait_for_confirmation", reportedAt: Date.now(),
      messages: [`Assignment denied by device${details.length ? `: ${details.join("; ")}` : ""}`], code });
  }
  store.touch(action, target.controllerId);
}

/** Activating auto-confirmation confirms every action that is waiting, as hawkBit does. */
export function activateAutoConfirm(store: Store, target: TargetRec, initiator: string | undefined, remark: string | undefined): void {
  target.autoConfirm = { initiator, remark, activatedAt: Date.now() };
  for (const action of store.actionsOf(target.controllerId)) {
    if (action.active && action.status === "wait_for_confirmation") {
      record(store, action, "running", [`Assignment automatically confirmed by initiator '${initiator ?? ""}'.`]);
    }
  }
  store.touch(target, target.controllerId);
}

/** Deployment feedback. Throws 410 for actions that are already closed, as hawkBit does. */
export function applyDeploymentFeedback(store: Store, action: ActionRec, target: TargetRec, fb: Feedback): void {
  if (!action.active) throw actionGone(action.id);
  const messages = [...fb.details];
  if (fb.progress) messages.push(`Progress: ${fb.progress.cnt}${fb.progress.of === undefined ? "" : ` of ${fb.progress.of}`}`);
  const status = statusFor(action, fb);
  record(store, action, status, messages, fb.code);
  store.touch(action, target.controllerId);
  if (status === "finished" || status === "error") finishOnTarget(store, action, target, status === "finished");
  else if (status === "downloaded" && action.actionType === "downloadonly") finishOnTarget(store, action, target, true);
}

/**
 * Cancel feedback. A device confirms a cancellation with `closed` or `canceled`; `rejected` leaves the
 * cancellation pending (hawkBit records a WARNING); failures close it as ERROR.
 */
export function applyCancelFeedback(store: Store, action: ActionRec, target: TargetRec, fb: Feedback): void {
  if (!action.active) throw actionGone(action.id);
  const messages = [...fb.details];
  if (fb.execution === "rejected") {
    action.history.push({ id: store.nextId("actionStatus"), status: "warning", reportedAt: Date.now(), messages, code: fb.code });
  } else if ((fb.execution === "closed" && fb.finished !== "failure") || fb.execution === "canceled") {
    record(store, action, "canceled", messages, fb.code);
    action.active = false;
    target.assignedDistributionSetId = target.installedDistributionSetId;
    target.updateStatus = target.installedDistributionSetId === undefined ? "registered" : "in_sync";
  } else if (fb.execution === "closed") {
    record(store, action, "error", messages, fb.code);
    finishOnTarget(store, action, target, false);
  } else {
    action.history.push({ id: store.nextId("actionStatus"), status: "canceling", reportedAt: Date.now(), messages, code: fb.code });
  }
  store.touch(action, target.controllerId);
}

/** The open action the DDI root resource points at: the oldest active one, as hawkBit without multi-assignment. */
export function openAction(store: Store, controllerId: string): ActionRec | undefined {
  return store.actionsOf(controllerId).filter((a) => a.active).sort((a, b) => a.id - b.id)[0];
}
