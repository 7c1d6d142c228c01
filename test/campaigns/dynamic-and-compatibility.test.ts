// Campaigns that keep including devices registered after their start (hawkBit dynamic rollouts), releases that fit
// only some hardware types and installed versions, and the rollout options passed through to hawkBit; against the
// conformant hawkBit stand-in, devices polling DDI.
import { expect } from "chai";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { type CampaignHarness, DdiDevice, apiError, runDevices, startCampaignHarness } from "./harness.js";

type Campaign = {
  id: string; status: string; hawkbitRolloutId: number | null;
  progress: { devices: number; excluded: number; byStatus: Record<string, number>; groups: { name: string; status: string; totalTargets: number }[] };
  devices: { controllerId: string; group: string | null; status: string }[];
  excluded: { controllerId: string; reason: string }[];
};
type Release = { id: string; hardwareTypes: string[] | null; upgradableFrom: string[]; versionComponent: string; artifacts: { id: string; hardwareType: string | null }[] };

describe("campaigns: dynamic campaigns, release compatibility, rollout options", function () {
  this.timeout(120_000);
  let h: CampaignHarness;

  const campaign = (id: string) => h.api.request<Campaign>("GET", `/api/v1/campaigns/${id}`);
  const create = (body: object) => h.api.request<Campaign>("POST", "/api/v1/campaigns", body);
  const createRelease = (body: object) => h.api.request<Release>("POST", "/api/v1/releases", body);
  const device = async (controllerId: string, attributes: Record<string, string>) => {
    const d = new DdiDevice(controllerId, h.standin.url, h.db, attributes);
    await d.register();
    return d;
  };
  const release = async (version: string, extra: object = {}) => {
    const artifact = await h.addArtifact(`dc-${version}.swu`, Buffer.from(`image ${version}`));
    return createRelease({ name: "dc-os", version, artifacts: [artifact], ...extra });
  };

  before(async () => {
    h = await startCampaignHarness();
  });

  after(async () => {
    await h?.dispose();
  });

  it("refuses out-of-range thresholds and weights, and dynamic with explicit groups, with a reason", async () => {
    const { id: releaseId } = await release("0");
    await apiError(create({ name: "x", releaseId, selection: "hardware==rev-d", errorThreshold: 101 }), 400, "errorThreshold");
    await apiError(create({ name: "x", releaseId, selection: "hardware==rev-d", successThreshold: 0 }), 400, "successThreshold");
    await apiError(create({ name: "x", releaseId, selection: "hardware==rev-d", weight: 1001 }), 400, "weight");
    await apiError(create({ name: "x", releaseId, selection: "hardware==rev-d", actionType: "timeforced" }), 400, "forceTime is required");
    await apiError(create({ name: "x", releaseId, selection: "hardware==rev-d", stages: [50, 100], dynamic: { groupSize: 2 } }), 400, "equal split");
    await apiError(create({ name: "x", releaseId, selection: "hardware==rev-d", dynamic: { groupSize: 0 } }), 400, "groupSize");
  });

  it("a dynamic campaign updates a device registered after its start, with the campaign's type, force time and weight", async () => {
    const early = [await device("dc-01", { hardware: "rev-d" }), await device("dc-02", { hardware: "rev-d" })];
    const { id: releaseId } = await release("1");
    const forceTime = new Date(Date.now() + 3_600_000).toISOString();
    const c = await create({
      name: "dc-dynamic", releaseId, selection: "hardware==rev-d", groups: 1, dynamic: { groupSize: 2 },
      actionType: "timeforced", forceTime, weight: 700, start: true,
    });
    const rollout = await h.hawkbit.getRollout(c.hawkbitRolloutId!);
    expect(rollout).to.include({ dynamic: true, type: "timeforced", forcetime: Date.parse(forceTime), weight: 700, totalTargets: 2 });
    await runDevices(early, h.hawkbit, async () => ((await campaign(c.id)).progress.byStatus.success === 2 ? true : undefined));
    // The monitor records hawkBit's "running" on its next pass, which may come after the devices finished.
    const afterStatic = await waitFor("the campaign to run", async () => {
      const view = await campaign(c.id);
      return view.status === "starting" ? undefined : view;
    }, 10_000, 100);
    expect(afterStatic.status, "a dynamic campaign stays open").to.equal("running");

    const late = await device("dc-03", { hardware: "rev-d" });
    const other = await device("dc-04", { hardware: "rev-e" });
    const done = await runDevices([...early, late, other], h.hawkbit, async () => {
      const v = await campaign(c.id);
      return v.devices.some((d) => d.controllerId === "dc-03" && d.status === "success") ? v : undefined;
    });
    expect(done.status).to.equal("running");
    expect(done.devices.find((d) => d.controllerId === "dc-03")?.group).to.equal("group-2-dynamic");
    expect(done.devices.map((d) => d.controllerId).sort()).to.deep.equal(["dc-01", "dc-02", "dc-03"]);
    expect(other.actions, "a device outside the selection is left alone").to.deep.equal([]);
    const action = await h.hawkbit.getTargetAction("dc-03", late.actions[0]!.actionId);
    expect(action).to.include({ forceType: "timeforced", forceTime: Date.parse(forceTime), weight: 700 });
    expect((await h.api.request<Campaign>("POST", `/api/v1/campaigns/${c.id}/stop`)).status).to.equal("stopped");
  });

  it("a campaign selecting no device yet starts empty when dynamic, and takes devices as they come", async () => {
    const { id: releaseId } = await release("2");
    await apiError(create({ name: "dc-empty-static", releaseId, selection: "hardware==rev-f" }), 400, "does not match any");
    const c = await create({ name: "dc-empty", releaseId, selection: "hardware==rev-f", dynamic: { groupSize: 5, nameSuffix: "-new" }, start: true });
    expect((await h.hawkbit.getRollout(c.hawkbitRolloutId!)).totalTargets).to.equal(0);
    const first = await device("dc-10", { hardware: "rev-f" });
    const done = await runDevices([first], h.hawkbit, async () => {
      const v = await campaign(c.id);
      return v.progress.byStatus.success === 1 ? v : undefined;
    });
    expect(done.devices[0]).to.include({ controllerId: "dc-10", group: "group-1-new", status: "success" });
    await h.api.request("POST", `/api/v1/campaigns/${c.id}/stop`);
  });

  it("releases carry archives per hardware type and upgradable-from versions; campaigns leave out devices they do not fit, saying why", async () => {
    const fits = await device("rc-01", { hardware: "rev-a", "version.rootfs": "1.0.3" });
    const tooOld = await device("rc-02", { hardware: "rev-a", "version.rootfs": "0.9.0" });
    const otherHardware = await device("rc-03", { hardware: "rev-c", "version.rootfs": "1.0.0" });
    const forA = await h.addArtifact("rc-rev-a.swu", Buffer.from("rev-a image"));
    const forB = await h.addArtifact("rc-rev-b.swu", Buffer.from("rev-b image"));
    const r = await createRelease({ name: "rc-os", version: "1.1.0", archives: [{ hardwareType: "rev-a", artifactId: forA }, { hardwareType: "rev-b", artifactId: forB }], upgradableFrom: ["1.0.*"] });
    expect(r).to.include({ versionComponent: "rootfs" });
    expect(r.hardwareTypes).to.deep.equal(["rev-a", "rev-b"]);
    expect(r.upgradableFrom).to.deep.equal(["1.0.*"]);
    expect(Object.fromEntries(r.artifacts.map((a) => [a.id, a.hardwareType]))).to.deep.equal({ [forA]: "rev-a", [forB]: "rev-b" });
    expect((await h.api.request<Release>("GET", `/api/v1/releases/${r.id}`)).hardwareTypes).to.deep.equal(["rev-a", "rev-b"]);

    const c = await create({ name: "rc-campaign", releaseId: r.id, selection: "controllerId==rc-*", groups: 1, start: true });
    expect((await h.hawkbit.getRollout(c.hawkbitRolloutId!)).totalTargets).to.equal(1);
    const done = await runDevices([fits, tooOld, otherHardware], h.hawkbit, async () => {
      const v = await campaign(c.id);
      return v.status === "finished" ? v : undefined;
    });
    expect(done.devices.map((d) => [d.controllerId, d.status])).to.deep.equal([["rc-01", "success"]]);
    expect(done.progress.excluded).to.equal(2);
    const reasons = Object.fromEntries(done.excluded.map((e) => [e.controllerId, e.reason]));
    expect(Object.keys(reasons).sort()).to.deep.equal(["rc-02", "rc-03"]);
    expect(reasons["rc-02"]).to.contain("not one release rc-os 1.1.0 updates from (1.0.*)");
    expect(reasons["rc-03"]).to.contain("no archive for this hardware (only rev-a, rev-b)");
    expect(tooOld.actions).to.deep.equal([]);
    expect(otherHardware.actions).to.deep.equal([]);

    // Nothing left to update: hawkBit's refusal, with its reason.
    await apiError(create({ name: "rc-none", releaseId: r.id, selection: "controllerId==rc-02" }), 400, "does not match any");
    // An archive's hardware type must agree with the one given at upload.
    const uploaded = await h.db.artifact.update({ where: { id: await h.addArtifact("rc-typed.swu", Buffer.from("typed")) }, data: { hardwareType: "rev-x" } });
    await apiError(createRelease({ name: "rc-os", version: "1.2.0", archives: [{ hardwareType: "rev-y", artifactId: uploaded.id }] }), 400, "uploaded for rev-x");
    await apiError(createRelease({ name: "rc-os", version: "1.2.0", upgradableFrom: ["1.0"] }), 400, "artifacts");
  });

  it("sent hawkBit only conformant requests and got only conformant answers", () => {
    h.standin.assertConformant();
  });
});
