// Aerie's campaign API against the conformant hawkBit stand-in, with devices polling DDI: the OpenAPI document,
// bad input, staged groups over device attributes, approval, pause/resume/stop/retry, the health gate and pacing.
import { expect } from "chai";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { type CampaignHarness, DdiDevice, apiError, runDevices, startCampaignHarness } from "./harness.js";

type Campaign = {
  id: string; status: string; pausedBy: string | null; statusReason: string | null; hawkbitRolloutId: number | null;
  progress: { devices: number; byStatus: Record<string, number>; groups: { id: number; name: string; status: string; totalTargets: number }[] };
  devices: { controllerId: string; group: string | null; status: string }[];
  gate?: { unhealthy: string[] };
};

describe("campaigns: API, lifecycle, health gate and pacing", function () {
  this.timeout(120_000);
  let h: CampaignHarness;
  let releaseId: string;
  const fleet: DdiDevice[] = [];

  const campaign = (id: string) => h.api.request<Campaign>("GET", `/api/v1/campaigns/${id}`);
  const command = (id: string, verb: string) => h.api.request<Campaign>("POST", `/api/v1/campaigns/${id}/${verb}`);
  const create = (body: object) => h.api.request<Campaign>("POST", "/api/v1/campaigns", body);
  const until = (id: string, status: string, devices: DdiDevice[] = []) =>
    runDevices(devices, h.hawkbit, async () => {
      const c = await campaign(id);
      return c.status === status ? c : undefined;
    });

  before(async () => {
    h = await startCampaignHarness();
    for (let i = 1; i <= 10; i++) {
      const device = new DdiDevice(`cp-${String(i).padStart(2, "0")}`, h.standin.url, h.db, { hardware: i <= 8 ? "rev-b" : "rev-a", "version.rootfs": "1.0.0" });
      await device.register();
      fleet.push(device);
    }
    const artifact = await h.addArtifact("rootfs-2.swu", Buffer.from("image 2"));
    releaseId = (await h.api.createRelease({ name: "cp-os", version: "2", artifacts: [artifact] })).id;
  });

  after(async () => {
    await h?.dispose();
  });

  it("serves its OpenAPI document, covering every campaign command", async () => {
    const doc = await (await fetch(`${h.apiUrl}/openapi.json`, { headers: h.api.authorization })).json();
    expect(doc.openapi).to.match(/^3\./);
    for (const verb of ["start", "pause", "resume", "stop", "retry", "approve", "deny"]) expect(doc.paths).to.have.property(`/api/v1/campaigns/{id}/${verb}`);
    expect(doc.components.schemas.CampaignInput.properties).to.include.keys("selection", "stages", "healthGate", "pacing", "maintenanceWindow", "consentRequired", "stuckTimeoutSeconds");
    for (const path of ["/api/v1/device-groups", "/api/v1/webhooks", "/api/v1/webhooks/{id}"]) expect(doc.paths).to.have.property(path);
  });

  it("answers bad input with 400/404/409 and a reason, hawkBit's refusals with its code", async () => {
    await apiError(create({ name: "x", releaseId, selection: "hardware==" }), 400, "not valid RSQL");
    await apiError(create({ name: "x", releaseId, selection: "hardware==rev-b", successThreshold: 101 }), 400, "successThreshold");
    await apiError(create({ name: "x", releaseId, selection: "hardware==rev-b", stages: [10, 5, 100] }), 400, "stages must increase");
    await apiError(create({ name: "x", releaseId: "00000000-0000-4000-8000-000000000000", selection: "hardware==rev-b" }), 404, "release");
    const refused = await apiError(create({ name: "x", releaseId, targetFilter: "nosuchfield==1" }), 400, "hawkbit.server.error.rest.param.rsqlInvalidField");
    expect((refused.error as { hawkbit: { status: number } }).hawkbit.status).to.equal(400);
    await apiError(create({ name: "x", releaseId, targetFilter: "controllerId==nobody" }), 400, "does not match any");
    expect((await h.db.campaign.count({ where: { name: "x" } }))).to.equal(0);
    await apiError(command("00000000-0000-4000-8000-000000000000", "start"), 404);
  });

  it("stages [20, 50, 100]% over device attributes, with per-group and per-device progress", async () => {
    const c = await create({ name: "cp-staged", releaseId, selection: "hardware==rev-b", stages: [25, 50, 100], start: true });
    expect(c.status).to.equal("created");
    const finished = await until(c.id, "finished", fleet);
    expect(finished.progress.groups.map((g) => g.totalTargets)).to.deep.equal([2, 2, 4]);
    expect(finished.progress.groups.every((g) => g.status === "finished")).to.equal(true);
    expect(finished.progress.byStatus).to.deep.equal({ success: 8 });
    expect(finished.devices.map((d) => d.controllerId).sort()).to.deep.equal(fleet.slice(0, 8).map((d) => d.controllerId));
    expect(new Set(finished.devices.map((d) => d.group))).to.deep.equal(new Set(["stage-1", "stage-2", "stage-3"]));
    const rollout = await h.hawkbit.getRollout(finished.hawkbitRolloutId!);
    expect(rollout.targetFilterQuery).to.equal("attribute.hardware==rev-b");
    await apiError(command(c.id, "start"), 409, "finished");
    await apiError(command(c.id, "pause"), 409);
  });

  it("waits for approval; deny ends it; approve, pause, resume and stop drive hawkBit", async () => {
    const denied = await create({ name: "cp-denied", releaseId, selection: "hardware==rev-a", approval: true, start: true });
    await waitFor("waiting for approval", async () => ((await campaign(denied.id)).status === "waiting_for_approval" ? true : undefined), 10_000, 100);
    expect((await command(denied.id, "deny")).status).to.equal("denied");
    await apiError(command(denied.id, "start"), 409, "denied");

    const c = await create({ name: "cp-approved", releaseId, selection: "hardware==rev-a", groups: 2, approval: true, start: true });
    await waitFor("waiting for approval", async () => ((await campaign(c.id)).status === "waiting_for_approval" ? true : undefined), 10_000, 100);
    expect((await h.hawkbit.getRollout(c.hawkbitRolloutId!)).status).to.equal("ready");
    // Four eyes: whoever created or started it cannot approve it; the refusal is audited.
    await apiError(command(c.id, "approve"), 403, "four_eyes");
    const approver = await h.clientAs("approver");
    expect(await h.db.auditEvent.count({ where: { action: "access.denied", subject: `POST /api/v1/campaigns/${c.id}/approve` } })).to.equal(1);
    await approver.request("POST", `/api/v1/campaigns/${c.id}/approve`);
    await waitFor("running", async () => ((await campaign(c.id)).status === "running" ? true : undefined), 10_000, 100);
    expect((await command(c.id, "pause")).pausedBy).to.equal("operator");
    expect((await h.hawkbit.getRollout(c.hawkbitRolloutId!)).status).to.equal("paused");
    expect((await command(c.id, "resume")).status).to.equal("running");
    expect((await h.hawkbit.getRollout(c.hawkbitRolloutId!)).status).to.equal("running");
    expect((await command(c.id, "stop")).status).to.equal("stopped");
    // hawkBit 1.x's rollout stop (not a delete): STOPPING, then STOPPED once its open actions are cancelled.
    expect(["stopping", "stopped"]).to.include((await h.hawkbit.getRollout(c.hawkbitRolloutId!)).status);
    await apiError(command(c.id, "start"), 409, "stopped");
    await apiError(command(c.id, "resume"), 409, "stopped");
  });

  it("health gate: advances only after the group's devices stayed healthy for the soak time; holds on an unhealthy one", async () => {
    const artifact = await h.addArtifact("rootfs-3.swu", Buffer.from("image 3"));
    const release = await h.api.createRelease({ name: "cp-os", version: "3", artifacts: [artifact] });
    const devices = fleet.slice(0, 6);
    const c = await create({ name: "cp-gated", releaseId: release.id, selection: "controllerId=in=(cp-01,cp-02,cp-03,cp-04,cp-05,cp-06)", stages: [34, 67, 100], healthGate: { soakSeconds: 2 }, start: true });
    const rolloutId = c.hawkbitRolloutId!;
    const rollout = await h.hawkbit.getRollout(rolloutId);
    expect(rollout).to.include({ totalTargets: 6 });
    const groups = (await h.hawkbit.listRolloutGroups(rolloutId)).content;
    expect(groups.every((g) => g.successAction?.action === "PAUSE")).to.equal(true);

    // Group 1 succeeds; hawkBit pauses; Aerie waits out the soak time before the second group starts.
    const first = await runDevices(devices, h.hawkbit, async () => {
      const v = await campaign(c.id);
      return v.pausedBy === "health-gate" ? v : undefined;
    });
    expect(first.statusReason).to.contain("waiting for stage-1");
    const firstDone = Math.max(...devices.flatMap((d) => d.actions.map((a) => a.at)));
    const advance = await waitFor("first advance", async () => (await h.db.auditEvent.findFirst({ where: { action: "campaign.group.advance", subject: `campaign:${c.id}` } })) ?? undefined, 20_000, 100);
    expect(advance.at.getTime() - firstDone).to.be.at.least(2000);

    // A device of the second group comes back unhealthy: the campaign holds, naming it.
    const members = (await h.hawkbit.listRolloutGroupTargets(rolloutId, groups[1]!.id)).content.map((t) => t.controllerId);
    for (const d of devices) d.healthy = !members.includes(d.controllerId) || d.controllerId !== members[0];
    const held = await runDevices(devices, h.hawkbit, async () => {
      const v = await campaign(c.id);
      return v.gate?.unhealthy.length ? v : undefined;
    });
    expect(held).to.include({ status: "paused", pausedBy: "health-gate" });
    expect(held.gate!.unhealthy).to.deep.equal([members[0]]);
    expect(held.statusReason).to.contain(`${members[0]} reported unhealthy`);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await h.hawkbit.getRolloutGroup(rolloutId, groups[2]!.id)).status).to.equal("scheduled");

    // The operator decides to go on.
    await command(c.id, "resume");
    await until(c.id, "finished", devices);
  });

  it("pacing: at most N devices per interval, next group only after the interval", async () => {
    const artifact = await h.addArtifact("rootfs-4.swu", Buffer.from("image 4"));
    const release = await h.api.createRelease({ name: "cp-os", version: "4", artifacts: [artifact] });
    const c = await create({ name: "cp-paced", releaseId: release.id, selection: "version.rootfs==1.0.0", pacing: { devices: 2, intervalSeconds: 2, rampFactor: 2, maxDevices: 4 }, start: true });
    const groups = (await h.hawkbit.listRolloutGroups(c.hawkbitRolloutId!)).content;
    expect(groups.map((g) => g.totalTargets)).to.deep.equal([2, 4, 4]);
    await until(c.id, "finished", fleet);
    // Aerie started the rollout and then each next group (hawkBit starts a group only then) no sooner than 2 s apart.
    const events = await h.db.auditEvent.findMany({ where: { subject: `campaign:${c.id}`, action: { in: ["campaign.starting", "campaign.group.advance"] } }, orderBy: { id: "asc" } });
    const starts = events.map((e) => (e.details as { at: number }).at);
    expect(starts).to.have.length(3);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!, `group ${i + 1}`).to.be.at.least(2000);
    // And no device of a later group was offered its update before its group's start.
    for (const [i, g] of groups.entries()) {
      const members = (await h.hawkbit.listRolloutGroupTargets(c.hawkbitRolloutId!, g.id)).content.map((t) => t.controllerId);
      for (const d of fleet.filter((x) => members.includes(x.controllerId))) expect(d.actions[d.actions.length - 1]!.at).to.be.at.least(starts[i]!);
    }
  });

  it("retries the failed devices of a finished campaign with a hawkBit retry rollout", async () => {
    const artifact = await h.addArtifact("rootfs-5.swu", Buffer.from("image 5"));
    const release = await h.api.createRelease({ name: "cp-os", version: "5", artifacts: [artifact] });
    const c = await create({ name: "cp-retry", releaseId: release.id, selection: "hardware==rev-a", groups: 1, errorThreshold: 100, start: true });
    const [bad, good] = [fleet[8]!, fleet[9]!];
    // The first attempt of cp-09 fails.
    const failOnce = async () => {
      const base = await (await fetch(`${h.standin.url}/DEFAULT/controller/v1/${bad.controllerId}`, { headers: { Authorization: "GatewayToken gw-token-123", Accept: "application/json" } })).json();
      const href = base._links?.deploymentBase?.href as string | undefined;
      if (!href) return undefined;
      const actionId = Number(/deploymentBase\/(\d+)/.exec(href)![1]);
      await fetch(`${h.standin.url}/DEFAULT/controller/v1/${bad.controllerId}/deploymentBase/${actionId}/feedback`, {
        method: "POST", headers: { Authorization: "GatewayToken gw-token-123", "Content-Type": "application/json" },
        body: JSON.stringify({ status: { execution: "closed", result: { finished: "failure" }, details: ["flash error"] } }),
      });
      return true;
    };
    await waitFor("cp-09's action", failOnce, 10_000, 100);
    await until(c.id, "finished", [good]);
    await apiError(command(c.id, "pause"), 409);
    const retried = await command(c.id, "retry");
    expect(retried.hawkbitRolloutId).to.not.equal(c.hawkbitRolloutId);
    expect((await h.hawkbit.getRollout(retried.hawkbitRolloutId!)).name).to.equal(`aerie-${c.id}_retry`);
    const done = await until(c.id, "finished", [bad]);
    expect(done.devices.find((d) => d.controllerId === bad.controllerId)?.status).to.equal("success");
    await apiError(command(c.id, "retry"), 409, "no device failed");
  });

  it("sent hawkBit only conformant requests and got only conformant answers", () => {
    h.standin.assertConformant();
  });
});

// Aerie learns that hawkBit runs a rollout up to a reconciler pass after starting it, while devices may already
// update; here the test chooses when passes happen.
describe("campaigns: pause before Aerie saw the rollout run", function () {
  this.timeout(60_000);
  let h: CampaignHarness;
  let releaseId: string;
  const campaign = (id: string) => h.api.request<Campaign & { startedAt: string | null }>("GET", `/api/v1/campaigns/${id}`);
  const command = (id: string, verb: string) => h.api.request<Campaign>("POST", `/api/v1/campaigns/${id}/${verb}`);
  const rolloutStatus = async (c: Campaign) => (await h.hawkbit.getRollout(c.hawkbitRolloutId!)).status;
  const startedInAerie = async (name: string): Promise<Campaign> => {
    const created = await h.api.request<Campaign>("POST", "/api/v1/campaigns", { name, releaseId, selection: "hardware==rev-p", start: true });
    for (let pass = 0; pass < 10; pass++) {
      const c = await campaign(created.id);
      if (c.status === "starting") return c;
      await h.reconcile();
    }
    throw new Error(`campaign ${name} did not reach starting: ${(await campaign(created.id)).status}`);
  };

  before(async () => {
    h = await startCampaignHarness({ monitorIntervalMs: 3_600_000 });
    for (const id of ["ps-1", "ps-2"]) await new DdiDevice(id, h.standin.url, h.db, { hardware: "rev-p", "version.rootfs": "1.0.0" }).register();
    const artifact = await h.addArtifact("rootfs-3.swu", Buffer.from("image 3"));
    releaseId = (await h.api.createRelease({ name: "ps-os", version: "3", artifacts: [artifact] })).id;
  });

  after(async () => {
    await h?.dispose();
  });

  it("pauses a starting campaign, keeps hawkBit paused and records the start on the next pass", async () => {
    const c = await startedInAerie("ps-paused");
    await waitFor("hawkBit runs the rollout", async () => (["running", "paused"].includes(await rolloutStatus(c)) ? true : undefined), 10_000, 50);
    const paused = await command(c.id, "pause");
    expect([paused.status, paused.pausedBy]).to.deep.equal(["paused", "operator"]);
    expect(await rolloutStatus(c)).to.equal("paused");

    // A resume done in hawkBit, not through Aerie, is undone: the operator's pause holds.
    await h.hawkbit.resumeRollout(c.hawkbitRolloutId!);
    expect(await rolloutStatus(c)).to.equal("running");
    await h.reconcile();
    expect(await rolloutStatus(c)).to.equal("paused");
    const recorded = await campaign(c.id);
    expect(recorded.status).to.equal("paused");
    expect(recorded.startedAt).to.be.a("string");

    expect((await command(c.id, "resume")).status).to.equal("running");
    expect(await rolloutStatus(c)).to.equal("running");
    await command(c.id, "stop");
  });

  it("resumed before a pass saw it run, it goes back to starting and then runs", async () => {
    const c = await startedInAerie("ps-resumed");
    expect((await command(c.id, "pause")).status).to.equal("paused");
    const resumed = await command(c.id, "resume");
    expect(resumed.status).to.equal("starting");
    await waitFor("hawkBit runs the rollout", async () => ((await rolloutStatus(c)) === "running" ? true : undefined), 10_000, 50);
    await h.reconcile();
    const running = await campaign(c.id);
    expect(running.status).to.equal("running");
    expect(running.startedAt).to.be.a("string");
    await command(c.id, "stop");
  });

  it("a reconciler pass and an operator's resume do not interleave on one campaign", async () => {
    const c = await startedInAerie("ps-interleave");
    await waitFor("hawkBit runs the rollout", async () => ((await rolloutStatus(c)) === "running" ? true : undefined), 10_000, 50);
    await h.reconcile();
    await command(c.id, "pause");
    expect(await rolloutStatus(c)).to.equal("paused");
    // The pass reads the campaign (paused by the operator), then waits for hawkBit's answer about the rollout…
    const held = h.proxy.holdNext("GET", `/rest/v1/rollouts/${c.hawkbitRolloutId}`);
    const pass = h.reconcile();
    await held.arrived;
    // …while the operator resumes. Interleaved, the pass would pause hawkBit again on what it had read.
    const resumed = command(c.id, "resume");
    await new Promise((resolve) => setTimeout(resolve, 300));
    held.release();
    await pass;
    expect((await resumed).status).to.equal("running");
    expect(await rolloutStatus(c)).to.equal("running");
    await h.reconcile();
    expect(await rolloutStatus(c)).to.equal("running");
    expect((await campaign(c.id)).status).to.equal("running");
    await command(c.id, "stop");
  });

  it("still refuses to pause a campaign that was never started", async () => {
    const created = await h.api.request<Campaign>("POST", "/api/v1/campaigns", { name: "ps-idle", releaseId, selection: "hardware==rev-p" });
    await h.reconcile();
    await apiError(command(created.id, "pause"), 409, "only a started campaign can be paused");
  });

  it("sent hawkBit only conformant requests and got only conformant answers", () => {
    h.standin.assertConformant();
  });
});
