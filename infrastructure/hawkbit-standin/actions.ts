// Action lifecycle: starting an assignment on a target and folding DDI feedback into action + target state,
// following hawkBit's DDI state-machine mapping (docs: "State Machine Mapping").
import type { ActionRec, ActionStatus, TargetRec } from "./model.js";
import type { Store } from "./store.js";
import { actionGone, actionNotCancelable, forceQuitNotAllowed } from "./errors.js";

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

export function record(store: Store, action: ActionRec, status: ActionStatus, messages: string[], code?: number, timestamp?: number): void {
  action.history.push({ id: store.nextId("actionStatus"), status, reportedAt: Date.now(), messages, code, timestamp });
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

/**
 * hawkBit 1.1.0 DdiRootController.generateUpdateStatus: the DDI execution mapped to an action status, with the
 * device's details, its code as "Device reported status code: <code>" and a server message when there are none.
 */
function updateStatusFor(fb: Feedback): { status: ActionStatus; messages: string[] } {
  const messages = [...fb.details];
  if (fb.code !== undefined) messages.push(`Device reported status code: ${fb.code}`);
  const ifEmpty = (text: string) => (messages.length === 0 ? [`Update Server: ${text}.`] : messages);
  switch (fb.execution) {
    case "canceled": return { status: "canceled", messages: ifEmpty("Target confirmed cancellation.") };
    case "rejected": return { status: "warning", messages: ifEmpty("Target REJECTED update") };
    case "closed": return fb.finished === "failure"
      ? { status: "error", messages: ifEmpty("Target reported CLOSED with ERROR!") }
      : { status: "finished", messages: ifEmpty("Target reported CLOSED with OK!") };
    case "download": return { status: "download", messages: ifEmpty("Target confirmed download start") };
    case "downloaded": return { status: "downloaded", messages: ifEmpty("Target confirmed download finished") };
    default: return { status: "running", messages: ifEmpty(`Target reported ${fb.execution}`) };
  }
}

/**
 * Device consent, as hawkBit 1.1.0 JpaConfirmationManagement.confirmAction / denyAction: confirmed makes the action
 * RUNNING (then offered on deploymentBase); denied records WAIT_FOR_CONFIRMATION and leaves it waiting. The route
 * answers 410 for a closed action and 404 for one not waiting (assertActionCanAcceptFeedback).
 */
export function applyConfirmation(store: Store, action: ActionRec, target: TargetRec, confirmed: boolean, details: string[], code?: number): void {
  if (!action.active) throw actionGone(action.id);
  const messages = [...details];
  if (confirmed) {
    messages.push("Update Server: Target confirmed action. Therefore, it will be set to the running state to proceed with the deployment.");
    record(store, action, "running", messages, code);
  } else {
    messages.push("Update Server: Target rejected action. Action will stay in confirmation pending state.");
    action.history.push({ id: store.nextId("actionStatus"), status: "wait_for_confirmation", reportedAt: Date.now(), messages, code });
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

/**
 * Deployment feedback on an active action (the route answers 404 while it waits for confirmation and 410 once it is
 * closed, as DdiRootController.postDeploymentBaseActionFeedback). Following JpaControllerManagement
 * .onActionStatusUpdate, only final statuses change the action: ERROR closes it (target ERROR, assigned set cleared,
 * handleErrorOnAction), FINISHED closes it and installs the set when the report is newer than the last installation
 * (handleFinishedAndStoreInTargetStatus), DOWNLOADED closes a download-only action (handleDownloadedActionStatus).
 * Intermediate reports are recorded in the history only. The action's last status code is the report's (or none).
 */
export function applyDeploymentFeedback(store: Store, action: ActionRec, target: TargetRec, fb: Feedback, timestamp?: number): void {
  if (!action.active) throw actionGone(action.id);
  const { status, messages } = updateStatusFor(fb);
  const at = timestamp ?? Date.now();
  action.history.push({ id: store.nextId("actionStatus"), status, reportedAt: Date.now(), messages, code: fb.code, timestamp });
  action.lastStatusCode = fb.code;
  store.touch(action, target.controllerId);
  if (status === "error") {
    action.active = false;
    action.status = "error";
    target.updateStatus = "error";
    target.assignedDistributionSetId = undefined;
    store.touch(target, target.controllerId);
  } else if (status === "finished") {
    action.active = false;
    action.status = "finished";
    if (target.installedAt === undefined || target.installedAt < at) {
      target.installedDistributionSetId = action.distributionSetId;
      target.installedAt = at;
      if (action.actionType === "downloadonly") target.assignedDistributionSetId = action.distributionSetId;
      if (target.assignedDistributionSetId !== undefined && target.assignedDistributionSetId === target.installedDistributionSetId) {
        target.updateStatus = "in_sync";
      }
    }
    // JpaControllerManagement.requestControllerAttributes: a finished update asks the device for its attributes again.
    target.requestAttributes = true;
    store.touch(target, target.controllerId);
  } else if (status === "downloaded" && action.actionType === "downloadonly") {
    action.active = false;
    action.status = "downloaded";
    target.updateStatus = "in_sync";
    target.requestAttributes = true;
    store.touch(target, target.controllerId);
  }
}

/**
 * Cancel feedback, as hawkBit 1.1.0 DdiRootController.generateActionCancelStatus maps it and
 * JpaControllerManagement.addCancelActionStatus applies it: only an action being cancelled takes it (else
 * CancelActionNotAllowedException, 405); `closed`+success confirms the cancellation (CANCELED, the action closes);
 * `closed`+failure (ERROR) and `rejected` (CANCEL_REJECTED) put the action back to RUNNING; `canceled` is recorded
 * as a WARNING and anything else as RUNNING, both leaving the action CANCELING.
 */
export function applyCancelFeedback(store: Store, action: ActionRec, target: TargetRec, fb: Feedback, timestamp?: number): void {
  if (action.status !== "canceling" && action.status !== "canceled") throw actionNotCancelable(action.id, "The action is not in canceling state.");
  const messages: string[] = [];
  let status: ActionStatus;
  switch (fb.execution) {
    case "canceled":
      status = "warning";
      messages.push("Update Server: Target reported cancel for a cancel which is not supported by the server.");
      break;
    case "rejected":
      status = "cancel_rejected";
      messages.push("Update Server: Target rejected the cancellation request.");
      break;
    case "closed":
      status = fb.finished === "failure" ? "error" : "canceled";
      break;
    default:
      status = "running";
  }
  messages.push(...fb.details);
  if (status === "error" && messages.length === 0) messages.push("Update Server: Target was not able to complete cancellation.");
  if (status === "canceled" && messages.length === 0) messages.push("Update Server: Cancellation confirmed.");
  if (fb.code !== undefined) messages.push(`Device reported status code: ${fb.code}`);
  action.history.push({ id: store.nextId("actionStatus"), status, reportedAt: Date.now(), messages, code: fb.code, timestamp });
  if (fb.code !== undefined) action.lastStatusCode = fb.code;
  if (status === "canceled") {
    // JpaControllerManagement.handleFinishedCancelation → DeploymentHelper.successCancellation.
    action.status = "canceled";
    successCancellation(store, action, target);
  } else if (status === "error" || status === "cancel_rejected") {
    // "Cancellation rejected. Back to running."
    action.status = "running";
  }
  store.touch(action, target.controllerId);
}

/**
 * hawkBit 1.1.0 DeploymentHelper.successCancellation: the action closes; the target's assigned set falls back to the
 * set of its newest other active action, or to the installed one (IN_SYNC) when none is left.
 */
export function successCancellation(store: Store, action: ActionRec, target: TargetRec): void {
  action.active = false;
  const next = store.actionsOf(target.controllerId).filter((a) => a.active && a !== action).sort((a, b) => b.id - a.id)[0];
  if (next) {
    target.assignedDistributionSetId = next.distributionSetId;
    target.updateStatus = "pending";
  } else {
    target.assignedDistributionSetId = target.installedDistributionSetId;
    target.updateStatus = target.installedDistributionSetId === undefined ? "registered" : "in_sync";
  }
  store.touch(target, action.lastModifiedBy);
}

/**
 * hawkBit 1.1.0 JpaDeploymentManagement.cancelAction: an active action that is not already canceling or canceled
 * moves to CANCELING (the device learns of it through the DDI cancelAction link); anything else is a 405.
 */
export function requestCancel(store: Store, action: ActionRec, user: string, message = "Update Server: manual cancelation requested"): void {
  if (action.status === "canceling" || action.status === "canceled") throw actionNotCancelable(action.id, "Actions in canceling or canceled state cannot be canceled");
  if (!action.active) throw actionNotCancelable(action.id, `${action.id} is not active and cannot be canceled`);
  action.status = "canceling";
  action.history.push({ id: store.nextId("actionStatus"), status: "canceling", reportedAt: Date.now(), messages: [message] });
  store.touch(action, user);
}

/** hawkBit 1.1.0 JpaDeploymentManagement.forceQuitAction: only an active action being cancelled can be force quit (else 405). */
export function forceQuit(store: Store, action: ActionRec, user: string): void {
  if (action.status !== "canceling" && action.status !== "canceled") throw forceQuitNotAllowed(action.id, `${action.id} is not canceled yet and cannot be force quit`);
  if (!action.active) throw forceQuitNotAllowed(action.id, `${action.id} is not active and cannot be force quit`);
  action.history.push({ id: store.nextId("actionStatus"), status: "canceled", reportedAt: Date.now(), messages: ["Update Server: A force quit has been performed."] });
  action.status = "canceled";
  store.touch(action, user);
  successCancellation(store, action, store.target(action.controllerId));
}

/** hawkBit 1.1.0 RepositoryProperties.actionWeightIfAbsent. */
const WEIGHT_IF_ABSENT = 1000;

/**
 * The action the DDI resources offer, as hawkBit 1.1.0 JpaControllerManagement.findActiveActionWithHighestWeight:
 * the weighted active action of highest weight (oldest first) unless the oldest unweighted one weighs at least as much
 * (an absent weight counts as 1000).
 */
export function openAction(store: Store, controllerId: string): ActionRec | undefined {
  const active = store.actionsOf(controllerId).filter((a) => a.active);
  const weighted = active.filter((a) => a.weight !== undefined && a.weight !== null)
    .sort((a, b) => (b.weight! - a.weight!) || (a.id - b.id))[0];
  const unweighted = active.filter((a) => a.weight === undefined || a.weight === null).sort((a, b) => a.id - b.id)[0];
  if (!weighted) return unweighted;
  if (!unweighted || WEIGHT_IF_ABSENT < weighted.weight!) return weighted;
  return unweighted;
}

/**
 * hawkBit 1.1.0 JpaControllerManagement.handleRegisterRetrieved: a RETRIEVED status is recorded unless the latest one
 * already is, and the action becomes RETRIEVED unless it is being cancelled. (hawkBit also flips a closed action's
 * status; the stand-in leaves closed actions as they are.)
 */
export function registerRetrieved(store: Store, action: ActionRec, message: string): void {
  const last = action.history[action.history.length - 1];
  if (last?.status === "retrieved") return;
  action.history.push({ id: store.nextId("actionStatus"), status: "retrieved", reportedAt: Date.now(), messages: [message] });
  if (action.active && action.status !== "canceling" && action.status !== "canceled") action.status = "retrieved";
}
