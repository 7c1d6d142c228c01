// The group-membership cache asks hawkBit again only when a group's target count changed.
import { expect } from "chai";
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { GroupMembers } from "../../api/services/group-members.js";

function countingClient(targets: string[]) {
  let requests = 0;
  const client = {
    async listRolloutGroupTargets(_rollout: number, _group: number, q: { offset?: number; limit?: number }) {
      requests++;
      const offset = q.offset ?? 0;
      const limit = q.limit ?? 500;
      return { content: targets.slice(offset, offset + limit).map((controllerId) => ({ controllerId })), total: targets.length, size: Math.min(limit, targets.length - offset) };
    },
    async *paginate<T>(fetchPage: (q: { offset: number; limit: number }) => Promise<{ content: T[]; total: number }>) {
      for (let offset = 0; ; offset += 500) {
        const page = await fetchPage({ offset, limit: 500 });
        yield* page.content;
        if (offset + 500 >= page.total) return;
      }
    },
  };
  return { client: client as unknown as HawkbitManagementClient, requests: () => requests };
}

describe("rollout group members", () => {
  it("pages hawkBit once per group and again only when the group's target count changes", async () => {
    const targets = Array.from({ length: 1200 }, (_, i) => `dev-${i}`);
    const { client, requests } = countingClient(targets);
    const members = new GroupMembers(client);

    expect(await members.of(7, { id: 1, totalTargets: 1200 })).to.have.length(1200);
    expect(requests()).to.equal(3);
    expect(await members.of(7, { id: 1, totalTargets: 1200 })).to.deep.equal(targets);
    expect(requests(), "answered from the cache").to.equal(3);

    targets.push("dev-late");
    expect(await members.of(7, { id: 1, totalTargets: 1201 })).to.include("dev-late");
    expect(requests(), "a dynamic group grew: asked again").to.equal(6);
    await members.of(7, { id: 2, totalTargets: 1201 });
    expect(requests(), "another group is another key").to.equal(9);
  });
});
