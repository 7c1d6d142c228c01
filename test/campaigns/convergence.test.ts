// Aerie killed between any two hawkBit calls converges: for every mutating hawkBit call of "create a release,
// create and start a campaign", that call reaches hawkBit but its answer never reaches Aerie, Aerie is killed
// right there (API and reconciler dropped with all in-memory state) and started again on the same database.
// Afterwards there is exactly one software module, distribution set and rollout per release/campaign, no rollout
// without a campaign, and the campaign runs.
import { expect } from "chai";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { type CampaignHarness, DdiDevice, startCampaignHarness } from "./harness.js";

type View = { id: string; status: string; hawkbitRolloutId: number | null };

describe("campaigns: convergence after Aerie is killed between hawkBit calls", function () {
  this.timeout(300_000);
  let h: CampaignHarness;

  before(async () => {
    h = await startCampaignHarness();
    for (const id of ["cv-1", "cv-2"]) await new DdiDevice(id, h.standin.url, h.db, { hardware: "rev-c" }).register();
  });

  after(async () => {
    await h?.dispose();
  });

  /** The operator's flow; returns the campaign id if the campaign row was created. */
  async function flow(version: string): Promise<void> {
    const artifact = await h.addArtifact(`cv-${version}.swu`, Buffer.from(`image ${version}`));
    await h.api.createRelease({ name: "cv-os", version, artifacts: [artifact] });
    const release = await h.db.release.findFirstOrThrow({ where: { name: "cv-os", version } });
    await h.api.request("POST", "/api/v1/campaigns", { name: `cv-${version}`, releaseId: release.id, selection: "hardware==rev-c", groups: 2, start: true });
  }

  async function converged(version: string): Promise<View> {
    const release = await waitFor(`release ${version} ready`, async () => {
      const r = await h.db.release.findFirst({ where: { name: "cv-os", version } });
      return r?.status === "ready" ? r : undefined;
    }, 20_000, 100);
    // An operator whose create call failed at the release step tries the campaign again.
    if (!(await h.db.campaign.findUnique({ where: { name: `cv-${version}` } }))) {
      await h.api.request("POST", "/api/v1/campaigns", { name: `cv-${version}`, releaseId: release.id, selection: "hardware==rev-c", groups: 2, start: true });
    }
    const id = (await h.db.campaign.findUniqueOrThrow({ where: { name: `cv-${version}` } })).id;
    return waitFor(`campaign ${version} running`, async () => {
      const view = await h.api.request<View>("GET", `/api/v1/campaigns/${id}`);
      return view.status === "running" ? view : undefined;
    }, 20_000, 100);
  }

  async function assertNoDuplicates(version: string, view: View): Promise<void> {
    expect((await h.hawkbit.listSoftwareModules({ q: `name==cv-os;version==${version}` })).total, "software modules").to.equal(1);
    expect((await h.hawkbit.listDistributionSets({ q: `name==cv-os;version==${version}` })).total, "distribution sets").to.equal(1);
    const rollouts = (await h.hawkbit.listRollouts({ q: `name==aerie-${view.id}` })).content;
    expect(rollouts.map((r) => r.id), "rollouts").to.deep.equal([view.hawkbitRolloutId]);
    const campaigns = new Set((await h.db.campaign.findMany()).map((c) => `aerie-${c.id}`));
    const all = [];
    for await (const r of h.hawkbit.paginate((q) => h.hawkbit.listRollouts(q))) all.push(r.name);
    expect(all.filter((name) => !campaigns.has(name)), "rollouts without a campaign").to.deep.equal([]);
  }

  it("a clean run makes each hawkBit entity once", async () => {
    const before = h.proxy.mutations.length;
    await flow("0");
    const view = await converged("0");
    await assertNoDuplicates("0", view);
    const calls = h.proxy.mutations.slice(before).map((m) => `${m.method} ${m.url.replace(/\d+/g, "N").replace(/\?.*/, "")}`);
    expect(calls).to.deep.equal([
      "POST /rest/vN/softwaremodules", "POST /rest/vN/softwaremodules/N/artifacts", "POST /rest/vN/distributionsets",
      "POST /rest/vN/rollouts", "POST /rest/vN/rollouts/N/start",
    ]);
  });

  for (let step = 1; step <= 5; step++) {
    it(`converges when Aerie dies after mutating hawkBit call ${step} of 5`, async () => {
      const version = String(step);
      h.proxy.loseAnswerOf(step);
      await flow(version).catch(() => undefined);
      await h.kill();
      await h.start();
      const view = await converged(version);
      await assertNoDuplicates(version, view);
    });
  }

  it("sent hawkBit only conformant requests", () => {
    h.standin.assertConformant();
  });
});
