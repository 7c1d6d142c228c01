// Deployment notices at fan-out scale: one DDI call per rollout and distribution set, each device's own
// action id and hawkBit link, and no sharing where hawkBit's answer may differ (another rollout, or an
// action outside any rollout).
import { expect } from "chai";
import type { DdiDeployment, HawkbitDeviceChannel } from "../../hawkbit/channel.js";
import { NoticeBuilder } from "../../bridge/notices.js";
import type { Database } from "../../core/db/prisma.js";
import type { ArtifactStore } from "../../core/storage/artifact-store.js";

function builder() {
  const ddiCalls: string[] = [];
  let presigns = 0;
  const deployment = (controllerId: string, actionId: number, type: DdiDeployment["type"]): DdiDeployment => ({
    actionId, download: "forced", update: "forced", type,
    chunks: [{
      part: "os", name: "os", version: "2.0.0", encrypted: false, metadata: [],
      artifacts: [{ filename: "os.swu", size: 4, hashes: { sha256: "ab".repeat(32) }, links: { downloadHttp: `http://hawkbit/DEFAULT/controller/v1/${controllerId}/softwaremodules/1/artifacts/os.swu` } }],
    }],
  });
  const channel = {
    // Another rollout of the same release is a soft update: what a shared notice must not leak.
    getDeployment: async (controllerId: string, actionId: number) => {
      ddiCalls.push(controllerId);
      if (controllerId.startsWith("missing-")) throw new Error("no deployment");
      // A DMF batch's modules carry the links of its first target, whichever target's deployment this is.
      return deployment(controllerId.startsWith("batch-") ? "batch-first" : controllerId, actionId, controllerId.startsWith("soft") ? "soft" : "forced");
    },
  } as unknown as HawkbitDeviceChannel;
  const db = {
    artifact: {
      findFirst: async () => ({
        s3Key: "artifacts/os.swu", size: 4n, hardwareType: null, release: { name: "os", version: "2.0.0" },
        signatures: [{ format: "raw", algorithm: "rsa-pkcs1v15-sha256", keyName: "aerie-signing", keyVersion: 1, value: "c2lnbmF0dXJl" }],
      }),
    },
  } as unknown as Database;
  const store = { presignDownload: async (key: string) => `http://s3/${key}?signature=${++presigns}` } as unknown as ArtifactStore;
  return { notices: new NoticeBuilder({ db, store, channel, presignTtlSeconds: 900 }), ddiCalls, presigns: () => presigns };
}

const ddiLink = (notice: { artifacts: { offers: { scheme: string; url: string }[] }[] }) => notice.artifacts[0]!.offers.find((o) => o.scheme === "hawkbit-ddi")!.url;

describe("bridge: deployment notices", () => {
  it("builds a rollout's notices from one DDI call, each with the device's own action and hawkBit link", async () => {
    const { notices, ddiCalls, presigns } = builder();
    const a = await notices.build({ actionId: 11, controllerId: "dev-a", consentRequired: false, distributionSetId: 5, rolloutId: 1 });
    const b = await notices.build({ actionId: 12, controllerId: "dev-b", consentRequired: false, distributionSetId: 5, rolloutId: 1 });

    expect(ddiCalls).to.deep.equal(["dev-a"]);
    expect(presigns()).to.equal(1);
    expect([a.actionId, b.actionId]).to.deep.equal([11, 12]);
    expect(ddiLink(a)).to.equal("http://hawkbit/DEFAULT/controller/v1/dev-a/softwaremodules/1/artifacts/os.swu");
    expect(ddiLink(b)).to.equal("http://hawkbit/DEFAULT/controller/v1/dev-b/softwaremodules/1/artifacts/os.swu");
    expect(a.artifacts[0]!.offers[0]).to.deep.include({ scheme: "s3-presigned", url: "http://s3/artifacts/os.swu?signature=1" });
    expect(b.artifacts[0]!.offers[0]).to.deep.equal(a.artifacts[0]!.offers[0]);
  });

  it("names each device in hawkBit's link even when the deployment named another (a DMF batch carries its first target's)", async () => {
    const { notices } = builder();
    const shared = { consentRequired: false, shareKey: "dmf:DOWNLOAD_AND_INSTALL:1" };
    const own = await notices.build({ actionId: 11, controllerId: "batch-b", ...shared });
    expect(ddiLink(own)).to.equal("http://hawkbit/DEFAULT/controller/v1/batch-b/softwaremodules/1/artifacts/os.swu");
    const other = await notices.build({ actionId: 12, controllerId: "batch-c", ...shared });
    expect(ddiLink(other)).to.equal("http://hawkbit/DEFAULT/controller/v1/batch-c/softwaremodules/1/artifacts/os.swu");
  });

  it("asks hawkBit again for another rollout of the same release, and for actions outside a rollout", async () => {
    const { notices, ddiCalls } = builder();
    await notices.build({ actionId: 11, controllerId: "dev-a", consentRequired: false, distributionSetId: 5, rolloutId: 1 });
    const soft = await notices.build({ actionId: 21, controllerId: "soft-a", consentRequired: false, distributionSetId: 5, rolloutId: 2 });
    await notices.build({ actionId: 31, controllerId: "dev-c", consentRequired: false, distributionSetId: 5 });
    await notices.build({ actionId: 32, controllerId: "dev-d", consentRequired: false, distributionSetId: 5 });

    expect(soft.type).to.equal("soft");
    expect(ddiCalls).to.deep.equal(["dev-a", "soft-a", "dev-c", "dev-d"]);
  });
  it("builds a shared notice once when it is prepared ahead and devices ask for it before it is ready", async () => {
    const { notices, ddiCalls, presigns } = builder();
    const shared = { consentRequired: false, shareKey: "dmf:DOWNLOAD_AND_INSTALL:7" };
    const prepared = notices.prepare({ actionId: 11, controllerId: "dev-a", ...shared });
    const [a, b] = await Promise.all([
      notices.build({ actionId: 11, controllerId: "dev-a", ...shared }),
      notices.build({ actionId: 12, controllerId: "dev-b", ...shared }),
    ]);
    await prepared;
    expect(ddiCalls).to.deep.equal(["dev-a"]);
    expect(presigns()).to.equal(1);
    expect(ddiLink(b)).to.equal("http://hawkbit/DEFAULT/controller/v1/dev-b/softwaremodules/1/artifacts/os.swu");
    expect([a.actionId, b.actionId]).to.deep.equal([11, 12]);
  });

  it("gives as payload the same JSON as the notice object, for each device of a shared notice", async () => {
    const { notices, ddiCalls } = builder();
    const withoutTime = (json: string) => ({ ...JSON.parse(json), issuedAt: undefined });
    for (const shared of [{ shareKey: "dmf:DOWNLOAD_AND_INSTALL:9" }, { distributionSetId: 5, rolloutId: 3 }]) {
      for (const [actionId, controllerId] of [[41, "batch-b"], [42, 'dev "quoted" \\ ü/ä'], [43, "\u0000hole2\u0000"]] as const) {
        const ref = { actionId, controllerId, consentRequired: false, ...shared };
        const payload = await notices.payload(ref);
        const object = await notices.build(ref);
        expect(withoutTime(payload)).to.deep.equal({ ...object, issuedAt: undefined });
        expect(Object.keys(JSON.parse(payload))).to.deep.equal(Object.keys(object));
        expect(Date.parse(JSON.parse(payload).issuedAt)).to.be.closeTo(Date.now(), 5000);
        expect(ddiLink(JSON.parse(payload))).to.equal(`http://hawkbit/DEFAULT/controller/v1/${encodeURIComponent(controllerId)}/softwaremodules/1/artifacts/os.swu`);
      }
    }
    expect(ddiCalls).to.have.length(2);
    // Outside a rollout a notice is not shared: one DDI call for it, as with build.
    const own = await notices.payload({ actionId: 51, controllerId: "dev-own", consentRequired: false, distributionSetId: 5 });
    expect(JSON.parse(own).actionId).to.equal(51);
    expect(ddiCalls.slice(2)).to.deep.equal(["dev-own"]);
  });

  it("asks again after a failed build instead of keeping the failure", async () => {
    const { notices, ddiCalls } = builder();
    const shared = { consentRequired: false, shareKey: "dmf:DOWNLOAD_AND_INSTALL:8" };
    const failure = await notices.prepare({ actionId: 11, controllerId: "missing-a", ...shared }).then(() => undefined, (error: Error) => error.message);
    expect(failure).to.equal("no deployment");
    const notice = await notices.build({ actionId: 12, controllerId: "dev-b", ...shared });
    expect(notice.actionId).to.equal(12);
    expect(ddiCalls).to.deep.equal(["missing-a", "dev-b"]);
  });
});

describe("bridge: deployment notice signatures", () => {
  const ddi: DdiDeployment = {
    actionId: 1, download: "forced", update: "forced", type: "forced",
    chunks: [{ part: "os", name: "os", version: "2.0.0", encrypted: false, metadata: [], artifacts: [{ filename: "os.swu", size: 4, hashes: { sha256: "ab".repeat(32) }, links: {} }] }],
  };
  const channel = { getDeployment: async () => ddi } as unknown as HawkbitDeviceChannel;
  const store = { presignDownload: async (key: string) => `http://s3/${key}` } as unknown as ArtifactStore;
  const build = (signatures: object[], seen: unknown[] = []) => {
    const db = {
      artifact: {
        findFirst: async (query: unknown) => {
          seen.push(query);
          return { s3Key: "artifacts/os.swu", size: 4n, hardwareType: null, release: { name: "os", version: "2.0.0" }, signatures };
        },
      },
    } as unknown as Database;
    return new NoticeBuilder({ db, store, channel, presignTtlSeconds: 900 }).build({ actionId: 1, controllerId: "dev-a", consentRequired: false });
  };
  const record = (format: string, algorithm: string, value = "AAAA") => ({ format, algorithm, keyName: "k", keyVersion: 2, value });

  it("presents each record in its real format, saying what it covers", async () => {
    const cases: [object, { format: string; covers: string; algorithm: string }][] = [
      [record("raw", "rsa-pkcs1v15-sha256"), { format: "raw-rsa", covers: "artifact", algorithm: "rsa-pkcs1v15" }],
      [record("raw", "rsa-pss-sha256"), { format: "rsa-pss", covers: "artifact", algorithm: "rsa-pss" }],
      [record("raw", "ecdsa-p256-sha256"), { format: "ecdsa", covers: "artifact", algorithm: "ecdsa-p256" }],
      [record("swu-cms", "rsa-pkcs1v15"), { format: "cms", covers: "sw-description", algorithm: "rsa-pkcs1v15" }],
      [record("swu-raw-rsa", "rsa-pkcs1v15"), { format: "raw-rsa", covers: "sw-description", algorithm: "rsa-pkcs1v15" }],
      [record("swu-rsa-pss", "rsa-pss"), { format: "rsa-pss", covers: "sw-description", algorithm: "rsa-pss" }],
      [record("rauc-verity", "ecdsa-p256"), { format: "cms", covers: "rauc-bundle", algorithm: "ecdsa-p256" }],
    ];
    for (const [stored, expected] of cases) {
      const notice = await build([stored]);
      expect(notice.artifacts[0]!.signature, JSON.stringify(stored)).to.deep.equal({ ...expected, keyName: "k", keyVersion: 2, value: "AAAA" });
    }
  });

  it("announces nothing for an artifact without a usable signature (none, or a CMS recorded with an empty value)", async () => {
    for (const signatures of [[], [record("swu-cms", "rsa-pkcs1v15", "")]]) {
      const error = await build(signatures).catch((e: Error) => e);
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.contain("os.swu").and.contain("no signature");
    }
  });

  it("looks the artifact up within the release being deployed, not by its bytes alone", async () => {
    const seen: { where: object }[] = [];
    await build([record("raw", "rsa-pkcs1v15-sha256")], seen);
    expect(seen[0]!.where).to.deep.equal({ sha256: "ab".repeat(32), release: { name: "os", version: "2.0.0" } });
  });
});
