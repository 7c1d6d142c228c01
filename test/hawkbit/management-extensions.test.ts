// The rest of the Management API Aerie's client speaks, every message checked against hawkBit's OpenAPI documents:
// target tags (and `tag==` filters), target types, target and software module metadata, target filters with
// auto-assignment, deleting modules and sets, invalidating a set, and reading an action.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import { CREDENTIALS, type ConformantStandin, eventually, rejectedByHawkbit, startConformantStandin } from "../helpers/hawkbit-conformance.js";

describe("hawkBit stand-in: tags, types, metadata, target filters, auto-assignment, invalidation", () => {
  let standin: ConformantStandin;
  let mgmt: HawkbitManagementClient;
  let ddi: DdiChannel;
  const DEVICES = ["mx-1", "mx-2", "mx-3"];

  const release = async (name: string) => {
    const image = Buffer.from(`image ${name}`);
    const sm = await mgmt.ensureSoftwareModule({ name, version: "1", type: "os" });
    await mgmt.uploadArtifact(sm.id, Readable.from([image]), { filename: `${name}.swu`, sha256: createHash("sha256").update(image).digest("hex"), size: image.length });
    const ds = await mgmt.ensureDistributionSet({ name, version: "1", type: "os", modules: [sm.id] });
    return { sm, ds };
  };

  before(async () => {
    standin = await startConformantStandin();
    mgmt = new HawkbitManagementClient({ baseUrl: standin.url, username: CREDENTIALS.username, password: CREDENTIALS.password });
    ddi = new DdiChannel({ baseUrl: standin.url, tenant: CREDENTIALS.tenant, gatewayToken: CREDENTIALS.gatewayToken });
    for (const id of DEVICES) await ddi.pollController(id);
  });

  after(async () => {
    await standin?.dispose();
  });

  afterEach(() => standin.assertConformant());

  it("tags targets, finds them by tag, and untags them", async () => {
    const tag = await mgmt.ensureTargetTag({ name: "canary", description: "first wave", colour: "#ff0000" });
    expect((await mgmt.ensureTargetTag({ name: "canary" })).id).to.equal(tag.id);
    expect((await rejectedByHawkbit(mgmt.createTargetTags([{ name: "canary" }]))).kind).to.equal("conflict");
    await mgmt.assignTargetTag(tag.id, ["mx-1", "mx-2"]);
    await mgmt.assignTargetTag(tag.id, ["mx-1"]);
    expect((await mgmt.listTargetTagTargets(tag.id)).content.map((t) => t.controllerId)).to.deep.equal(["mx-1", "mx-2"]);
    expect((await mgmt.listTargets({ q: "tag==canary" })).content.map((t) => t.controllerId)).to.deep.equal(["mx-1", "mx-2"]);
    expect((await mgmt.listTagsOfTarget("mx-1")).map((t) => t.name)).to.deep.equal(["canary"]);
    expect((await rejectedByHawkbit(mgmt.assignTargetTag(tag.id, ["mx-3", "ghost"]))).status).to.equal(404);
    expect((await mgmt.listTargets({ q: "tag==canary" })).total, "FAIL assigns nothing").to.equal(2);
    await mgmt.assignTargetTag(tag.id, ["mx-3", "ghost"], "ON_WHAT_FOUND_AND_SUCCESS");
    expect((await mgmt.listTargets({ q: "tag==canary" })).total).to.equal(3);
    await mgmt.unassignTargetTag(tag.id, ["mx-3"]);
    expect((await mgmt.listTargets({ q: "tag!=canary" })).content.map((t) => t.controllerId)).to.deep.equal(["mx-3"]);
    const other = await mgmt.ensureTargetTag({ name: "doomed" });
    await mgmt.deleteTargetTag(other.id);
    expect((await rejectedByHawkbit(mgmt.getTargetTag(other.id))).kind).to.equal("not-found");
  });

  it("types targets", async () => {
    const [type] = await mgmt.createTargetTypes([{ name: "gateway", key: "gw", description: "edge gateways", compatibledistributionsettypes: [{ id: 1 }] }]);
    expect(type).to.include({ name: "gateway", key: "gw" });
    await mgmt.assignTargetType("mx-1", type!.id);
    expect(await mgmt.getTarget("mx-1")).to.include({ targetType: type!.id, targetTypeName: "gateway" });
    expect((await mgmt.listTargets({ q: "targettype.key==gw" })).content.map((t) => t.controllerId)).to.deep.equal(["mx-1"]);
    expect((await rejectedByHawkbit(mgmt.deleteTargetType(type!.id))).status, "TargetTypeInUseException").to.equal(409);
    await mgmt.unassignTargetType("mx-1");
    expect((await mgmt.getTarget("mx-1")).targetType).to.equal(undefined);
    await mgmt.deleteTargetType(type!.id);
    expect((await mgmt.listTargetTypes()).total).to.equal(0);
  });

  it("keeps metadata on targets and software modules", async () => {
    await mgmt.createTargetMetadata("mx-2", [{ key: "site", value: "berlin" }, { key: "rack", value: "7" }]);
    expect((await rejectedByHawkbit(mgmt.createTargetMetadata("mx-2", [{ key: "site", value: "x" }]))).kind).to.equal("conflict");
    expect((await mgmt.listTargetMetadata("mx-2")).content).to.deep.equal([{ key: "rack", value: "7" }, { key: "site", value: "berlin" }]);
    // hawkBit 1.1.0 MgmtTargetResource.updateMetadata answers 204 without a body.
    await mgmt.updateTargetMetadata("mx-2", "site", "munich");
    expect(await mgmt.getTargetMetadata("mx-2", "site")).to.deep.equal({ key: "site", value: "munich" });
    expect((await mgmt.listTargets({ q: "metadata.site==munich" })).content.map((t) => t.controllerId)).to.deep.equal(["mx-2"]);
    await mgmt.deleteTargetMetadata("mx-2", "rack");
    expect((await rejectedByHawkbit(mgmt.getTargetMetadata("mx-2", "rack"))).kind).to.equal("not-found");

    const { sm } = await release("meta");
    await mgmt.createSoftwareModuleMetadata(sm.id, [{ key: "min-bootloader", value: "2.1", targetVisible: true }]);
    expect(await mgmt.getSoftwareModuleMetadata(sm.id, "min-bootloader")).to.deep.equal({ key: "min-bootloader", value: "2.1", targetVisible: true });
    await mgmt.updateSoftwareModuleMetadata(sm.id, "min-bootloader", { targetVisible: false }); // 204 in hawkBit 1.1.0
    expect(await mgmt.getSoftwareModuleMetadata(sm.id, "min-bootloader")).to.include({ value: "2.1", targetVisible: false });
    expect((await mgmt.listSoftwareModuleMetadata(sm.id)).total).to.equal(1);
    await mgmt.deleteSoftwareModuleMetadata(sm.id, "min-bootloader");
    expect((await mgmt.listSoftwareModuleMetadata(sm.id)).total).to.equal(0);
  });

  it("stores target filters and auto-assigns a set to every target that matches, once", async () => {
    expect((await rejectedByHawkbit(mgmt.createTargetFilter({ name: "bad", query: "nosuchfield==1" }))).errorCode).to.equal("hawkbit.server.error.rest.param.rsqlInvalidField");
    const filter = await mgmt.createTargetFilter({ name: "canaries", query: "tag==canary" });
    expect(filter).to.include({ name: "canaries", query: "tag==canary" });
    expect((await mgmt.updateTargetFilter(filter.id, { name: "canaries", query: "tag==canary;controllerId==mx-1" })).query).to.equal("tag==canary;controllerId==mx-1");
    expect((await mgmt.listTargetFilters({ q: "name==canaries" })).total).to.equal(1);
    const { ds } = await release("auto");
    const assigned = await mgmt.setAutoAssignDistributionSet(filter.id, { id: ds.id, type: "forced" });
    expect(assigned).to.include({ autoAssignDistributionSet: ds.id, autoAssignActionType: "forced" });
    expect((await mgmt.getAutoAssignDistributionSet(filter.id)).id).to.equal(ds.id);
    const state = await eventually(() => ddi.pollController("mx-1"), (s) => s.openActionId !== undefined);
    expect((await mgmt.getAction(state.openActionId!))).to.include({ status: "running", active: true, forceType: "forced" });
    expect((await ddi.pollController("mx-2")).openActionId, "outside the filter").to.equal(undefined);
    await ddi.sendFeedback("mx-1", state.openActionId!, { execution: "closed", finished: "success" });
    await new Promise((r) => setTimeout(r, 200));
    expect((await ddi.pollController("mx-1")).openActionId, "assigned once").to.equal(undefined);
    await mgmt.deleteAutoAssignDistributionSet(filter.id);
    expect((await mgmt.getTargetFilter(filter.id)).autoAssignDistributionSet).to.equal(undefined);
    await mgmt.deleteTargetFilter(filter.id);
    expect((await rejectedByHawkbit(mgmt.getTargetFilter(filter.id))).kind).to.equal("not-found");
  });

  it("invalidates a set: open actions cancelled, no new rollout, auto-assignment gone", async () => {
    const { ds } = await release("bad");
    const filter = await mgmt.createTargetFilter({ name: "all", query: "controllerId==mx-*" });
    await mgmt.setAutoAssignDistributionSet(filter.id, { id: ds.id, type: "soft" });
    const open = await eventually(() => ddi.pollController("mx-3"), (s) => s.openActionId !== undefined);
    await mgmt.invalidateDistributionSet(ds.id, { actionCancelationType: "force", cancelRollouts: true });
    expect(await mgmt.getDistributionSet(ds.id)).to.include({ valid: false });
    expect((await mgmt.getTargetAction("mx-3", open.openActionId!))).to.include({ status: "canceled", active: false });
    expect((await mgmt.getTargetFilter(filter.id)).autoAssignDistributionSet).to.equal(undefined);
    const refused = await rejectedByHawkbit(mgmt.createRollout({ name: "too-late", targetFilterQuery: "controllerId==mx-*", distributionSetId: ds.id, amountGroups: 1 }));
    expect(refused.errorCode).to.equal("hawkbit.server.error.distributionset.invalid");
    expect((await rejectedByHawkbit(mgmt.setAutoAssignDistributionSet(filter.id, { id: ds.id }))).status).to.equal(400);
  });

  it("deletes unused modules and sets for good, used ones softly", async () => {
    const { sm, ds } = await release("gone");
    await mgmt.deleteDistributionSet(ds.id);
    await mgmt.deleteSoftwareModule(sm.id);
    expect((await rejectedByHawkbit(mgmt.getDistributionSet(ds.id))).kind).to.equal("not-found");
    expect((await rejectedByHawkbit(mgmt.getSoftwareModule(sm.id))).kind).to.equal("not-found");
    const used = await mgmt.findDistributionSet("bad", "1");
    await mgmt.deleteDistributionSet(used!.id);
    expect(await mgmt.getDistributionSet(used!.id)).to.include({ deleted: true });
    expect(await mgmt.findDistributionSet("bad", "1")).to.equal(undefined);
  });
});
