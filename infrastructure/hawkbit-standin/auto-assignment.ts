// hawkBit's auto-assignment checker: every target matching a target filter with an auto-assign distribution set
// gets that set once (an action of the filter's type), including targets that start to match later. A target that
// already had an action for the set, or is busy with another one, is left alone.
import { startAction } from "./actions.js";
import { targetFields } from "./fields.js";
import { rsqlFilter } from "./query.js";
import { CONFIRMATION_FLOW_ENABLED } from "./rollout-engine.js";
import type { Store } from "./store.js";

const CHECKER_USER = "system";

export function runAutoAssignments(store: Store): boolean {
  let changed = false;
  for (const filter of store.state.targetFilters ?? []) {
    const auto = filter.autoAssign;
    if (!auto) continue;
    const ds = store.state.distributionSets.find((d) => d.id === auto.distributionSetId);
    if (!ds || ds.deleted || ds.valid === false) continue;
    const matches = rsqlFilter(filter.query, targetFields(store));
    for (const target of store.state.targets.filter(matches)) {
      const actions = store.actionsOf(target.controllerId);
      if (actions.some((a) => a.active || a.distributionSetId === ds.id)) continue;
      const action = {
        id: store.nextId("actions"), controllerId: target.controllerId, distributionSetId: ds.id, actionType: auto.actionType,
        weight: auto.weight, active: false, status: "scheduled" as const, history: [], ...store.audit(CHECKER_USER),
      };
      store.state.actions.push(action);
      const confirm = store.config(CONFIRMATION_FLOW_ENABLED, false) && (auto.confirmationRequired ?? true);
      startAction(store, action, target, CHECKER_USER, confirm);
      ds.locked = true;
      changed = true;
    }
  }
  return changed;
}
