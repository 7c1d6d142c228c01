// Rollouts as hawkBit runs them. Each rollout and each deployment group follows a named state machine;
// the scheduler tick (and a kick after each relevant request) advances them.
//
//   rollout:  CREATING ──► READY ──start──► STARTING ──► RUNNING ◄──resume── PAUSED
//                │           ▲                            │  └──pause/PAUSE action/error action──┘
//                ▼           │approve                     ▼
//        WAITING_FOR_APPROVAL ──deny──► APPROVAL_DENIED  FINISHED
//   any of READY, WAITING_FOR_APPROVAL, APPROVAL_DENIED, RUNNING, PAUSED, FINISHED ──delete──► DELETING ──► DELETED
//   (a rollout that never started is removed at once; one with actions is soft-deleted, its scheduled actions dropped)
//
//   group:    CREATING ──► READY ──► SCHEDULED ──► RUNNING ──► FINISHED | ERROR
//
// WAITING_FOR_APPROVAL only happens with the tenant setting `rollout.approval.enabled`. Group success/error
// conditions are THRESHOLD percentages over the group's targets; the success action is NEXTGROUP or PAUSE.
//
// A dynamic rollout ends with a dynamic group and never finishes by itself. While it runs, targets that match its
// filter and are in none of its groups (nor busy with another rollout's action) are added to the last dynamic group,
// up to the group's size (kept in targetPercentage, as hawkBit does), and deployed at once if the group is running.
// A full (or ended) last dynamic group gets a scheduled successor of the same size, conditions and name suffix;
// the last dynamic group's conditions count against its size, since its targets are still to come.
import type { Logger } from "../../core/log.js";
import type {
  ActionRec, ActionType, GroupConditions, RolloutGroupRec, RolloutGroupStatus, RolloutRec, RolloutStatus,
} from "./model.js";
import type { Store } from "./store.js";
import { rolloutIllegalState } from "./errors.js";
import { startAction } from "./actions.js";
import { targetFields } from "./fields.js";
import { rsqlFilter } from "./query.js";

export const APPROVAL_ENABLED = "rollout.approval.enabled";
export const CONFIRMATION_FLOW_ENABLED = "user.confirmation.flow.enabled";

// STOPPING is entered from hawkBit 1.1.0 JpaRolloutManagement.ROLLOUT_STATUS_STOPPABLE (stop()).
const ROLLOUT_TRANSITIONS: Record<RolloutStatus, readonly RolloutStatus[]> = {
  creating: ["ready", "waiting_for_approval", "stopping"],
  waiting_for_approval: ["ready", "approval_denied", "deleting", "stopped", "stopping"],
  approval_denied: ["deleting", "stopping"],
  ready: ["starting", "deleting", "stopped", "stopping"],
  starting: ["running", "stopping"],
  running: ["paused", "finished", "deleting", "stopped", "stopping"],
  paused: ["running", "deleting", "stopped", "stopping"],
  finished: ["deleting"],
  deleting: ["deleted"],
  deleted: [],
  stopping: ["stopped", "deleting"],
  stopped: ["deleting"],
};

const GROUP_TRANSITIONS: Record<RolloutGroupStatus, readonly RolloutGroupStatus[]> = {
  creating: ["ready"],
  ready: ["scheduled", "running"],
  scheduled: ["running"],
  running: ["finished", "error"],
  finished: [],
  error: [],
};

const SCHEDULER_USER = "system";

export function transitionRollout(store: Store, rollout: RolloutRec, to: RolloutStatus, user: string): void {
  if (!ROLLOUT_TRANSITIONS[rollout.status].includes(to)) {
    throw rolloutIllegalState(`Rollout ${rollout.id} is in state ${rollout.status.toUpperCase()} and cannot change to ${to.toUpperCase()}`);
  }
  rollout.status = to;
  store.touch(rollout, user);
}

function transitionGroup(store: Store, group: RolloutGroupRec, to: RolloutGroupStatus): void {
  if (!GROUP_TRANSITIONS[group.status].includes(to)) {
    throw new Error(`Illegal rollout group transition ${group.status} → ${to} (group ${group.id})`);
  }
  group.status = to;
  store.touch(group, SCHEDULER_USER);
}

/** Keys hawkBit's TotalTargetCountStatus.Status renders, all present even when zero. */
export function rolloutTargetCounts(actions: readonly ActionRec[], totalTargets: number): Record<string, number> {
  const counts = { scheduled: 0, running: 0, notstarted: 0, error: 0, finished: 0, cancelled: 0 };
  for (const a of actions) {
    if (a.status === "scheduled") counts.scheduled++;
    else if (a.status === "finished" || (a.status === "downloaded" && a.actionType === "downloadonly")) counts.finished++;
    else if (a.status === "error") counts.error++;
    else if (a.status === "canceled") counts.cancelled++;
    else counts.running++;
  }
  counts.notstarted = Math.max(0, totalTargets - actions.length);
  return counts;
}

function threshold(expression: string | undefined, fallback: number): number {
  const n = Number.parseFloat(expression ?? "");
  return Number.isFinite(n) ? n : fallback;
}

export interface NewGroup extends GroupConditions {
  name: string;
  description?: string;
  targetFilterQuery?: string;
  targetPercentage: number;
  confirmationRequired?: boolean;
  controllerIds: string[];
  /** A dynamic group's size is its targetPercentage; it starts empty. */
  dynamic?: boolean;
}

export interface NewRollout {
  name: string;
  description?: string;
  targetFilterQuery: string;
  distributionSetId: number;
  actionType: ActionType;
  forcedTime?: number;
  startAt?: number;
  weight?: number;
  confirmationRequired?: boolean;
  dynamic?: boolean;
  groups: NewGroup[];
}

export class RolloutEngine {
  private kicked = false;

  constructor(private readonly store: Store, private readonly log: Logger) {}

  create(spec: NewRollout, user: string): RolloutRec {
    const audit = this.store.audit(user);
    const rollout: RolloutRec = {
      id: this.store.nextId("rollouts"), name: spec.name, description: spec.description,
      targetFilterQuery: spec.targetFilterQuery, distributionSetId: spec.distributionSetId, status: "creating",
      actionType: spec.actionType, forcedTime: spec.forcedTime, startAt: spec.startAt, weight: spec.weight,
      confirmationRequired: spec.confirmationRequired, totalTargets: spec.groups.reduce((n, g) => n + g.controllerIds.length, 0), groupIds: [], ...audit,
      ...(spec.dynamic ? { dynamic: true } : {}),
    };
    for (const g of spec.groups) {
      const group: RolloutGroupRec = {
        id: this.store.nextId("rolloutGroups"), rolloutId: rollout.id, status: "creating", ...audit,
        name: g.name, description: g.description, targetFilterQuery: g.targetFilterQuery, targetPercentage: g.targetPercentage,
        controllerIds: g.controllerIds, successCondition: g.successCondition, successAction: g.successAction,
        errorCondition: g.errorCondition, errorAction: g.errorAction, confirmationRequired: g.confirmationRequired,
        ...(g.dynamic ? { dynamic: true } : {}),
      };
      this.store.state.rolloutGroups.push(group);
      rollout.groupIds.push(group.id);
    }
    this.store.state.rollouts.push(rollout);
    return rollout;
  }

  start(rollout: RolloutRec, user: string): void {
    transitionRollout(this.store, rollout, "starting", user);
  }

  pause(rollout: RolloutRec, user: string): void {
    transitionRollout(this.store, rollout, "paused", user);
  }

  resume(rollout: RolloutRec, user: string): void {
    transitionRollout(this.store, rollout, "running", user);
  }

  approve(rollout: RolloutRec, user: string, remark?: string): void {
    transitionRollout(this.store, rollout, "ready", user);
    rollout.approveDecidedBy = user;
    rollout.approvalRemark = remark;
  }

  deny(rollout: RolloutRec, user: string, remark?: string): void {
    transitionRollout(this.store, rollout, "approval_denied", user);
    rollout.approveDecidedBy = user;
    rollout.approvalRemark = remark;
  }

  /** Starts the next scheduled group now, whatever the running group's success condition says. */
  triggerNextGroup(rollout: RolloutRec, user: string): void {
    if (rollout.status !== "running") {
      throw rolloutIllegalState(`Rollout ${rollout.id} is in state ${rollout.status.toUpperCase()}; only a RUNNING rollout can trigger its next group`);
    }
    const next = this.store.groupsOf(rollout).find((g) => g.status === "scheduled");
    if (!next) throw rolloutIllegalState(`Rollout ${rollout.id} has no next group to trigger`);
    this.startGroup(rollout, next);
    this.store.touch(rollout, user);
  }

  /**
   * Deletes a rollout: one without actions disappears at once, a started one is soft-deleted (DELETING, then
   * DELETED on the next tick) and its actions not yet started are dropped; running actions stay.
   */
  delete(rollout: RolloutRec, user: string): void {
    if (rollout.status === "deleting" || rollout.status === "deleted") return;
    if (this.store.actionsOfRollout(rollout.id).length === 0 && rollout.status !== "starting") {
      this.store.state.rolloutGroups = this.store.state.rolloutGroups.filter((g) => g.rolloutId !== rollout.id);
      this.store.state.rollouts = this.store.state.rollouts.filter((r) => r !== rollout);
      return;
    }
    transitionRollout(this.store, rollout, "deleting", user);
    this.store.state.actions = this.store.state.actions.filter((a) => a.rolloutId !== rollout.id || a.status !== "scheduled");
    rollout.deleted = true;
  }

  /** Stops a rollout for good (distribution set invalidated): its scheduled actions are dropped, groups end. */
  stop(rollout: RolloutRec, user: string): void {
    if (!ROLLOUT_TRANSITIONS[rollout.status].includes("stopped")) return;
    transitionRollout(this.store, rollout, "stopped", user);
    this.store.state.actions = this.store.state.actions.filter((a) => a.rolloutId !== rollout.id || a.status !== "scheduled");
    for (const g of this.store.groupsOf(rollout)) if (g.status !== "finished" && g.status !== "error") g.status = "finished";
  }

  /**
   * hawkBit 1.1.0 JpaRolloutManagement.stop: a stoppable rollout (CREATING, READY, WAITING_FOR_APPROVAL, STARTING,
   * RUNNING, PAUSED, APPROVAL_DENIED) becomes STOPPING; anything else is RolloutIllegalStateException (400). The
   * scheduler then finishes it (handleStopRollout).
   */
  requestStop(rollout: RolloutRec, user: string): void {
    if (!["creating", "ready", "waiting_for_approval", "starting", "running", "paused", "approval_denied"].includes(rollout.status)) {
      throw rolloutIllegalState("Rollout can only be stopped into the following statuses [CREATING, READY, WAITING_FOR_APPROVAL, STARTING, RUNNING, PAUSED, APPROVAL_DENIED]");
    }
    transitionRollout(this.store, rollout, "stopping", user);
  }

  /**
   * hawkBit 1.1.0 JpaRolloutExecutor.handleStopRollout: scheduled actions are deleted, unfinished groups FINISHED, active
   * actions soft-cancelled (CANCELING, so devices are told through DDI cancelAction); the rollout is STOPPED once no
   * active action is left that is not CANCELING.
   */
  private handleStop(rollout: RolloutRec): boolean {
    this.store.state.actions = this.store.state.actions.filter((a) => a.rolloutId !== rollout.id || a.status !== "scheduled");
    for (const g of this.store.groupsOf(rollout)) if (g.status !== "finished" && g.status !== "error") g.status = "finished";
    for (const action of this.store.actionsOfRollout(rollout.id)) {
      if (action.active && action.status !== "canceling") {
        action.status = "canceling";
        action.history.push({ id: this.store.nextId("actionStatus"), status: "canceling", reportedAt: Date.now(), messages: ["Update Server: Rollout was stopped"] });
        this.store.touch(action, SCHEDULER_USER);
      }
    }
    if (!this.store.actionsOfRollout(rollout.id).some((a) => a.active && a.status !== "canceling")) {
      transitionRollout(this.store, rollout, "stopped", rollout.lastModifiedBy);
    }
    return true;
  }

  /** Runs a tick soon, so request handlers can answer with the intermediate state first, as hawkBit does. */
  kick(onDone: () => void): void {
    if (this.kicked) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      try {
        if (this.tick()) onDone();
      } catch (err) {
        this.log.error({ err }, "rollout tick failed");
      }
    });
  }

  /** Advances every rollout one step; returns whether anything changed. */
  tick(): boolean {
    let changed = false;
    for (const rollout of this.store.state.rollouts) {
      changed = this.advance(rollout) || changed;
    }
    return changed;
  }

  private advance(rollout: RolloutRec): boolean {
    switch (rollout.status) {
      case "creating":
        for (const g of this.store.groupsOf(rollout)) transitionGroup(this.store, g, "ready");
        transitionRollout(this.store, rollout, this.store.config(APPROVAL_ENABLED, false) ? "waiting_for_approval" : "ready", SCHEDULER_USER);
        return true;
      case "deleting":
        transitionRollout(this.store, rollout, "deleted", SCHEDULER_USER);
        return true;
      case "stopping":
        return this.handleStop(rollout);
      case "ready":
        if (rollout.startAt === undefined || rollout.startAt > Date.now()) return false;
        transitionRollout(this.store, rollout, "starting", SCHEDULER_USER);
        return this.launch(rollout);
      case "starting":
        return this.launch(rollout);
      case "running":
        return this.evaluate(rollout);
      default:
        return false;
    }
  }

  /** STARTING → RUNNING: scheduled actions for every group, then the first group starts. */
  private launch(rollout: RolloutRec): boolean {
    const groups = this.store.groupsOf(rollout);
    const ds = this.store.distributionSet(rollout.distributionSetId);
    ds.locked = true;
    for (const group of groups) {
      for (const controllerId of group.controllerIds) this.scheduleAction(rollout, group, controllerId);
      transitionGroup(this.store, group, "scheduled");
    }
    transitionRollout(this.store, rollout, "running", SCHEDULER_USER);
    if (groups[0]) this.startGroup(rollout, groups[0]);
    this.evaluate(rollout);
    return true;
  }

  private scheduleAction(rollout: RolloutRec, group: RolloutGroupRec, controllerId: string): ActionRec {
    const action: ActionRec = {
      id: this.store.nextId("actions"), controllerId, distributionSetId: rollout.distributionSetId,
      actionType: rollout.actionType, forcedTime: rollout.forcedTime, weight: rollout.weight, active: false,
      status: "scheduled", rolloutId: rollout.id, rolloutGroupId: group.id,
      history: [{ id: this.store.nextId("actionStatus"), status: "scheduled", reportedAt: Date.now(), messages: [] }],
      ...this.store.audit(SCHEDULER_USER),
    };
    this.store.state.actions.push(action);
    return action;
  }

  /** hawkBit requires confirmation by default once the consent flow is on; the group's flag overrides the rollout's. */
  private needsConfirmation(rollout: RolloutRec, group: RolloutGroupRec): boolean {
    return this.store.config(CONFIRMATION_FLOW_ENABLED, false) && (group.confirmationRequired ?? rollout.confirmationRequired ?? true);
  }

  private startGroup(rollout: RolloutRec, group: RolloutGroupRec): void {
    transitionGroup(this.store, group, "running");
    const confirm = this.needsConfirmation(rollout, group);
    for (const action of this.store.actionsOfGroup(group.id)) {
      if (action.status !== "scheduled") continue;
      const target = this.store.findTarget(action.controllerId);
      if (target) startAction(this.store, action, target, SCHEDULER_USER, confirm);
    }
  }

  /** The dynamic group after `last`: hawkBit's `group-<n><suffix>` naming, same size, conditions and filter. */
  private addDynamicGroup(rollout: RolloutRec, last: RolloutGroupRec): RolloutGroupRec {
    const count = rollout.groupIds.length;
    const suffix = last.name.startsWith(`group-${count}`) ? last.name.slice(`group-${count}`.length) : "";
    const name = `group-${count + 1}${suffix}`;
    const group: RolloutGroupRec = {
      id: this.store.nextId("rolloutGroups"), rolloutId: rollout.id, status: "scheduled", ...this.store.audit(SCHEDULER_USER),
      name, description: name, targetFilterQuery: last.targetFilterQuery, targetPercentage: last.targetPercentage, controllerIds: [],
      successCondition: last.successCondition, successAction: last.successAction, errorCondition: last.errorCondition,
      errorAction: last.errorAction, confirmationRequired: last.confirmationRequired, dynamic: true,
    };
    this.store.state.rolloutGroups.push(group);
    rollout.groupIds.push(group.id);
    return group;
  }

  /** Targets that newly match go into the last dynamic group; a full or ended one gets a successor. */
  private fillDynamicGroup(rollout: RolloutRec): boolean {
    const groups = this.store.groupsOf(rollout);
    const last = groups[groups.length - 1];
    if (!last?.dynamic) return false;
    const size = dynamicGroupSize(last);
    if (last.controllerIds.length >= size || last.status === "finished" || last.status === "error") {
      this.addDynamicGroup(rollout, last);
      return true;
    }
    const inRollout = new Set(groups.flatMap((g) => g.controllerIds));
    // Targets busy with another rollout keep it; hawkBit's dynamic groups never override a running assignment.
    const busy = (controllerId: string) => this.store.actionsOf(controllerId).some((a) => a.active && a.rolloutId !== rollout.id);
    const fields = targetFields(this.store);
    const matches = rsqlFilter(rollout.targetFilterQuery, fields);
    const inGroup = rsqlFilter(last.targetFilterQuery || undefined, fields);
    const added = this.store.state.targets
      .filter((t) => !inRollout.has(t.controllerId) && !busy(t.controllerId) && matches(t) && inGroup(t))
      .sort((a, b) => a.id - b.id)
      .slice(0, size - last.controllerIds.length);
    if (added.length === 0) return false;
    const confirm = this.needsConfirmation(rollout, last);
    for (const target of added) {
      last.controllerIds.push(target.controllerId);
      const action = this.scheduleAction(rollout, last, target.controllerId);
      if (last.status === "running") startAction(this.store, action, target, SCHEDULER_USER, confirm);
    }
    rollout.totalTargets += added.length;
    this.store.touch(last, SCHEDULER_USER);
    return true;
  }

  private startNextGroup(rollout: RolloutRec, after: RolloutGroupRec): boolean {
    const groups = this.store.groupsOf(rollout);
    const next = groups[groups.indexOf(after) + 1];
    if (!next || next.status !== "scheduled") return false;
    this.startGroup(rollout, next);
    return true;
  }

  private evaluate(rollout: RolloutRec): boolean {
    let changed = rollout.dynamic ? this.fillDynamicGroup(rollout) : false;
    const groups = this.store.groupsOf(rollout);
    for (const group of groups) {
      if (group.status !== "running" || rollout.status !== "running") continue;
      changed = this.evaluateGroup(rollout, group) || changed;
    }
    if (rollout.status !== "running") return changed;
    if (!groups.some((g) => g.status === "running")) {
      // After a resume from an error pause nothing is running any more; carry on with the next group.
      const last = groups[groups.length - 1];
      // A dynamic rollout whose last group ended in error goes on with a fresh dynamic group once resumed.
      const next = groups.find((g) => g.status === "scheduled") ?? (rollout.dynamic && last?.dynamic ? this.addDynamicGroup(rollout, last) : undefined);
      if (next) {
        this.startGroup(rollout, next);
        return this.evaluate(rollout) || true;
      }
      transitionRollout(this.store, rollout, "finished", SCHEDULER_USER);
      return true;
    }
    return changed;
  }

  private evaluateGroup(rollout: RolloutRec, group: RolloutGroupRec): boolean {
    const open = group.dynamic && rollout.groupIds[rollout.groupIds.length - 1] === group.id;
    const total = open ? dynamicGroupSize(group) : group.controllerIds.length;
    const percent = (n: number) => (total === 0 ? 100 : (n * 100) / total);
    // One pass over the group's actions: this runs on every tick and after every DDI feedback.
    let errors = 0;
    let succeeded = 0;
    let allClosed = true;
    for (const a of this.store.actionsOfGroup(group.id)) {
      if (a.status === "error") errors++;
      else if (a.status === "finished" || (a.status === "downloaded" && a.actionType === "downloadonly")) succeeded++;
      if (a.active || a.status === "scheduled") allClosed = false;
    }

    if (group.errorCondition && errors > 0 && percent(errors) > threshold(group.errorCondition.expression, 100)) {
      transitionGroup(this.store, group, "error");
      transitionRollout(this.store, rollout, "paused", SCHEDULER_USER);
      return true;
    }
    let changed = false;
    // The open dynamic group is never complete: its targets are still to come.
    const complete = !open && allClosed;
    // hawkBit runs the success action when the success condition is reached OR the group is complete
    // (JpaRolloutExecutor.executeRunningGroups → checkSuccessCondition: `groupCompleted || eval(...)`):
    // a group that ended with failures below the error threshold still PAUSEs before the next group,
    // so whoever gates the rollout (Aerie's health gate) decides whether the next group starts.
    if (complete || percent(succeeded) >= threshold(group.successCondition.expression, 100)) {
      // PAUSE holds the rollout before the next group; after the last group there is nothing to hold
      // (PauseRolloutGroupSuccessAction.exec pauses only with scheduled child groups).
      const hasNext = this.store.groupsOf(rollout).some((g) => g.status === "scheduled");
      if (group.successAction.action === "PAUSE" && !group.successActionFired && hasNext) {
        group.successActionFired = true;
        // executeRunningGroups marks a complete group FINISHED in the same pass.
        if (complete) transitionGroup(this.store, group, "finished");
        transitionRollout(this.store, rollout, "paused", SCHEDULER_USER);
        return true;
      }
      changed = this.startNextGroup(rollout, group);
    }
    if (complete) {
      transitionGroup(this.store, group, "finished");
      changed = true;
    }
    return changed;
  }
}

/** hawkBit keeps a dynamic group's target count in its targetPercentage. */
export function dynamicGroupSize(group: RolloutGroupRec): number {
  return Math.max(1, Math.floor(group.targetPercentage));
}
