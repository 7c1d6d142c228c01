// The rollout lifecycle beyond the happy path, through Aerie's typed client, every message checked against the
// hawkBit OpenAPI documents: approval workflow, PAUSE success action, triggerNextGroup, retry, delete, the
// user-consent flow on DDI (confirmationBase, auto-confirm) and force-quitting a cancelled action.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import { CREDENTIALS, type ConformantStandin, eventually, rejectedByHawkbit, startConformantStandin } from "../helpers/hawkbit-conformance.js";

const DEVICES = ["lc-1", "lc-2", "lc-3", "lc-4"];

describe("hawkBit stand-in: rollout lifecycle", () => {
  let standin: ConformantStandin;
  let mgmt: HawkbitManagementClient;
  let ddi: DdiChannel;
  let dsId: number;

  const ddiFetch = (path: string, init: RequestInit = {}) =>
    fetch(`${standin.url}/${CREDENTIALS.tenant}/controller/v1/${path}`, {
      ...init, headers: { Authorization: `GatewayToken ${CREDENTIALS.gatewayToken}`, "Content-Type": "application/json", Accept: "application/json", ...init.headers },
    });

  const newRollout = (name: string, extra: Partial<Parameters<HawkbitManagementClient["createRollout"]>[0]> = {}) =>
    mgmt.createRollout({
      name, targetFilterQuery: "controllerId==lc-*", distributionSetId: dsId, type: "forced",
      successCondition: { condition: "THRESHOLD", expression: "100" }, successAction: { action: "NEXTGROUP", expression: "" },
      errorCondition: { condition: "THRESHOLD", expression: "50" }, errorAction: { action: "PAUSE", expression: "" },
      ...extra,
    });

  const ready = (id: number, status = "ready") => eventually(() => mgmt.getRollout(id), (r) => r.status === status);
  const openAction = async (id: string) => (await ddi.pollController(id)).openActionId;
  const succeed = async (id: string) => {
    const actionId = (await eventually(() => ddi.pollController(id), (s) => s.openActionId !== undefined)).openActionId!;
    await ddi.sendFeedback(id, actionId, { execution: "closed", finished: "success" });
  };
  const fail = async (id: string) => {
    const actionId = (await eventually(() => ddi.pollController(id), (s) => s.openActionId !== undefined)).openActionId!;
    await ddi.sendFeedback(id, actionId, { execution: "closed", finished: "failure", details: ["boom"] });
  };

  before(async () => {
    standin = await startConformantStandin();
    mgmt = new HawkbitManagementClient({ baseUrl: standin.url, username: CREDENTIALS.username, password: CREDENTIALS.password });
    ddi = new DdiChannel({ baseUrl: standin.url, tenant: CREDENTIALS.tenant, gatewayToken: CREDENTIALS.gatewayToken });
    const image = Buffer.from("lifecycle image");
    const sm = await mgmt.ensureSoftwareModule({ name: "lc", version: "1", type: "os" });
    await mgmt.uploadArtifact(sm.id, Readable.from([image]), { filename: "lc.swu", sha256: createHash("sha256").update(image).digest("hex"), size: image.length });
    dsId = (await mgmt.ensureDistributionSet({ name: "lc", version: "1", type: "os", modules: [sm.id] })).id;
    for (const id of DEVICES) await ddi.pollController(id);
  });

  after(async () => {
    await standin?.dispose();
  });

  afterEach(() => standin.assertConformant());

  it("holds rollouts for approval when the tenant asks for it; deny and approve decide", async () => {
    expect((await mgmt.getTenantConfig("rollout.approval.enabled")).value).to.equal(false);
    await mgmt.setTenantConfig("rollout.approval.enabled", true);
    try {
      const denied = await newRollout("lc-denied", { amountGroups: 1 });
      await ready(denied.id, "waiting_for_approval");
      expect((await rejectedByHawkbit(mgmt.startRollout(denied.id))).errorCode).to.equal("hawkbit.server.error.rollout.illegalState");
      await mgmt.denyRollout(denied.id, "not today");
      expect(await mgmt.getRollout(denied.id)).to.include({ status: "approval_denied", approvalRemark: "not today", approveDecidedBy: CREDENTIALS.username });

      const approved = await newRollout("lc-approved", { amountGroups: 1 });
      await ready(approved.id, "waiting_for_approval");
      await mgmt.approveRollout(approved.id, "go");
      expect((await mgmt.getRollout(approved.id)).status).to.equal("ready");
      await mgmt.deleteRollout(approved.id);
      await mgmt.deleteRollout(denied.id);
      expect((await rejectedByHawkbit(mgmt.getRollout(approved.id))).kind).to.equal("not-found");
    } finally {
      await mgmt.setTenantConfig("rollout.approval.enabled", false);
    }
  });

  it("pauses after a group with success action PAUSE and starts the next group on resume", async () => {
    const rollout = await newRollout("lc-pause", {
      groups: [{ name: "first", targetPercentage: 25 }, { name: "rest", targetPercentage: 100 }],
      successAction: { action: "PAUSE", expression: "" },
    });
    await ready(rollout.id);
    await mgmt.startRollout(rollout.id);
    const groups = (await mgmt.listRolloutGroups(rollout.id)).content;
    expect(groups.map((g) => g.totalTargets)).to.deep.equal([1, 3]);
    expect(groups[0]!.successAction).to.deep.equal({ action: "PAUSE", expression: "" });
    const [first] = (await mgmt.listRolloutGroupTargets(rollout.id, groups[0]!.id)).content.map((t) => t.controllerId);
    await succeed(first!);
    await ready(rollout.id, "paused");
    expect((await mgmt.getRolloutGroup(rollout.id, groups[1]!.id)).status).to.equal("scheduled");
    await mgmt.resumeRollout(rollout.id);
    await eventually(() => mgmt.getRolloutGroup(rollout.id, groups[1]!.id), (g) => g.status === "running");
    for (const id of DEVICES.filter((d) => d !== first)) await succeed(id);
    await ready(rollout.id, "finished");
  });

  it("also pauses after a group that ended in failures below the error threshold (the success action runs on a complete group)", async () => {
    // hawkBit: JpaRolloutExecutor.checkSuccessCondition runs the success action on `groupCompleted || condition`.
    const rollout = await newRollout("lc-pause-failed", {
      groups: [{ name: "first", targetPercentage: 25 }, { name: "rest", targetPercentage: 100 }],
      successAction: { action: "PAUSE", expression: "" },
      errorCondition: { condition: "THRESHOLD", expression: "100" },
    });
    await ready(rollout.id);
    await mgmt.startRollout(rollout.id);
    const groups = (await mgmt.listRolloutGroups(rollout.id)).content;
    const [first] = (await mgmt.listRolloutGroupTargets(rollout.id, groups[0]!.id)).content.map((t) => t.controllerId);
    await fail(first!);
    await ready(rollout.id, "paused");
    expect((await mgmt.getRolloutGroup(rollout.id, groups[0]!.id)).status).to.equal("finished");
    expect((await mgmt.getRolloutGroup(rollout.id, groups[1]!.id)).status).to.equal("scheduled");
    await mgmt.resumeRollout(rollout.id);
    await eventually(() => mgmt.getRolloutGroup(rollout.id, groups[1]!.id), (g) => g.status === "running");
    for (const id of DEVICES.filter((d) => d !== first)) await succeed(id);
    await ready(rollout.id, "finished");
  });

  it("triggers the next group on demand, retries the failed targets and deletes a started rollout", async () => {
    const rollout = await newRollout("lc-trigger", {
      groups: [{ name: "a", targetPercentage: 50 }, { name: "b", targetPercentage: 100 }],
      errorCondition: { condition: "THRESHOLD", expression: "100" },
    });
    await ready(rollout.id);
    expect((await rejectedByHawkbit(mgmt.triggerNextGroup(rollout.id))).status).to.equal(400);
    await mgmt.startRollout(rollout.id);
    await ready(rollout.id, "running");
    const [a, b] = (await mgmt.listRolloutGroups(rollout.id)).content;
    const inA = (await mgmt.listRolloutGroupTargets(rollout.id, a!.id)).content.map((t) => t.controllerId);
    const inB = (await mgmt.listRolloutGroupTargets(rollout.id, b!.id)).content.map((t) => t.controllerId);
    await mgmt.triggerNextGroup(rollout.id);
    expect((await mgmt.getRolloutGroup(rollout.id, b!.id)).status).to.equal("running");
    expect((await rejectedByHawkbit(mgmt.triggerNextGroup(rollout.id))).message).to.contain("no next group");
    expect((await rejectedByHawkbit(mgmt.retryRollout(rollout.id))).errorCode).to.equal("hawkbit.server.error.rollout.illegalState");
    await fail(inA[0]!);
    for (const id of [...inA.slice(1), ...inB]) await succeed(id);
    await ready(rollout.id, "finished");

    const retry = await mgmt.retryRollout(rollout.id);
    expect(retry).to.include({ name: "lc-trigger_retry", totalTargets: 1, distributionSetId: dsId });
    await ready(retry.id);
    await mgmt.startRollout(retry.id);
    await ready(retry.id, "running");
    expect(await openAction(inA[0]!)).to.be.a("number");
    await mgmt.deleteRollout(retry.id);
    const deleted = await ready(retry.id, "deleted");
    expect(deleted.deleted).to.equal(true);
    expect((await mgmt.listRollouts({ q: "name==lc-trigger_retry" })).content).to.deep.equal([]);
    // The running action outlives the rollout, as in hawkBit.
    expect(await openAction(inA[0]!)).to.be.a("number");
    const { openActionId } = await ddi.pollController(inA[0]!);
    await mgmt.cancelAction(inA[0]!, openActionId!);
    // hawkBit 1.1.0: cancelling a canceling action is CancelActionNotAllowedException, 405 (RestConfiguration).
    expect((await rejectedByHawkbit(mgmt.cancelAction(inA[0]!, openActionId!))).status).to.equal(405);
    await mgmt.cancelAction(inA[0]!, openActionId!, { force: true });
    expect(await mgmt.getTargetAction(inA[0]!, openActionId!)).to.include({ status: "canceled", active: false });
    expect((await rejectedByHawkbit(mgmt.cancelAction(inA[0]!, openActionId!, { force: true }))).status).to.equal(405);
  });

  it("asks devices for consent with the confirmation flow on (confirmationBase, auto-confirm)", async () => {
    await mgmt.setTenantConfig("user.confirmation.flow.enabled", true);
    try {
      const rollout = await newRollout("lc-consent", { amountGroups: 1, confirmationRequired: true, targetFilterQuery: "controllerId==lc-1,controllerId==lc-2" });
      await ready(rollout.id);
      await mgmt.startRollout(rollout.id);
      await ready(rollout.id, "running");
      const group = (await mgmt.listRolloutGroups(rollout.id)).content[0]!;
      expect(group.confirmationRequired).to.equal(true);

      const base = await (await ddiFetch("lc-1")).json();
      expect(base._links.deploymentBase).to.equal(undefined);
      expect(base._links.confirmationBase.href).to.match(/\/confirmationBase\/\d+\?c=-?\d+$/);
      const actionId = Number(/confirmationBase\/(\d+)/.exec(base._links.confirmationBase.href)![1]);
      expect((await mgmt.getTargetAction("lc-1", actionId)).status).to.equal("wait_for_confirmation");

      const confirmation = await (await ddiFetch("lc-1/confirmationBase")).json();
      expect(confirmation.autoConfirm).to.deep.equal({ active: false });
      expect(confirmation._links.activateAutoConfirm.href).to.match(/confirmationBase\/activateAutoConfirm$/);
      const offered = await (await ddiFetch(`lc-1/confirmationBase/${actionId}`)).json();
      expect(offered.id).to.equal(String(actionId));
      expect(offered.confirmation.chunks[0].artifacts[0].filename).to.equal("lc.swu");

      const deny = await ddiFetch(`lc-1/confirmationBase/${actionId}/feedback`, { method: "POST", body: JSON.stringify({ confirmation: "denied", details: ["user said later"] }) });
      expect(deny.status).to.equal(200);
      expect((await mgmt.getTargetAction("lc-1", actionId)).status).to.equal("wait_for_confirmation");
      const confirm = await ddiFetch(`lc-1/confirmationBase/${actionId}/feedback`, { method: "POST", body: JSON.stringify({ confirmation: "confirmed", code: 200 }) });
      expect(confirm.status).to.equal(200);
      expect((await mgmt.getTargetAction("lc-1", actionId)).status).to.equal("running");
      expect((await ddi.pollController("lc-1")).openActionId).to.equal(actionId);

      // Auto-confirm: the waiting action of lc-2 is confirmed on activation.
      const activate = await ddiFetch("lc-2/confirmationBase/activateAutoConfirm", { method: "POST", body: JSON.stringify({ initiator: "owner", remark: "always" }) });
      expect(activate.status).to.equal(200);
      expect((await ddiFetch("lc-2/confirmationBase/activateAutoConfirm", { method: "POST", body: "{}" })).status).to.equal(409);
      expect((await ddi.pollController("lc-2")).openActionId).to.be.a("number");
      expect(await mgmt.getAutoConfirm("lc-2")).to.include({ active: true, initiator: "owner", remark: "always" });
      expect((await mgmt.getTarget("lc-2")).autoConfirmActive).to.equal(true);
      expect((await ddiFetch("lc-2/confirmationBase/deactivateAutoConfirm", { method: "POST" })).status).to.equal(200);
      expect((await mgmt.getAutoConfirm("lc-2")).active).to.equal(false);
      await succeed("lc-1");
      await succeed("lc-2");
      await ready(rollout.id, "finished");
    } finally {
      await mgmt.setTenantConfig("user.confirmation.flow.enabled", false);
    }
  });
});
