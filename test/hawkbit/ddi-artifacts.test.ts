// Artifact delivery over DDI: full and ranged downloads, the .MD5SUM file, and target-token access.
import { createHash } from "node:crypto";
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import { CREDENTIALS, type ConformantStandin, eventually, startConformantStandin } from "../helpers/hawkbit-conformance.js";

describe("hawkBit stand-in: DDI artifact download", () => {
  let standin: ConformantStandin;
  let mgmt: HawkbitManagementClient;
  let ddi: DdiChannel;
  let downloadUrl: string;
  let md5Url: string;
  const payload = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
  const gateway = { Authorization: `GatewayToken ${CREDENTIALS.gatewayToken}` };

  before(async () => {
    standin = await startConformantStandin();
    mgmt = new HawkbitManagementClient({ baseUrl: standin.url, username: CREDENTIALS.username, password: CREDENTIALS.password });
    ddi = new DdiChannel({ baseUrl: standin.url, tenant: CREDENTIALS.tenant, gatewayToken: CREDENTIALS.gatewayToken });
    const sm = await mgmt.ensureSoftwareModule({ name: "fw", version: "1", type: "os" });
    await mgmt.uploadArtifact(sm.id, payload, { filename: "fw.bin", sha256: createHash("sha256").update(payload).digest("hex") });
    const ds = await mgmt.ensureDistributionSet({ name: "fw", version: "1", type: "os", modules: [sm.id] });
    await ddi.pollController("box-1");
    const rollout = await mgmt.createRollout({ name: "fw-1", targetFilterQuery: "controllerId==box-1", distributionSetId: ds.id, amountGroups: 1 });
    await eventually(() => mgmt.getRollout(rollout.id), (r) => r.status === "ready");
    await mgmt.startRollout(rollout.id);
    const { openActionId } = await eventually(() => ddi.pollController("box-1"), (s) => s.openActionId !== undefined);
    const deployment = await ddi.getDeployment("box-1", openActionId!);
    const artifact = deployment.chunks[0]!.artifacts[0]!;
    downloadUrl = artifact.links.downloadHttp!;
    md5Url = artifact.links.md5sumHttp!;
  });

  after(async () => {
    await standin?.dispose();
  });

  afterEach(() => standin.assertConformant());

  it("serves the whole artifact", async () => {
    const res = await fetch(downloadUrl, { headers: gateway });
    expect(res.status).to.equal(200);
    expect(res.headers.get("accept-ranges")).to.equal("bytes");
    expect(Buffer.from(await res.arrayBuffer()).equals(payload)).to.equal(true);
  });

  it("serves byte ranges with 206 and Content-Range", async () => {
    const res = await fetch(downloadUrl, { headers: { ...gateway, Range: "bytes=100-199" } });
    expect(res.status).to.equal(206);
    expect(res.headers.get("content-range")).to.equal(`bytes 100-199/${payload.length}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(payload.subarray(100, 200))).to.equal(true);

    const tail = await fetch(downloadUrl, { headers: { ...gateway, Range: "bytes=-10" } });
    expect(tail.status).to.equal(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(payload.subarray(payload.length - 10))).to.equal(true);

    const open = await fetch(downloadUrl, { headers: { ...gateway, Range: "bytes=9990-" } });
    expect(open.headers.get("content-range")).to.equal(`bytes 9990-9999/${payload.length}`);
    expect((await open.arrayBuffer()).byteLength).to.equal(10);

    const beyond = await fetch(downloadUrl, { headers: { ...gateway, Range: "bytes=20000-" } });
    expect(beyond.status).to.equal(416);
    expect(beyond.headers.get("content-range")).to.equal(`bytes */${payload.length}`);
  });

  it("serves the MD5SUM file in md5sum(1) format", async () => {
    const res = await fetch(md5Url, { headers: gateway });
    expect(res.status).to.equal(200);
    expect(await res.text()).to.equal(`${createHash("md5").update(payload).digest("hex")}  fw.bin`);
  });

  it("lists a module's artifacts for the device and hides modules it was never assigned", async () => {
    const smId = /softwaremodules\/(\d+)\//.exec(downloadUrl)![1];
    const list = await fetch(`${standin.url}/DEFAULT/controller/v1/box-1/softwaremodules/${smId}/artifacts`, { headers: gateway });
    const artifacts = (await list.json()) as { filename: string; size: number }[];
    expect(artifacts.map((a) => [a.filename, a.size])).to.deep.equal([["fw.bin", payload.length]]);
    await ddi.pollController("box-2");
    const other = await fetch(`${standin.url}/DEFAULT/controller/v1/box-2/softwaremodules/${smId}/artifacts/fw.bin`, { headers: gateway });
    expect(other.status).to.equal(404);
  });

  it("accepts the target's own security token once target-token authentication is on, and refuses another target's", async () => {
    const token = (await mgmt.getTarget("box-1")).securityToken!;
    // hawkBit 1.1.0: authentication.targettoken.enabled is off by default, so the token is refused until it is set.
    expect((await fetch(downloadUrl, { headers: { Authorization: `TargetToken ${token}` } })).status).to.equal(401);
    await mgmt.setTenantConfig("authentication.targettoken.enabled", true);
    const own = await fetch(downloadUrl, { headers: { Authorization: `TargetToken ${token}` } });
    expect(own.status).to.equal(200);
    await own.arrayBuffer();
    const foreign = await fetch(`${standin.url}/DEFAULT/controller/v1/box-2`, { headers: { Authorization: `TargetToken ${token}` } });
    expect(foreign.status).to.equal(401);
  });
});
