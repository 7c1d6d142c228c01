// State survives a restart; RSQL filters and paging behave as hawkBit's.
import { createHash } from "node:crypto";
import { expect } from "chai";
import { HawkbitManagementClient, MAX_PAGE_SIZE } from "../../hawkbit/management-client.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import { tempDir } from "../helpers/env.js";
import { CREDENTIALS, type ConformantStandin, eventually, startConformantStandin } from "../helpers/hawkbit-conformance.js";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.js";

const client = (url: string) => new HawkbitManagementClient({ baseUrl: url, username: CREDENTIALS.username, password: CREDENTIALS.password });

describe("hawkBit stand-in: persistence across restarts", () => {
  let dir: { path: string; remove: () => Promise<void> };
  let standin: ConformantStandin | undefined;

  before(async () => {
    dir = await tempDir("aerie-hawkbit-restart-");
  });

  afterEach(async () => {
    standin?.assertConformant();
    await standin?.close();
    standin = undefined;
  });

  after(async () => {
    await dir?.remove();
  });

  it("keeps modules, artifacts, targets and rollouts", async () => {
    standin = await startConformantStandin({ dataDir: dir.path });
    let mgmt = client(standin.url);
    const payload = Buffer.from("persist me");
    const sm = await mgmt.ensureSoftwareModule({ name: "keep", version: "1", type: "os" });
    await mgmt.uploadArtifact(sm.id, payload, { filename: "keep.bin", sha256: createHash("sha256").update(payload).digest("hex") });
    const ds = await mgmt.ensureDistributionSet({ name: "keep", version: "1", type: "os", modules: [sm.id] });
    await new DdiChannel({ baseUrl: standin.url, tenant: "DEFAULT", gatewayToken: CREDENTIALS.gatewayToken }).pollController("keeper");
    const rollout = await mgmt.createRollout({ name: "keep-1", targetFilterQuery: "name==keeper", distributionSetId: ds.id, amountGroups: 1 });
    await eventually(() => mgmt.getRollout(rollout.id), (r) => r.status === "ready");
    await mgmt.startRollout(rollout.id);
    await eventually(() => mgmt.getRollout(rollout.id), (r) => r.status === "running");
    standin.assertConformant();
    await standin.close();

    standin = await startConformantStandin({ dataDir: dir.path });
    mgmt = client(standin.url);
    expect((await mgmt.findSoftwareModule("keep", "1"))?.id).to.equal(sm.id);
    expect((await mgmt.listArtifacts(sm.id))[0]?.size).to.equal(payload.length);
    expect((await mgmt.getDistributionSet(ds.id)).modules?.map((m) => m.id)).to.deep.equal([sm.id]);
    expect((await mgmt.getRollout(rollout.id)).status).to.equal("running");
    const ddi = new DdiChannel({ baseUrl: standin.url, tenant: "DEFAULT", gatewayToken: CREDENTIALS.gatewayToken });
    const { openActionId } = await ddi.pollController("keeper");
    const artifact = (await ddi.getDeployment("keeper", openActionId!)).chunks[0]!.artifacts[0]!;
    const res = await fetch(artifact.links.downloadHttp!, { headers: { Authorization: `GatewayToken ${CREDENTIALS.gatewayToken}` } });
    expect(Buffer.from(await res.arrayBuffer()).toString()).to.equal("persist me");
    // New ids continue after the restored ones instead of colliding with them.
    const [next] = await mgmt.createSoftwareModules([{ name: "keep", version: "2", type: "os" }]);
    expect(next!.id).to.be.greaterThan(sm.id);
  });
});

describe("hawkBit stand-in: RSQL filters and paging", () => {
  let standin: ConformantStandin;
  let proxy: FaultProxy;
  let mgmt: HawkbitManagementClient;

  before(async () => {
    standin = await startConformantStandin();
    proxy = await startFaultProxy(standin.url);
    mgmt = client(proxy.url);
    const targets = Array.from({ length: 620 }, (_, i) => ({
      controllerId: `node-${String(i).padStart(4, "0")}`, name: i % 2 === 0 ? `even-${i}` : `odd-${i}`, description: i < 10 ? "lab" : "field",
    }));
    await mgmt.createTargets(targets);
  });

  after(async () => {
    await proxy?.close();
    await standin?.dispose();
  });

  afterEach(() => standin.assertConformant());

  it("selects targets by RSQL, with wildcards, AND/OR and =in=", async () => {
    const ids = async (q: string) => (await mgmt.listTargets({ q, limit: 500 })).content.map((t) => t.controllerId);
    expect(await ids("description==lab;name==even-*")).to.deep.equal(["node-0000", "node-0002", "node-0004", "node-0006", "node-0008"]);
    expect(await ids("controllerId=in=(node-0001,node-0600)")).to.deep.equal(["node-0001", "node-0600"]);
    expect(await ids("name==odd-1,name==EVEN-2")).to.deep.equal(["node-0001", "node-0002"]);
    expect(await ids("controllerId=out=(node-0*);name!=odd-*")).to.deep.equal([]);
    const page = await mgmt.listTargets({ q: "description==field", limit: 5, offset: 0, sort: "controllerId:DESC" });
    expect(page.total).to.equal(610);
    expect(page.content[0]?.controllerId).to.equal("node-0619");
  });

  it("rejects malformed RSQL and unknown fields with hawkBit's error codes", async () => {
    const syntax = await mgmt.listTargets({ q: "name==" }).catch((e: unknown) => e);
    expect(syntax).to.include({ status: 400, errorCode: "hawkbit.server.error.rest.param.rsqlParamSyntax" });
    const field = await mgmt.listTargets({ q: "shoeSize==42" }).catch((e: unknown) => e);
    expect(field).to.include({ status: 400, errorCode: "hawkbit.server.error.rest.param.rsqlInvalidField" });
  });

  it("caps pages at 500 and iterates everything without asking for more", async () => {
    const capped = await fetch(`${standin.url}/rest/v1/targets?limit=1000`, {
      headers: { Authorization: `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString("base64")}` },
    });
    const body = (await capped.json()) as { content: unknown[]; total: number; size: number };
    expect(body).to.include({ total: 620, size: 500 });
    expect(body.content).to.have.length(500);

    proxy.requests.length = 0;
    const all: string[] = [];
    for await (const t of mgmt.paginate((q) => mgmt.listTargets(q), { limit: 2000 })) all.push(t.controllerId);
    expect(all).to.have.length(620);
    expect(new Set(all).size).to.equal(620);
    const limits = proxy.requests.map((r) => Number(new URL(r.url, "http://x").searchParams.get("limit")));
    expect(limits).to.deep.equal([MAX_PAGE_SIZE, MAX_PAGE_SIZE]);
    expect((await mgmt.listTargets({ limit: 5000 })).size).to.equal(500);
  });

  it("lists all actions with q, offset, limit and sort", async () => {
    const page = await mgmt.listActions({ q: "active==true", offset: 0, limit: 500, sort: "id:DESC" });
    expect(page).to.include({ total: 0, size: 0 });
  });
});
