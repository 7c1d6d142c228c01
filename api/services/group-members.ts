// Which devices a rollout group holds. A group's membership only changes while its target count does
// (creation, dynamic groups filling up), so it is asked of hawkBit again only then. Without this, every
// progress GET and every health-gate pass paged all targets of every group from hawkBit (at 10,000
// devices, 20 pages per group per request).
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";

const MAX_GROUPS_CACHED = 2000;

export class GroupMembers {
  private readonly cache = new Map<string, { total: number; members: string[] }>();

  constructor(private readonly hawkbit: HawkbitManagementClient) {}

  async of(rolloutId: number, group: { id: number; totalTargets?: number }): Promise<string[]> {
    const key = `${rolloutId}:${group.id}`;
    const hit = this.cache.get(key);
    if (hit && group.totalTargets !== undefined && hit.total === group.totalTargets) return hit.members;
    const members: string[] = [];
    for await (const target of this.hawkbit.paginate((q) => this.hawkbit.listRolloutGroupTargets(rolloutId, group.id, q))) members.push(target.controllerId);
    if (group.totalTargets !== undefined && members.length === group.totalTargets) {
      if (this.cache.size >= MAX_GROUPS_CACHED) this.cache.clear();
      this.cache.set(key, { total: group.totalTargets, members });
    }
    return members;
  }
}
