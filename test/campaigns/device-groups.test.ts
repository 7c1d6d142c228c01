// Device groups as a campaign's selection: a list of devices becomes a hawkBit target tag, a filter is translated
// like a selection; hawkBit's refusal (unknown device) leaves neither a group nor a tag behind.
import { expect } from "chai";
import { AerieApiError } from "../../scripts/lib/aerie-client.js";
import { type CampaignHarness, DdiDevice, runDevices, startCampaignHarness } from "./harness.js";

type Group = { name: string; status: string; targetFilter: string; hawkbitTagId: number | null; devices: string[] };

describe("campaigns: device groups", function () {
  this.timeout(120_000);
  let h: CampaignHarness;
  const fleet: DdiDevice[] = [];

  before(async () => {
    h = await startCampaignHarness();
    for (let i = 1; i <= 4; i++) {
      const d = new DdiDevice(`dg-${i}`, h.standin.url, h.db, { hardware: i % 2 ? "odd" : "even" });
      await d.register();
      fleet.push(d);
    }
  });

  after(async () => {
    await h?.dispose();
  });

  it("keeps a list of devices as a hawkBit target tag and rolls a campaign out to exactly those", async () => {
    const group = await h.api.request<Group>("POST", "/api/v1/device-groups", { name: "canary", devices: ["dg-1", "dg-4"] });
    expect(group).to.include({ name: "canary", status: "ready", targetFilter: "tag==aerie-group-canary" });
    const tagged = await h.hawkbit.listTargetTagTargets(group.hawkbitTagId!);
    expect(tagged.content.map((t) => t.controllerId).sort()).to.deep.equal(["dg-1", "dg-4"]);
    expect((await h.api.request<Group[]>("GET", "/api/v1/device-groups")).map((g) => g.name)).to.deep.equal(["canary"]);
    await h.api.request("POST", "/api/v1/device-groups", { name: "canary", devices: ["dg-2"] }).then(
      () => expect.fail("duplicate accepted"), (e: AerieApiError) => expect(e.status).to.equal(409));

    const artifact = await h.addArtifact("dg.swu", Buffer.from("group image"));
    const release = await h.api.createRelease({ name: "dg-os", version: "1", artifacts: [artifact] });
    const c = await h.api.request<{ id: string; hawkbitRolloutId: number }>("POST", "/api/v1/campaigns", { name: "dg-canary", releaseId: release.id, selection: { group: "canary" }, groups: 1, start: true });
    const rollout = await h.hawkbit.getRollout(c.hawkbitRolloutId);
    expect(rollout).to.include({ targetFilterQuery: "tag==aerie-group-canary", totalTargets: 2 });
    const done = await runDevices(fleet, h.hawkbit, async () => {
      const v = await h.api.request<{ status: string; devices: { controllerId: string }[] }>("GET", `/api/v1/campaigns/${c.id}`);
      return v.status === "finished" ? v : undefined;
    });
    expect(done.devices.map((d) => d.controllerId).sort()).to.deep.equal(["dg-1", "dg-4"]);
  });

  it("translates a filter group like a selection", async () => {
    const group = await h.api.request<Group>("POST", "/api/v1/device-groups", { name: "evens", filter: "hardware==even" });
    expect(group).to.include({ status: "ready", targetFilter: "attribute.hardware==even", hawkbitTagId: null });
    const artifact = await h.addArtifact("dg2.swu", Buffer.from("group image 2"));
    const release = await h.api.createRelease({ name: "dg-os", version: "2", artifacts: [artifact] });
    const c = await h.api.request<{ hawkbitRolloutId: number }>("POST", "/api/v1/campaigns", { name: "dg-evens", releaseId: release.id, selection: { group: "evens" } });
    expect((await h.hawkbit.getRollout(c.hawkbitRolloutId)).totalTargets).to.equal(2);
  });

  it("refuses unknown groups and devices hawkBit does not know, leaving no tag", async () => {
    const refused = await h.api.request("POST", "/api/v1/device-groups", { name: "ghosts", devices: ["dg-1", "nobody"] }).catch((e: AerieApiError) => e);
    expect((refused as AerieApiError).status).to.equal(400);
    expect(await h.db.deviceGroup.findUnique({ where: { name: "ghosts" } })).to.equal(null);
    expect(await h.hawkbit.findTargetTag("aerie-group-ghosts")).to.equal(undefined);
    const release = await h.db.release.findFirstOrThrow({ where: { name: "dg-os" } });
    const missing = await h.api.request("POST", "/api/v1/campaigns", { name: "dg-none", releaseId: release.id, selection: { group: "nope" } }).catch((e: AerieApiError) => e);
    expect((missing as AerieApiError).status).to.equal(404);
    await h.api.request("POST", "/api/v1/device-groups", { name: "both", devices: ["dg-1"], filter: "hardware==odd" }).then(
      () => expect.fail("accepted"), (e: AerieApiError) => expect(e.status).to.equal(400));
  });

  it("sent hawkBit only conformant requests", () => {
    h.standin.assertConformant();
  });
});
