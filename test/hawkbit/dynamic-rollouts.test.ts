// Dynamic rollouts as hawkBit runs them (hawkbit#1548, #1752), through Aerie's typed client, every message checked
// against the hawkBit OpenAPI documents: the rollout stays open after its static groups, targets that match later
// are put into dynamic groups of `targetCount`, named with the template's suffix and deployed with the rollout's
// type, weight and conditions.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import type { MgmtRolloutRestRequestBodyPost } from "../../hawkbit/types.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import { CREDENTIALS, type ConformantStandin, eventually, rejectedByHawkbit, startConformantStandin } from "../helpers/hawkbit-conformance.js";

describe("hawkBit stand-in: dynamic rollouts", () => {
  let standin: ConformantStandin;
  let mgmt: HawkbitManagementClient;
  let ddi: DdiChannel;
  let dsId: number;
  const forcetime = Date.now() + 86_400_000;

  const request = (name: string, extra: Partial<MgmtRolloutRestRequestBodyPost> = {}): MgmtRolloutRestRequestBodyPost => ({
    name, targetFilterQuery: "controllerId==dy-*", distributionSetId: dsId, type: "timeforced", forcetime, weight: 600,
    successCondition: { condition: "THRESHOLD", expression: "100" }, successAction: { action: "NEXTGROUP", expression: "" },
    errorCondition: { condition: "THRESHOLD", expression: "50" }, errorAction: { action: "PAUSE", expression: "" },
    ...extra,
  });
  const openAction = async (id: string) => (await eventually(() => ddi.pollController(id), (s) => s.openActionId !== undefined)).openActionId!;
  const succeed = async (id: string) => ddi.sendFeedback(id, await openAction(id), { execution: "closed", finished: "success" });
  const groups = async (rolloutId: number) => (await mgmt.listRolloutGroups(rolloutId)).content;
  const members = async (rolloutId: number, groupId: number) => (await mgmt.listRolloutGroupTargets(rolloutId, groupId)).content.map((t) => t.controllerId).sort();

  before(async () => {
    standin = await startConformantStandin();
    mgmt = new HawkbitManagementClient({ baseUrl: standin.url, username: CREDENTIALS.username, password: CREDENTIALS.password });
    ddi = new DdiChannel({ baseUrl: standin.url, tenant: CREDENTIALS.tenant, gatewayToken: CREDENTIALS.gatewayToken });
    const image = Buffer.from("dynamic image");
    const sm = await mgmt.ensureSoftwareModule({ name: "dy", version: "1", type: "os" });
    await mgmt.uploadArtifact(sm.id, Readable.from([image]), { filename: "dy.swu", sha256: createHash("sha256").update(image).digest("hex"), size: image.length });
    dsId = (await mgmt.ensureDistributionSet({ name: "dy", version: "1", type: "os", modules: [sm.id] })).id;
    for (const id of ["dy-1", "dy-2"]) await ddi.pollController(id);
  });

  after(async () => {
    await standin?.dispose();
  });

  afterEach(() => standin.assertConformant());

  it("refuses what hawkBit refuses: groups or a template without dynamic, a template of no targets", async () => {
    const withGroups = await rejectedByHawkbit(mgmt.createRollout(request("dy-bad-1", { dynamic: true, groups: [{ name: "g", targetPercentage: 100 }] })));
    expect(withGroups.status).to.equal(400);
    expect(withGroups.message).to.contain("not supported with groups");
    expect((await rejectedByHawkbit(mgmt.createRollout(request("dy-bad-2", { amountGroups: 1, dynamicGroupTemplate: { targetCount: 2 } })))).status).to.equal(400);
    expect((await rejectedByHawkbit(mgmt.createRollout(request("dy-bad-3", { amountGroups: 1, dynamic: true, dynamicGroupTemplate: { targetCount: 0 } })))).status).to.equal(400);
    expect((await rejectedByHawkbit(mgmt.createRollout(request("dy-bad-4", { amountGroups: 0, dynamic: true })))).status).to.equal(400);
    // A static rollout over no target is refused; a purely dynamic one waits for its targets.
    const empty = await mgmt.createRollout(request("dy-empty", { targetFilterQuery: "controllerId==nobody-*", amountGroups: 0, dynamic: true, dynamicGroupTemplate: { nameSuffix: "-d", targetCount: 5 } }));
    expect(empty).to.include({ totalTargets: 0, dynamic: true });
    expect((await groups(empty.id)).map((g) => [g.name, g.dynamic, g.targetPercentage])).to.deep.equal([["group-1-d", true, 5]]);
    await mgmt.deleteRollout(empty.id);
  });

  it("keeps running after its static group and deploys targets registered later in dynamic groups", async () => {
    const rollout = await mgmt.createRollout(request("dy-fleet", { amountGroups: 1, dynamic: true, dynamicGroupTemplate: { nameSuffix: "-late", targetCount: 2 } }));
    expect(rollout.dynamic).to.equal(true);
    await eventually(() => mgmt.getRollout(rollout.id), (r) => r.status === "ready");
    const [initial, firstDynamic] = await groups(rollout.id);
    expect(initial).to.include({ name: "group-1", dynamic: false, totalTargets: 2 });
    expect(firstDynamic).to.include({ name: "group-2-late", dynamic: true, totalTargets: 0, targetPercentage: 2 });
    await mgmt.startRollout(rollout.id);
    await succeed("dy-1");
    await succeed("dy-2");
    await eventually(() => mgmt.getRolloutGroup(rollout.id, initial!.id), (g) => g.status === "finished");
    await new Promise((r) => setTimeout(r, 300));
    expect((await mgmt.getRollout(rollout.id)).status, "a dynamic rollout does not finish by itself").to.equal("running");
    expect((await mgmt.getRolloutGroup(rollout.id, firstDynamic!.id)).status).to.equal("running");

    // Registered after the start: deployed at once, with the rollout's type, force time and weight.
    await ddi.pollController("dy-3");
    const actionId = await openAction("dy-3");
    expect(await mgmt.getTargetAction("dy-3", actionId)).to.include({ rollout: rollout.id, forceType: "timeforced", forceTime: forcetime, weight: 600 });
    expect(await members(rollout.id, firstDynamic!.id)).to.deep.equal(["dy-3"]);
    await succeed("dy-3");
    await new Promise((r) => setTimeout(r, 300));
    expect((await mgmt.getRolloutGroup(rollout.id, firstDynamic!.id)).status, "half full: its targets are still to come").to.equal("running");

    // The group fills up; the next dynamic group takes its name suffix, size and conditions and starts after it.
    await ddi.pollController("dy-4");
    await ddi.pollController("dy-5");
    const all = await eventually(() => groups(rollout.id), (g) => g.length === 3 && g[2]!.totalTargets === 1);
    expect(await members(rollout.id, firstDynamic!.id)).to.deep.equal(["dy-3", "dy-4"]);
    expect(all[2]).to.include({ name: "group-3-late", dynamic: true, targetPercentage: 2 });
    expect(all[2]!.errorCondition).to.deep.equal({ condition: "THRESHOLD", expression: "50" });
    expect(all[2]!.status).to.equal("scheduled");
    expect((await ddi.pollController("dy-5")).openActionId, "waits for its group").to.equal(undefined);
    await succeed("dy-4");
    await eventually(() => mgmt.getRolloutGroup(rollout.id, firstDynamic!.id), (g) => g.status === "finished");
    await succeed("dy-5");
    const counted = await mgmt.getRollout(rollout.id);
    expect(counted).to.include({ status: "running", totalTargets: 5, totalGroups: 3 });
    expect(counted.totalTargetsPerStatus).to.include({ finished: 5, error: 0 });

    // Devices that do not match the filter stay out.
    await ddi.pollController("other-1");
    await new Promise((r) => setTimeout(r, 200));
    expect((await ddi.pollController("other-1")).openActionId).to.equal(undefined);
    await mgmt.deleteRollout(rollout.id);
  });
});
