// Stuck devices: a campaign with a stuck timeout fails, through DDI, the device that stopped reporting after its
// download and the one that never picked its action up, naming the timeout; Aerie's rows and progress count them.
import { expect } from "chai";
import { CREDENTIALS } from "../helpers/hawkbit-conformance.js";
import { type CampaignHarness, DdiDevice, runDevices, startCampaignHarness } from "./harness.js";

type Campaign = {
  id: string; status: string; hawkbitRolloutId: number;
  progress: { byStatus: Record<string, number>; timedOut: number };
  devices: { controllerId: string; status: string; detail: string | null; actionId: number }[];
};

describe("campaigns: stuck-device timeout", function () {
  this.timeout(120_000);
  let h: CampaignHarness;

  before(async () => {
    h = await startCampaignHarness();
  });

  after(async () => {
    await h?.dispose();
  });

  it("fails a device stuck in a state and one that never reports, per-state limits first", async () => {
    const [ok, stuck, silent] = ["st-ok", "st-stuck", "st-silent"].map((id) => new DdiDevice(id, h.standin.url, h.db, { hardware: "rev-s" }));
    for (const d of [ok!, stuck!, silent!]) await d.register();
    stuck!.stuck = true;
    const artifact = await h.addArtifact("st.swu", Buffer.from("stuck image"));
    const release = await h.api.createRelease({ name: "st-os", version: "1", artifacts: [artifact] });
    const created = await h.api.request<Campaign>("POST", "/api/v1/campaigns", {
      name: "st-campaign", releaseId: release.id, selection: "hardware==rev-s", groups: 1, errorThreshold: 100,
      stuckTimeoutSeconds: 1, stuckTimeoutPerState: { downloading: 3 }, start: true,
    });
    // The silent device never polls; the stuck one reports "downloading" once and then nothing.
    const done = await runDevices([ok!, stuck!], h.hawkbit, async () => {
      const c = await h.api.request<Campaign>("GET", `/api/v1/campaigns/${created.id}`);
      return c.status === "finished" ? c : undefined;
    });
    const byId = new Map(done.devices.map((d) => [d.controllerId, d]));
    expect(byId.get("st-ok")!.status).to.equal("success");
    expect(byId.get("st-stuck")!.status).to.equal("failure");
    expect(byId.get("st-stuck")!.detail).to.match(/^timed out: .*3s in state downloading/);
    expect(byId.get("st-silent")!.status).to.equal("failure");
    expect(byId.get("st-silent")!.detail).to.match(/^timed out: .*1s in state running/);
    expect(done.progress.timedOut).to.equal(2);
    expect(done.progress.byStatus).to.deep.equal({ success: 1, failure: 2 });

    const rollout = await h.hawkbit.getRollout(done.hawkbitRolloutId);
    expect(rollout.totalTargetsPerStatus).to.include({ finished: 1, error: 2 });
    // hawkBit recorded the closing feedback with the reason, as the device's own history shows.
    for (const id of ["st-stuck", "st-silent"]) {
      const action = byId.get(id)!.actionId;
      expect((await h.hawkbit.getTargetAction(id, action)).status).to.equal("error");
      const res = await fetch(`${h.standin.url}/${CREDENTIALS.tenant}/controller/v1/${id}/deploymentBase/${action}?actionHistory=-1`, {
        headers: { Authorization: `GatewayToken ${CREDENTIALS.gatewayToken}`, Accept: "application/json" },
      });
      const body = (await res.json()) as { actionHistory: { status: string; messages: string[] } };
      expect(body.actionHistory.messages.some((m) => m.includes("campaign stuck timeout")), JSON.stringify(body.actionHistory)).to.equal(true);
    }
    const audits = await h.db.auditEvent.findMany({ where: { action: "device.timeout" } });
    expect(audits.map((a) => a.subject).sort()).to.deep.equal(["device:st-silent", "device:st-stuck"]);
  });

  it("sent hawkBit only conformant requests", () => {
    h.standin.assertConformant();
  });
});
