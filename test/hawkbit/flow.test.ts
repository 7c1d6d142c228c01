// The walking skeleton end to end through Aerie's own clients, with every message checked against the
// hawkBit OpenAPI documents: release upload → DS → devices register over DDI → 2-group rollout → FINISHED.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import { CREDENTIALS, type ConformantStandin, eventually, startConformantStandin } from "../helpers/hawkbit-conformance.js";

describe("hawkBit stand-in: rollout flow through the clients", () => {
  let standin: ConformantStandin;
  let mgmt: HawkbitManagementClient;
  let ddi: DdiChannel;

  before(async () => {
    standin = await startConformantStandin();
    mgmt = new HawkbitManagementClient({ baseUrl: standin.url, username: CREDENTIALS.username, password: CREDENTIALS.password });
    ddi = new DdiChannel({ baseUrl: standin.url, tenant: CREDENTIALS.tenant, gatewayToken: CREDENTIALS.gatewayToken });
  });

  after(async () => {
    await standin?.dispose();
  });

  afterEach(() => standin.assertConformant());

  it("seeds hawkBit's default module and distribution set types", async () => {
    const smTypes = await mgmt.listSoftwareModuleTypes();
    expect(smTypes.content.map((t) => t.key)).to.include.members(["os", "application", "runtime"]);
    const dsTypes = await mgmt.listDistributionSetTypes();
    expect(dsTypes.content.map((t) => t.key)).to.include.members(["os", "os_app", "app"]);
  });

  it("deploys a release to two groups of devices and finishes the rollout", async () => {
    const image = Buffer.from("rootfs image ".repeat(1000));
    const sha256 = createHash("sha256").update(image).digest("hex");

    const sm = await mgmt.ensureSoftwareModule({ name: "rootfs", version: "1.0.0", type: "os", vendor: "aerie" });
    expect(await mgmt.ensureSoftwareModule({ name: "rootfs", version: "1.0.0", type: "os" })).to.include({ id: sm.id });
    const artifact = await mgmt.uploadArtifact(sm.id, Readable.from([image]), { filename: "rootfs.swu", sha256, size: image.length });
    expect(artifact.hashes?.sha256).to.equal(sha256);
    expect(artifact.hashes?.md5).to.equal(createHash("md5").update(image).digest("hex"));
    expect(artifact.size).to.equal(image.length);
    expect((await mgmt.listArtifacts(sm.id)).map((a) => a.providedFilename)).to.deep.equal(["rootfs.swu"]);

    const ds = await mgmt.ensureDistributionSet({ name: "fleet", version: "1.0.0", type: "os", modules: [sm.id] });
    expect(ds.complete).to.equal(true);
    expect((await mgmt.ensureDistributionSet({ name: "fleet", version: "1.0.0", type: "os" })).id).to.equal(ds.id);
    expect((await mgmt.listAssignedSoftwareModules(ds.id)).content.map((m) => m.id)).to.deep.equal([sm.id]);

    const devices = ["dev-1", "dev-2", "dev-3", "dev-4"];
    for (const id of devices) {
      const state = await ddi.pollController(id);
      expect(state.openActionId).to.equal(undefined);
      expect(state.configDataRequested).to.equal(true);
      expect(state.pollingSleepMs).to.equal(1000);
      await ddi.sendConfigData(id, { hw: "rev-b", serial: id }, "replace");
    }
    expect(await mgmt.getTargetAttributes("dev-1")).to.deep.equal({ hw: "rev-b", serial: "dev-1" });
    expect((await mgmt.getTarget("dev-1")).updateStatus).to.equal("registered");
    expect((await ddi.pollController("dev-1")).configDataRequested).to.equal(false);

    const created = await mgmt.createRollout({
      name: "fleet-1.0.0", targetFilterQuery: "attribute.hw==rev-b", distributionSetId: ds.id, amountGroups: 2, type: "forced",
      successCondition: { condition: "THRESHOLD", expression: "100" }, successAction: { action: "NEXTGROUP", expression: "" },
      errorCondition: { condition: "THRESHOLD", expression: "50" }, errorAction: { action: "PAUSE", expression: "" },
    });
    expect(created.status).to.equal("creating");
    expect(created.totalTargets).to.equal(4);
    await eventually(() => mgmt.getRollout(created.id), (r) => r.status === "ready");
    expect((await mgmt.findRolloutByName("fleet-1.0.0"))?.id).to.equal(created.id);

    const groups = (await mgmt.listRolloutGroups(created.id)).content;
    expect(groups.map((g) => g.totalTargets)).to.deep.equal([2, 2]);
    const members = async (groupId: number) =>
      (await mgmt.listRolloutGroupTargets(created.id, groupId)).content.map((t) => t.controllerId);
    const first = await members(groups[0]!.id);
    const second = await members(groups[1]!.id);
    expect([...first, ...second].sort()).to.deep.equal(devices);

    await mgmt.startRollout(created.id);
    await eventually(() => mgmt.getRollout(created.id), (r) => r.status === "running");
    expect((await mgmt.getRolloutGroup(created.id, groups[0]!.id)).status).to.equal("running");
    expect((await mgmt.getRolloutGroup(created.id, groups[1]!.id)).status).to.equal("scheduled");
    for (const id of second) expect((await ddi.pollController(id)).openActionId).to.equal(undefined);

    const open = [];
    // hawkBit 1.1.0 ActionFields: open actions are `active==true`; `status` is the real action status.
    for await (const a of mgmt.iterateActions({ q: "active==true", sort: "id:ASC" })) open.push(a);
    expect(open).to.have.length(2);
    expect(open.every((a) => (a as { active?: boolean }).active === true && a.status === "running" && a.rollout === created.id)).to.equal(true);

    const deploy = async (controllerId: string) => {
      const state = await ddi.pollController(controllerId);
      expect(state.openActionId, `${controllerId} sees its deployment`).to.be.a("number");
      const deployment = await ddi.getDeployment(controllerId, state.openActionId!);
      expect(deployment).to.include({ actionId: state.openActionId, download: "forced", update: "forced", type: "forced" });
      const [chunk] = deployment.chunks;
      expect(chunk).to.include({ part: "os", name: "rootfs", version: "1.0.0" });
      expect(chunk!.artifacts[0]).to.deep.include({ filename: "rootfs.swu", size: image.length });
      expect(chunk!.artifacts[0]!.hashes.sha256).to.equal(sha256);
      expect(chunk!.artifacts[0]!.links.downloadHttp).to.match(/\/DEFAULT\/controller\/v1\/.+\/softwaremodules\/\d+\/artifacts\/rootfs\.swu$/);
      await ddi.sendFeedback(controllerId, deployment.actionId, { execution: "download", finished: "none", progress: { cnt: 1, of: 2 } });
      await ddi.sendFeedback(controllerId, deployment.actionId, { execution: "proceeding", finished: "none", details: ["installing"] });
      await ddi.sendFeedback(controllerId, deployment.actionId, { execution: "closed", finished: "success" });
      const action = await mgmt.getTargetAction(controllerId, deployment.actionId);
      expect(action).to.include({ status: "finished", active: false });
    };

    for (const id of first) await deploy(id);
    expect((await mgmt.getRolloutGroup(created.id, groups[0]!.id)).status).to.equal("finished");
    expect((await mgmt.getRolloutGroup(created.id, groups[1]!.id)).status).to.equal("running");

    for (const id of second) await deploy(id);
    const finished = await eventually(() => mgmt.getRollout(created.id), (r) => r.status === "finished");
    expect(finished.totalTargetsPerStatus).to.include({ finished: 4, error: 0, running: 0 });
    const target = await mgmt.getTarget("dev-3");
    expect(target.updateStatus).to.equal("in_sync");
    expect((await ddi.pollController("dev-3")).installedActionId).to.be.a("number");
  });

  it("pauses a rollout whose group exceeds the error threshold and goes on with the next group on resume", async () => {
    const sm = await mgmt.ensureSoftwareModule({ name: "rootfs", version: "2.0.0", type: "os" });
    const ds = await mgmt.ensureDistributionSet({ name: "fleet", version: "2.0.0", type: "os", modules: [sm.id] });
    const rollout = await mgmt.createRollout({
      name: "fleet-2.0.0", targetFilterQuery: "controllerId==dev-1,controllerId==dev-2", distributionSetId: ds.id,
      groups: [{ name: "canary", targetPercentage: 50 }, { name: "rest", targetPercentage: 100 }],
      successCondition: { condition: "THRESHOLD", expression: "100" }, successAction: { action: "NEXTGROUP", expression: "" },
      errorCondition: { condition: "THRESHOLD", expression: "40" }, errorAction: { action: "PAUSE", expression: "" },
    });
    await eventually(() => mgmt.getRollout(rollout.id), (r) => r.status === "ready");
    await mgmt.startRollout(rollout.id);
    await eventually(() => mgmt.getRollout(rollout.id), (r) => r.status === "running");
    const { openActionId } = await ddi.pollController("dev-1");
    await ddi.sendFeedback("dev-1", openActionId!, { execution: "closed", finished: "failure", details: ["disk full"] });
    expect((await mgmt.getTargetAction("dev-1", openActionId!)).status).to.equal("error");
    expect((await mgmt.getRollout(rollout.id)).status).to.equal("paused");
    expect((await ddi.pollController("dev-2")).openActionId).to.equal(undefined);
    await mgmt.resumeRollout(rollout.id);
    const next = await eventually(() => ddi.pollController("dev-2"), (s) => s.openActionId !== undefined);
    expect((await mgmt.getTargetAction("dev-2", next.openActionId!)).rollout).to.equal(rollout.id);
    expect((await mgmt.getRollout(rollout.id)).status).to.equal("running");
  });

  it("lets hawkBit cancel an open action and the device confirm it", async () => {
    const sm = await mgmt.ensureSoftwareModule({ name: "rootfs", version: "3.0.0", type: "os" });
    const ds = await mgmt.ensureDistributionSet({ name: "fleet", version: "3.0.0", type: "os", modules: [sm.id] });
    const rollout = await mgmt.createRollout({ name: "fleet-3.0.0", targetFilterQuery: "controllerId==dev-4", distributionSetId: ds.id, amountGroups: 1 });
    await eventually(() => mgmt.getRollout(rollout.id), (r) => r.status === "ready");
    await mgmt.startRollout(rollout.id);
    const { openActionId } = await eventually(() => ddi.pollController("dev-4"), (s) => s.openActionId !== undefined);
    const res = await fetch(`${standin.url}/rest/v1/targets/dev-4/actions/${openActionId}`, {
      method: "DELETE", headers: { Authorization: `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString("base64")}` },
    });
    expect(res.status).to.equal(204);
    const state = await ddi.pollController("dev-4");
    expect(state.cancelActionId).to.equal(openActionId);
    expect(await ddi.getCancelAction("dev-4", openActionId!)).to.deep.equal({ actionId: openActionId, stopActionId: openActionId });
    await ddi.sendCancelFeedback("dev-4", openActionId!, { execution: "closed", finished: "success" });
    expect(await mgmt.getTargetAction("dev-4", openActionId!)).to.include({ type: "cancel", status: "canceled", active: false });
  });
});
