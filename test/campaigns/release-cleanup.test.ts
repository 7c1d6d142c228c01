// A release hawkBit refuses half-way (here: the artifact's checksum) leaves no software module or distribution
// set behind in hawkBit.
import { createHash } from "node:crypto";
import { expect } from "chai";
import type { AerieApiError } from "../../scripts/lib/aerie-client.js";
import { type CampaignHarness, startCampaignHarness } from "./harness.js";

describe("releases: no orphans in hawkBit after a refused provisioning", function () {
  this.timeout(120_000);
  let h: CampaignHarness;

  before(async () => {
    h = await startCampaignHarness();
  });

  after(async () => {
    await h?.dispose();
  });

  it("deletes the software module it created when hawkBit refuses the artifact", async () => {
    const good = await h.addArtifact("rc-a.swu", Buffer.from("good bytes"));
    const bad = await h.addArtifact("rc-b.swu", Buffer.from("other bytes"));
    // The row claims a sha256 the bytes do not have: hawkBit rejects the upload with 400.
    await h.db.artifact.update({ where: { id: bad }, data: { sha256: createHash("sha256").update("not these").digest("hex") } });
    // Signed as claimed, so Aerie's signature check passes and hawkBit is the one to refuse.
    await h.sign(bad);
    const error = await h.api.createRelease({ name: "rc-os", version: "1", artifacts: [good, bad] }).catch((e: AerieApiError) => e);
    expect((error as AerieApiError).status).to.equal(400);
    const release = await h.db.release.findFirstOrThrow({ where: { name: "rc-os", version: "1" } });
    expect(release).to.include({ status: "failed", hawkbitSoftwareModuleId: null, hawkbitDistributionSetId: null });
    expect((await h.hawkbit.listSoftwareModules({ q: "name==rc-os" })).total).to.equal(0);
    expect((await h.hawkbit.listDistributionSets({ q: "name==rc-os" })).total).to.equal(0);
    const audit = await h.db.auditEvent.findFirstOrThrow({ where: { action: "release.failed", subject: `release:${release.id}` } });
    expect((audit.details as { removed: { softwareModule?: number } }).removed.softwareModule).to.be.a("number");

    // The operator fixes the artifact and creates the release again: it provisions cleanly.
    await h.db.artifact.update({ where: { id: bad }, data: { sha256: createHash("sha256").update("other bytes").digest("hex"), releaseId: null } });
    await h.db.artifact.update({ where: { id: good }, data: { releaseId: null } });
    await h.sign(bad);
    const again = await h.api.createRelease({ name: "rc-os", version: "1", artifacts: [good, bad] });
    expect(again.hawkbitDistributionSetId).to.be.a("number");
    expect((await h.hawkbit.listSoftwareModules({ q: "name==rc-os" })).total).to.equal(1);
  });

  it("sent hawkBit only conformant requests", () => {
    h.standin.assertConformant();
  });
});
