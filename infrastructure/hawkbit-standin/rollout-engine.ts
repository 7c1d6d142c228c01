// Rollouts as hawkBit runs them. Each rollout and each deployment group follows a named state machine;
// the scheduler tick (and a kick after each relevant request) advances them:
//   rollout: creating → ready → starting → running ⇄ paused → finished
//   group:   creating → ready → scheduled → running → finished | error
// Group success/error conditions are THRESHOLD percentages over the group's targets.
import type { Logger } from "../../core/log.js";
import type {
  ActionRec, ActionType, GroupConditions, RolloutGroupRec, RolloutGroupStatus, RolloutRec, RolloutStatus,
} from "./model.js";
import type { Store } from "./store.js";
import { rolloutIllegalState } from "./errors.js";
import { startAction } from "./actions.js";

const ROLLOUT_TRANSITIONS: Record<RolloutStatus, readonly RolloutStatus[]> = {
  creating: ["ready"],
  ready: ["starting"],
  starting: ["running"],
  running: ["paused", "finished"],
  paused: ["running"],
  finished: [],
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
export function rolloutTargetCounts(actions: ActionRec[], totalTargets: number): Record<string, number> {
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
  controllerIds: string[];
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
      totalTargets: spec.groups.reduce((n, g) => n + g.controllerIds.length, 0), groupIds: [], ...audit,
    };
    for (const g of spec.groups) {
      const group: RolloutGroupRec = {
        id: this.store.nextId("rolloutGroups"), rolloutId: rollout.id, status: "creating", ...audit,
        name: g.name, description: g.description, targetFilterQuery: g.targetFilterQuery, targetPercentage: g.targetPercentage,
        controllerIds: g.controllerIds, successCondition: g.successCondition, successAction: g.successAction,
        errorCondition: g.errorCondition, errorAction: g.errorAction,
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
        transitionRollout(this.store, rollout, "ready", SCHEDULER_USER);
        return true;
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
      for (const controllerId of group.controllerIds) {
        this.store.state.actions.push({
          id: this.store.nextId("actions"), controllerId, distributionSetId: rollout.distributionSetId,
          actionType: rollout.actionType, forcedTime: rollout.forcedTime, weight: rollout.weight, active: false,
          status: "scheduled", rolloutId: rollout.id, rolloutGroupId: group.id,
          history: [{ id: this.store.nextId("actionStatus"), status: "scheduled", reportedAt: Date.now(), messages: [] }],
          ...this.store.audit(SCHEDULER_USER),
        });
      }
      transitionGroup(this.store, group, "scheduled");
    }
    transitionRollout(this.store, rollout, "running", SCHEDULER_USER);
    if (groups[0]) this.startGroup(groups[0]);
    this.evaluate(rollout);
    return true;
  }

  private startGroup(group: RolloutGroupRec): void {
    transitionGroup(this.store, group, "running");
    for (const action of this.store.state.actions) {
      if (action.rolloutGroupId !== group.id || action.status !== "scheduled") continue;
      const target = this.store.findTarget(action.controllerId);
      if (target) startAction(this.store, action, target, SCHEDULER_USER);
    }
  }

  private startNextGroup(rollout: RolloutRec, after: RolloutGroupRec): boolean {
    const groups = this.store.groupsOf(rollout);
    const next = groups[groups.indexOf(after) + 1];
    if (!next || next.status !== "scheduled") return false;
    this.startGroup(next);
    return true;
  }

  private evaluate(rollout: RolloutRec): boolean {
    let changed = false;
    const groups = this.store.groupsOf(rollout);
    for (const group of groups) {
      if (group.status !== "running" || rollout.status !== "running") continue;
      changed = this.evaluateGroup(rollout, group) || changed;
    }
    if (rollout.status !== "running") return changed;
    if (!groups.some((g) => g.status === "running")) {
      // After a resume from an error pause nothing is running any more; carry on with the next group.
      const next = groups.find((g) => g.status === "scheduled");
      if (next) {
        this.startGroup(next);
        return this.evaluate(rollout) || true;
      }
      transitionRollout(this.store, rollout, "finished", SCHEDULER_USER);
      return true;
    }
    return changed;
  }

  private evaluateGroup(rollout: RolloutRec, group: RolloutGroupRec): boolean {
    const actions = this.store.state.actions.filter((a) => a.rolloutGroupId === group.id);
    const total = group.controllerIds.length;
    const percent = (n: number) => (total === 0 ? 100 : (n * 100) / total);
    const errors = actions.filter((a) => a.status === "error").length;
    const succeeded = actions.filter((a) => a.status === "finished" || (a.status === "downloaded" && a.actionType === "downloadonly")).length;

    if (group.errorCondition && errors > 0 && percent(errors) > threshold(group.errorCondition.expression, 100)) {
      transitionGroup(this.store, group, "error");
      transitionRollout(this.store, rollout, "paused", SCHEDULER_USER);
      return true;
    }
    let changed = false;
    if (percent(succeeded) >= threshold(group.successCondition.expression, 100)) {
      if (group.successAction.action === "PAUSE" && !group.successActionFired) {
        group.successActionFired = true;
        transitionRollout(this.store, rollout, "paused", SCHEDULER_USER);
        return true;
      }
      changed = this.startNextGroup(rollout, group);
    }
    if (actions.every((a) => !a.active && a.status !== "scheduled")) {
      transitionGroup(this.store, group, "finished");
      changed = true;
    }
    return changed;
  }
}
