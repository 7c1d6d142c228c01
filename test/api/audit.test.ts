// The audit trail over the API: actors are authenticated principals, filters and paging, CSV and JSON
// exports, a campaign's compliance report (who did what, which devices it reached with what result), and a
// refused request leaving neither an audit event nor a webhook delivery.
import { expect } from "chai";
import { AerieClient } from "../../scripts/lib/aerie-client.js";
import { type CampaignHarness, DdiDevice, apiError, runDevices, startCampaignHarness } from "../campaigns/harness.js";

interface Page {
  total: number;
  offset: number;
  limit: number;
  events: { id: number; at: string; actor: string; action: string; subject: string; details: Record<string, unknown> }[];
}

describe("API: the audit trail", function () {
  this.timeout(180_000);
  let h: CampaignHarness;
  let operator: AerieClient;
  let approver: AerieClient;
  let viewer: AerieClient;
  let operatorId: string;
  let campaignId: string;
  let releaseId: string;
  const devices: DdiDevice[] = [];

  before(async () => {
    h = await startCampaignHarness();
    operator = await h.clientAs("operator", "audit-operator");
    approver = await h.clientAs("approver", "audit-approver");
    viewer = await h.clientAs("viewer", "audit-viewer");
    operatorId = (await operator.request<{ id: string }>("GET", "/api/v1/me")).id;
    for (const id of ["au-1", "au-2"]) {
      const d = new DdiDevice(id, h.standin.url, h.db, { hardware: "rev-a", "version.rootfs": "1.0.0" });
      await d.register();
      devices.push(d);
    }
    const artifact = await h.addArtifact("au.swu", Buffer.from("audit image"));
    releaseId = (await h.api.createRelease({ name: "au-os", version: "2", artifacts: [artifact] })).id;
  });

  after(async () => {
    await h?.dispose();
  });

  it("records the principal as actor, and the compliance report says who did what and which devices got what", async () => {
    const campaign = await operator.request<{ id: string }>("POST", "/api/v1/campaigns", { name: "au-campaign", releaseId, selection: "controllerId==au-*", approval: true, start: true });
    campaignId = campaign.id;
    await apiError(operator.request("POST", `/api/v1/campaigns/${campaignId}/approve`), 403);
    await approver.request("POST", `/api/v1/campaigns/${campaignId}/approve`);
    await runDevices(devices, h.hawkbit, async () => ((await viewer.request<{ status: string }>("GET", `/api/v1/campaigns/${campaignId}`)).status === "finished" ? true : undefined));

    const report = await viewer.request<{
      campaign: { createdBy: string; startedBy: string | null; approvedBy: string; release: { name: string } };
      summary: { devices: number; byStatus: Record<string, number> };
      devices: { controllerId: string; status: string; attempts: number }[];
      trail: { action: string; actor: string }[];
    }>("GET", `/api/v1/audit/campaigns/${campaignId}`);
    expect(report.campaign.createdBy).to.equal(operatorId);
    expect(report.campaign.approvedBy).to.match(/^token:/).and.not.equal(operatorId);
    expect(report.campaign.release.name).to.equal("au-os");
    expect(report.summary).to.deep.equal({ devices: 2, byStatus: { success: 2 } });
    expect(report.devices.map((d) => d.controllerId).sort()).to.deep.equal(["au-1", "au-2"]);
    expect(report.trail.map((e) => e.action)).to.include.members(["campaign.create", "campaign.approve"]);

    const csv = await fetch(`${h.apiUrl}/api/v1/audit/campaigns/${campaignId}?format=csv`, { headers: viewer.authorization });
    expect(csv.headers.get("content-type")).to.match(/^text\/csv/);
    expect(csv.headers.get("content-disposition")).to.contain("attachment");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).to.equal("campaign,release,controllerId,status,detail,actionId,attempts,reachedAt,updatedAt");
    expect(lines.slice(1).map((l) => l.split(",")[2]).sort()).to.deep.equal(["au-1", "au-2"]);
    expect(lines.slice(1).every((l) => l.split(",")[3] === "success")).to.equal(true);
  });

  it("filters by actor, action (prefix), subject and time, pages, and exports CSV and JSON", async () => {
    const byActor = await viewer.request<Page>("GET", `/api/v1/audit?actor=${encodeURIComponent(operatorId)}`);
    expect(byActor.total).to.be.greaterThan(0);
    expect(byActor.events.every((e) => e.actor === operatorId)).to.equal(true);
    expect(byActor.events.map((e) => e.action)).to.include.members(["campaign.create", "access.denied"]);

    const campaignEvents = await viewer.request<Page>("GET", `/api/v1/audit?action=campaign.*&subject=campaign:${campaignId}`);
    expect(campaignEvents.events.every((e) => e.action.startsWith("campaign.") && e.subject === `campaign:${campaignId}`)).to.equal(true);
    expect(campaignEvents.total).to.be.at.least(2);

    const all = await viewer.request<Page>("GET", "/api/v1/audit?limit=1000");
    const paged = await viewer.request<Page>("GET", "/api/v1/audit?limit=2&offset=1");
    expect(paged.events.map((e) => e.id)).to.deep.equal(all.events.slice(1, 3).map((e) => e.id));
    expect(paged.total).to.equal(all.total);

    const future = await viewer.request<Page>("GET", `/api/v1/audit?from=${new Date(Date.now() + 3600_000).toISOString()}`);
    expect(future.total).to.equal(0);
    const past = await viewer.request<Page>("GET", `/api/v1/audit?to=${new Date(Date.now() + 3600_000).toISOString()}&from=2020-01-01`);
    expect(past.total).to.equal(all.total);

    const csv = await fetch(`${h.apiUrl}/api/v1/audit?format=csv&action=campaign.create`, { headers: viewer.authorization });
    expect(csv.status).to.equal(200);
    const text = await csv.text();
    expect(text.split("\r\n")[0]).to.equal("id,at,actor,action,subject,details");
    expect(text).to.contain(operatorId).and.contain("campaign.create");
    const json = await fetch(`${h.apiUrl}/api/v1/audit?format=json&action=campaign.create`, { headers: viewer.authorization });
    expect(json.headers.get("content-disposition")).to.contain("attachment");
    expect(((await json.json()) as Page).events[0]!.action).to.equal("campaign.create");

    for (const [query, field] of [["offset=1e300", "offset"], ["limit=0", "limit"], ["from=yesterday", "from"], ["format=xml", "format"], ["actor=a&actor=b", "actor"], ["from=2030-01-01&to=2020-01-01", "from"]]) {
      await apiError(viewer.request("GET", `/api/v1/audit?${query}`), 400, field);
    }
  });

  it("a refused campaign leaves no audit event and no webhook delivery", async () => {
    await h.db.webhookSubscription.create({ data: { url: "https://hooks.example.com/aerie", events: ["campaign.*"], secret: "0123456789abcdef", createdBy: "test" } });
    const [events, deliveries] = [await h.db.auditEvent.count(), await h.db.webhookDelivery.count()];
    await apiError(operator.request("POST", "/api/v1/campaigns", { name: "au-refused", releaseId, targetFilter: "nosuchfield==1" }), 400, "rsqlInvalidField");
    await apiError(operator.request("POST", "/api/v1/campaigns", { name: "au-refused", releaseId, selection: "x==1", errorThreshold: 101 }), 400, "errorThreshold");
    expect(await h.db.campaign.count({ where: { name: "au-refused" } })).to.equal(0);
    expect(await h.db.auditEvent.count()).to.equal(events);
    expect(await h.db.webhookDelivery.count()).to.equal(deliveries);
  });
});
