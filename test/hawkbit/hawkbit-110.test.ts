// The stand-in answers as hawkBit 1.1.0 does where 1.1.0 differs from the published documents and from the stand-in's
// earlier lax behaviour: action query fields and sort syntax, paging, MgmtAction, 405s, tenant configuration and DDI
// authentication, consent and cancel semantics on DDI, rollout stop and default conditions, direct assignment and the
// offline installedBase. Raw HTTP, so the test does not depend on Aerie's client; every message is validated against
// the documents patched by openapi-overlay.ts.
import { expect } from "chai";
import { CREDENTIALS, type ConformantStandin, eventually, startConformantStandin } from "../helpers/hawkbit-conformance.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("hawkBit stand-in: hawkBit 1.1.0 behaviour", () => {
  let standin: ConformantStandin;
  const basic = `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString("base64")}`;

  const mgmt = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${standin.url}/rest/v1${path}`, {
      method, headers: { Authorization: basic, Accept: "application/json", ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  };
  const ddi = async (method: string, path: string, body?: unknown, auth = `GatewayToken ${CREDENTIALS.gatewayToken}`) => {
    const res = await fetch(`${standin.url}/${CREDENTIALS.tenant}/controller/v1/${path}`, {
      method, headers: { Authorization: auth, Accept: "application/json", ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json };
  };
  const feedback = (execution: string, finished = "none", extra: Json = {}) => ({ status: { execution, result: { finished }, ...extra } });

  let dsId: number;
  let ds2Id: number;

  before(async () => {
    standin = await startConformantStandin();
    const [sm] = (await mgmt("POST", "/softwaremodules", [{ name: "os", version: "1", type: "os" }])).body as unknown as Json[];
    const [sm2] = (await mgmt("POST", "/softwaremodules", [{ name: "os", version: "2", type: "os" }])).body as unknown as Json[];
    dsId = ((await mgmt("POST", "/distributionsets", [{ name: "fw", version: "1", type: "os", modules: [{ id: sm!.id }] }])).body as unknown as Json[])[0]!.id;
    ds2Id = ((await mgmt("POST", "/distributionsets", [{ name: "fw", version: "2", type: "os", modules: [{ id: sm2!.id }] }])).body as unknown as Json[])[0]!.id;
    for (const id of ["h-1", "h-2", "h-3", "h-4", "h-5"]) expect((await ddi("GET", id)).status).to.equal(200);
  });

  after(async () => {
    await standin?.dispose();
  });

  afterEach(() => standin.assertConformant());

  const assign = async (controllerId: string, body: Json = {}) => {
    const res = await mgmt("POST", `/targets/${controllerId}/assignedDS`, [{ id: dsId, type: "forced", ...body }]);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body.assignedActions[0].id as number;
  };

  it("assigns a set directly, lists actions newest first, and keeps an action's status history", async () => {
    const first = await assign("h-1");
    const again = await mgmt("POST", "/targets/h-1/assignedDS", [{ id: dsId, type: "forced" }]);
    expect(again.body).to.include({ alreadyAssigned: 1, assigned: 0, total: 1 });
    expect((await mgmt("GET", "/targets/h-1/assignedDS")).body).to.include({ id: dsId });
    expect((await mgmt("GET", "/targets/h-1/installedDS")).status).to.equal(204);

    const action = (await mgmt("GET", `/targets/h-1/actions/${first}`)).body;
    expect(action).to.include({ id: first, active: true, status: "running", type: "update", forceType: "forced" });
    expect(action).to.not.have.property("detailStatus");
    expect(action._links.distributionset.name).to.equal("fw:1");

    // A second set assigned on top cancels the first action (CANCELING) and opens a new one; newest first by default.
    const second = (await mgmt("POST", "/targets/h-1/assignedDS", [{ id: ds2Id, type: "soft" }])).body.assignedActions[0].id as number;
    const list = (await mgmt("GET", "/targets/h-1/actions")).body;
    expect(list.content.map((a: Json) => a.id)).to.deep.equal([second, first]);
    expect(list.content[1]).to.include({ status: "canceling", type: "cancel" });
    expect(Object.keys(list.content[0]._links)).to.deep.equal(["self"]);
    const history = (await mgmt("GET", `/targets/h-1/actions/${first}/status`)).body;
    expect(history.content[0]).to.include({ type: "canceling" });
    expect(history.content.at(-1)).to.include({ type: "running" });
    expect(history.total).to.equal(history.content.length);
  });

  it("queries actions by hawkBit 1.1.0's ActionFields and refuses what 1.1.0 refuses", async () => {
    const all = (await mgmt("GET", "/actions")).body;
    expect(all.content.map((a: Json) => a.id)).to.deep.equal([...all.content.map((a: Json) => a.id)].sort((a: number, b: number) => b - a));
    expect((await mgmt("GET", "/actions?q=status==pending")).status).to.equal(400);
    expect((await mgmt("GET", "/actions?q=detailStatus==running")).status).to.equal(400);
    expect((await mgmt("GET", "/actions?q=active==yes")).status).to.equal(400);
    expect((await mgmt("GET", "/actions?q=target==h-1")).status, "target needs a sub-attribute").to.equal(400);
    expect((await mgmt("GET", "/actions?q=target.id==h-1")).status, "TargetFields.ID is controllerId").to.equal(400);
    const active = (await mgmt("GET", "/actions?q=active==true;target.controllerId==h-1")).body;
    expect(active.content.map((a: Json) => a.status).sort()).to.deep.equal(["canceling", "running"]);
    expect((await mgmt("GET", "/actions?q=status=in=(canceling,wait_for_confirmation);distributionSet.version==1")).body.total).to.equal(1);
    expect((await mgmt("GET", "/actions?q=rollout.id==1")).body.total).to.equal(0);
    expect((await mgmt("GET", `/actions?q=lastModifiedAt=ge=${Date.now() - 60_000}`)).body.total).to.be.greaterThan(0);
  });

  it("queries targets by hawkBit 1.1.0's TargetFields", async () => {
    const q = async (query: string) => {
      const res = await mgmt("GET", `/targets?q=${encodeURIComponent(query)}`);
      return res.status === 200 ? (res.body.content as Json[]).map((t) => t.controllerId) : res.status;
    };
    // h-1 has fw:2 assigned since the first test (fw:1 assigned, then fw:2 on top).
    expect(await q("assignedDS.name==fw;assignedDS.version==2")).to.include("h-1").and.not.include("h-4");
    expect(await q("assignedDS==fw"), "name or version required").to.equal(400);
    expect(await q("assignedDS.id==1"), "not a TargetFields sub-attribute").to.equal(400);
    expect(await q("updateStatus==pending;controllerId==h-1")).to.deep.equal(["h-1"]);
    expect(await q("updateStatus==bogus")).to.equal(400);
    expect(await q("attribute==x"), "a map needs a key").to.equal(400);
    expect(await q("tag.name==nothing")).to.deep.equal([]);
    expect(await q("autoConfirm==false;controllerId==h-1")).to.deep.equal(["h-1"]);
    expect(await q("type==none")).to.deep.equal([]);
    expect(await q("controllerId.x==h-1"), "a simple field takes no sub-attribute").to.equal(400);
  });

  it("parses sort as SortUtility does and treats limit=0 as the default 50", async () => {
    for (const [sort, code] of [["id", "sortParamSyntax"], ["id:ASC:x", "sortParamSyntax"], ["nosuch:ASC", "invalidField"], ["target.name:ASC", "invalidField"], ["id:UP", "invalidDirection"]]) {
      const res = await mgmt("GET", `/actions?sort=${encodeURIComponent(sort!)}`);
      expect(res.status, sort).to.equal(400);
      expect(res.body.errorCode, sort).to.equal(`hawkbit.server.error.rest.param.${code}`);
    }
    expect((await mgmt("GET", `/actions?sort=${encodeURIComponent("id:asc")}`)).body.content[0].id).to.be.lessThan((await mgmt("GET", "/actions")).body.content[0].id);
    await mgmt("POST", "/targets", Array.from({ length: 60 }, (_, i) => ({ controllerId: `bulk-${i}`, name: `bulk-${i}` })));
    expect((await mgmt("GET", "/targets?limit=0")).body.size).to.equal(50);
    expect((await mgmt("GET", "/targets?limit=-3")).body.size).to.equal(50);
  });

  it("answers 405 for actions that cannot be cancelled or force quit, and DDI cancel feedback back to RUNNING", async () => {
    const actionId = await assign("h-2");
    expect((await mgmt("DELETE", `/targets/h-2/actions/${actionId}?force=true`)).status, "not canceling: no force quit").to.equal(405);
    expect((await ddi("POST", `h-2/cancelAction/${actionId}/feedback`, feedback("closed", "success"))).status, "not canceling").to.equal(405);
    expect((await mgmt("DELETE", `/targets/h-2/actions/${actionId}`)).status).to.equal(204);
    expect((await mgmt("DELETE", `/targets/h-2/actions/${actionId}`)).status, "already canceling").to.equal(405);
    expect((await ddi("GET", "h-2")).body._links.cancelAction.href).to.match(new RegExp(`/cancelAction/${actionId}$`));
    expect((await ddi("GET", `h-2/deploymentBase/${actionId}`)).status, "no deployment while canceling").to.equal(404);
    expect((await ddi("GET", `h-2/cancelAction/${actionId}`)).body).to.deep.equal({ id: String(actionId), cancelAction: { stopId: String(actionId) } });

    // A rejected cancellation puts the action back to RUNNING (JpaControllerManagement.addCancelActionStatus).
    expect((await ddi("POST", `h-2/cancelAction/${actionId}/feedback`, feedback("rejected"))).status).to.equal(200);
    expect((await mgmt("GET", `/targets/h-2/actions/${actionId}`)).body).to.include({ status: "running", active: true });
    // So does a failed one; a confirmed one closes it as CANCELED.
    await mgmt("DELETE", `/targets/h-2/actions/${actionId}`);
    await ddi("POST", `h-2/cancelAction/${actionId}/feedback`, feedback("closed", "failure"));
    expect((await mgmt("GET", `/targets/h-2/actions/${actionId}`)).body).to.include({ status: "running", active: true });
    await mgmt("DELETE", `/targets/h-2/actions/${actionId}`);
    await ddi("POST", `h-2/cancelAction/${actionId}/feedback`, feedback("closed", "success"));
    expect((await mgmt("GET", `/targets/h-2/actions/${actionId}`)).body).to.include({ status: "canceled", active: false });
    expect((await mgmt("DELETE", `/targets/h-2/actions/${actionId}`)).status, "closed").to.equal(405);
    expect((await ddi("POST", `h-2/deploymentBase/${actionId}/feedback`, feedback("proceeding"))).status, "closed").to.equal(410);
  });

  it("keeps deploymentBase and its feedback closed while an action waits for confirmation", async () => {
    expect((await mgmt("PUT", "/system/configs/user.confirmation.flow.enabled", { value: true })).status).to.equal(204);
    try {
      const actionId = await assign("h-3");
      expect((await mgmt("GET", `/targets/h-3/actions/${actionId}`)).body).to.include({ status: "wait_for_confirmation" });
      expect((await ddi("GET", "h-3")).body._links).to.have.property("confirmationBase");
      expect((await ddi("GET", `h-3/deploymentBase/${actionId}`)).status).to.equal(404);
      expect((await ddi("POST", `h-3/deploymentBase/${actionId}/feedback`, feedback("closed", "success"))).status).to.equal(404);
      expect((await mgmt("GET", `/targets/h-3/actions/${actionId}`)).body).to.include({ status: "wait_for_confirmation", active: true });
      expect((await ddi("POST", `h-3/confirmationBase/${actionId}/feedback`, { confirmation: "confirmed" })).status).to.equal(200);
      expect((await ddi("GET", `h-3/deploymentBase/${actionId}`)).status).to.equal(200);
      expect((await mgmt("GET", `/targets/h-3/actions/${actionId}`)).body).to.include({ status: "retrieved" });
      // Intermediate feedback is history only; the final one closes the action and installs the set.
      await ddi("POST", `h-3/deploymentBase/${actionId}/feedback`, feedback("proceeding"));
      expect((await mgmt("GET", `/targets/h-3/actions/${actionId}`)).body).to.include({ status: "retrieved" });
      await ddi("POST", `h-3/deploymentBase/${actionId}/feedback`, feedback("closed", "success"));
      expect((await mgmt("GET", "/targets/h-3/installedDS")).body).to.include({ id: dsId });
      expect((await ddi("GET", "h-3")).body._links.installedBase.href).to.match(new RegExp(`/installedBase/${actionId}$`));
    } finally {
      await mgmt("DELETE", "/system/configs/user.confirmation.flow.enabled");
    }
  });

  it("serves the tenant configuration with hawkBit's keys and defaults; DDI authentication and polling follow it", async () => {
    const all = (await mgmt("GET", "/system/configs")).body;
    expect(all["authentication.targettoken.enabled"]).to.include({ value: false, global: true });
    expect(all["authentication.gatewaytoken.enabled"]).to.include({ value: true, global: false });
    expect(all).to.have.property("default.ds.type");
    expect(all).to.not.have.property("multi.assignments.enabled");
    expect((await mgmt("GET", "/system/configs/no.such.key")).status).to.equal(400);
    expect((await mgmt("PUT", "/system/configs/no.such.key", { value: true })).status).to.equal(400);
    expect((await mgmt("PUT", "/system/configs/authentication.targettoken.enabled", { value: 7 })).status).to.equal(400);
    expect((await mgmt("PUT", "/system/configs/pollingTime", { value: "00:00:05" })).status, "below minPollingTime").to.equal(400);

    // Bulk update, all or nothing.
    expect((await mgmt("PUT", "/system/configs", { pollingTime: "00:01:00", "no.such.key": 1 })).status).to.equal(400);
    expect((await mgmt("GET", "/system/configs/pollingTime")).body).to.include({ global: true });
    expect((await mgmt("PUT", "/system/configs", { pollingTime: "00:01:00", "authentication.targettoken.enabled": "true" })).status).to.equal(204);
    expect((await ddi("GET", "h-4")).body.config.polling.sleep).to.equal("00:01:00");
    const polled = (await mgmt("GET", "/targets/h-4")).body.pollStatus;
    expect(polled.nextExpectedRequestAt - polled.lastRequestAt, "pollStatus follows the tenant's pollingTime").to.equal(60_000);
    expect(polled.overdue).to.equal(false);
    const token = (await mgmt("GET", "/targets/h-4")).body.securityToken as string;
    expect((await ddi("GET", "h-4", undefined, `TargetToken ${token}`)).status).to.equal(200);

    // Gateway token off: 401, as a fresh hawkBit.
    expect((await mgmt("PUT", "/system/configs/authentication.gatewaytoken.enabled", { value: false })).status).to.equal(204);
    expect((await ddi("GET", "h-4")).status).to.equal(401);
    expect((await mgmt("DELETE", "/system/configs/authentication.targettoken.enabled")).status).to.equal(204);
    expect((await ddi("GET", "h-4", undefined, `TargetToken ${token}`)).status).to.equal(401);
    await mgmt("PUT", "/system/configs", { "authentication.gatewaytoken.enabled": true });
    await mgmt("DELETE", "/system/configs/pollingTime");
  });

  it("starts without DDI authentication when no tenant configuration is preset", async () => {
    const fresh = await startConformantStandin({ tenantConfig: {} });
    try {
      const res = await fetch(`${fresh.url}/DEFAULT/controller/v1/x`, { headers: { Authorization: `GatewayToken ${CREDENTIALS.gatewayToken}` } });
      expect(res.status).to.equal(401);
      fresh.assertConformant();
    } finally {
      await fresh.dispose();
    }
  });

  it("stops a rollout: open actions are cancelled for the devices to learn, the rollout ends STOPPED", async () => {
    const created = await mgmt("POST", "/rollouts", { name: "stop-me", targetFilterQuery: "controllerId==h-5", distributionSetId: ds2Id, amountGroups: 1 });
    expect(created.status).to.equal(201);
    const groups = (await mgmt("GET", `/rollouts/${created.body.id}/deploygroups`)).body.content;
    expect(groups[0]).to.deep.include({
      successCondition: { condition: "THRESHOLD", expression: "50" }, successAction: { action: "NEXTGROUP", expression: "" },
      errorCondition: { condition: "THRESHOLD", expression: "50" }, errorAction: { action: "PAUSE", expression: "" },
    });
    await eventually(async () => (await mgmt("GET", `/rollouts/${created.body.id}`)).body.status, (s) => s === "ready");
    expect((await mgmt("POST", `/rollouts/${created.body.id}/start`)).status).to.equal(204);
    const open = await eventually(async () => (await ddi("GET", "h-5")).body._links, (l: Json) => l.deploymentBase !== undefined);
    const actionId = Number(/deploymentBase\/(\d+)/.exec(open.deploymentBase.href)![1]);
    expect((await mgmt("POST", `/rollouts/${created.body.id}/stop`)).status).to.equal(204);
    await eventually(async () => (await mgmt("GET", `/rollouts/${created.body.id}`)).body.status, (s) => s === "stopped");
    expect((await mgmt("GET", `/targets/h-5/actions/${actionId}`)).body).to.include({ status: "canceling", active: true });
    expect((await ddi("GET", "h-5")).body._links.cancelAction.href).to.match(new RegExp(`/cancelAction/${actionId}$`));
    expect((await mgmt("POST", `/rollouts/${created.body.id}/stop`)).status, "not stoppable any more").to.equal(400);
  });

  it("takes a device's offline installation on PUT installedBase", async () => {
    const first = await ddi("PUT", "h-4/installedBase", { name: "fw", version: "2" });
    expect(first.status).to.equal(201);
    expect((await ddi("PUT", "h-4/installedBase", { name: "fw", version: "2" })).status).to.equal(200);
    expect((await ddi("PUT", "h-4/installedBase", { name: "fw", version: "9" })).status).to.equal(404);
    expect((await mgmt("GET", "/targets/h-4/installedDS")).body).to.include({ id: ds2Id });
    expect((await mgmt("GET", "/targets/h-4")).body).to.include({ updateStatus: "in_sync" });
  });

  it("serves the rest of the Management API a client uses: updates, type CRUD, DS tags, userinfo, artifacts, assigned targets", async () => {
    const user = (await mgmt("GET", "/userinfo")).body;
    expect(user).to.include({ tenant: CREDENTIALS.tenant, username: CREDENTIALS.username });
    expect(user.permissions).to.include.members(["READ_TARGET", "TENANT_CONFIGURATION", "HANDLE_ROLLOUT"]);

    // Software module and distribution set types: create, update, module types of a DS type, delete.
    const [smType] = (await mgmt("POST", "/softwaremoduletypes", [{ key: "fw", name: "Firmware", maxAssignments: 1 }])).body as unknown as Json[];
    expect((await mgmt("POST", "/softwaremoduletypes", [{ key: "fw", name: "Other" }])).status).to.equal(409);
    expect((await mgmt("PUT", `/softwaremoduletypes/${smType!.id}`, { description: "boot firmware", colour: "#123456" })).body).to.include({ description: "boot firmware", colour: "#123456" });
    const [dsType] = (await mgmt("POST", "/distributionsettypes", [{ key: "fwonly", name: "Firmware only", mandatorymodules: [{ id: smType!.id }] }])).body as unknown as Json[];
    expect((await mgmt("GET", `/distributionsettypes/${dsType!.id}/mandatorymoduletypes`)).body.map((t: Json) => t.key)).to.deep.equal(["fw"]);
    expect((await mgmt("POST", `/distributionsettypes/${dsType!.id}/optionalmoduletypes`, { id: 2 })).status).to.equal(204);
    expect((await mgmt("GET", `/distributionsettypes/${dsType!.id}/optionalmoduletypes/2`)).body).to.include({ id: 2 });
    expect((await mgmt("DELETE", `/distributionsettypes/${dsType!.id}/optionalmoduletypes/2`)).status).to.equal(204);
    expect((await mgmt("PUT", `/distributionsettypes/${dsType!.id}`, { description: "fw" })).body).to.include({ description: "fw" });

    // Modules and sets: update, artifacts, unassign a module, a set of the new type.
    const [sm] = (await mgmt("POST", "/softwaremodules", [{ name: "boot", version: "1", type: "fw" }])).body as unknown as Json[];
    expect((await mgmt("PUT", `/softwaremodules/${sm!.id}`, { description: "u-boot", vendor: "Aerie" })).body).to.include({ description: "u-boot", vendor: "Aerie" });
    const form = new FormData();
    form.append("file", new Blob([Buffer.from("boot image")]), "boot.bin");
    const upload = await fetch(`${standin.url}/rest/v1/softwaremodules/${sm!.id}/artifacts`, { method: "POST", headers: { Authorization: basic }, body: form });
    expect(upload.status).to.equal(201);
    const artifact = (await upload.json()) as Json;
    expect((await mgmt("GET", `/softwaremodules/${sm!.id}/artifacts/${artifact.id}`)).body).to.include({ providedFilename: "boot.bin", size: 10 });
    const download = await fetch(`${standin.url}/rest/v1/softwaremodules/${sm!.id}/artifacts/${artifact.id}/download`, { headers: { Authorization: basic } });
    expect(Buffer.from(await download.arrayBuffer()).toString()).to.equal("boot image");
    const [set] = (await mgmt("POST", "/distributionsets", [{ name: "boot", version: "1", type: "fwonly", modules: [{ id: sm!.id }] }])).body as unknown as Json[];
    expect((await mgmt("POST", `/distributionsettypes/${dsType!.id}/optionalmoduletypes`, { id: 2 })).status, "type in use").to.equal(403);
    expect((await mgmt("PUT", `/distributionsets/${set!.id}`, { description: "bootloader", version: "1.0" })).body).to.include({ description: "bootloader", version: "1.0" });
    expect((await mgmt("PUT", `/distributionsets/${set!.id}`, { name: "fw", version: "1" })).status, "name and version taken").to.equal(409);
    expect((await mgmt("DELETE", `/distributionsets/${set!.id}/assignedSM/${sm!.id}`)).status).to.equal(204);
    expect((await mgmt("GET", `/distributionsets/${set!.id}`)).body.modules).to.deep.equal([]);
    expect((await mgmt("POST", `/distributionsets/${set!.id}/assignedSM`, [{ id: sm!.id }])).status).to.equal(204);

    // Assigned and installed targets of a set.
    const assigned = await mgmt("POST", `/distributionsets/${set!.id}/assignedTargets`, [{ id: "bulk-1", type: "soft" }, { id: "bulk-2" }]);
    expect(assigned.body).to.include({ assigned: 2, alreadyAssigned: 0, total: 2 });
    expect((await mgmt("GET", `/distributionsets/${set!.id}/assignedTargets`)).body.content.map((t: Json) => t.controllerId)).to.deep.equal(["bulk-1", "bulk-2"]);
    expect((await mgmt("GET", `/distributionsets/${set!.id}/installedTargets`)).body.total).to.equal(0);
    expect((await mgmt("DELETE", `/distributionsets/${set!.id}/assignedSM/${sm!.id}`)).status, "locked by the assignment (SP_LOCKED)").to.equal(423);
    expect((await mgmt("GET", `/distributionsets/${set!.id}/autoAssignTargetFilters`)).body.total).to.equal(0);

    // Distribution set tags.
    const [dsTag] = (await mgmt("POST", "/distributionsettags", [{ name: "stable" }])).body as unknown as Json[];
    expect((await mgmt("POST", `/distributionsettags/${dsTag!.id}/assigned`, [set!.id, dsId])).status).to.equal(204);
    expect((await mgmt("GET", `/distributionsettags/${dsTag!.id}/assigned`)).body.total).to.equal(2);
    expect((await mgmt("GET", "/distributionsets?q=tag==stable")).body.total).to.equal(2);
    expect((await mgmt("DELETE", `/distributionsettags/${dsTag!.id}/assigned/${dsId}`)).status).to.equal(204);
    expect((await mgmt("PUT", `/distributionsettags/${dsTag!.id}`, { name: "lts", colour: "green" })).body).to.include({ name: "lts", colour: "green" });
    expect((await mgmt("GET", `/distributionsettags/${dsTag!.id}/assigned`)).body.content.map((d: Json) => d.id)).to.deep.equal([set!.id]);
    expect((await mgmt("DELETE", `/distributionsettags/${dsTag!.id}`)).status).to.equal(204);

    // Target tags, target types and rollouts take updates too.
    const [tag] = (await mgmt("POST", "/targettags", [{ name: "lab" }])).body as unknown as Json[];
    expect((await mgmt("PUT", `/targettags/${tag!.id}`, { description: "the lab" })).body).to.include({ name: "lab", description: "the lab" });
    const [targetType] = (await mgmt("POST", "/targettypes", [{ name: "gateway", key: "gw" }])).body as unknown as Json[];
    expect((await mgmt("PUT", `/targettypes/${targetType!.id}`, { name: "edge gateway" })).body).to.include({ name: "edge gateway" });
    expect((await mgmt("POST", `/targettypes/${targetType!.id}/compatibledistributionsettypes`, [{ id: dsType!.id }])).status).to.equal(204);
    expect((await mgmt("GET", `/targettypes/${targetType!.id}/compatibledistributionsettypes`)).body.map((t: Json) => t.key)).to.deep.equal(["fwonly"]);
    expect((await mgmt("DELETE", `/targettypes/${targetType!.id}/compatibledistributionsettypes/${dsType!.id}`)).status).to.equal(204);
    const rollout = (await mgmt("POST", "/rollouts", { name: "renamed-later", targetFilterQuery: "controllerId==bulk-3", distributionSetId: dsId, amountGroups: 1 })).body;
    expect((await mgmt("PUT", `/rollouts/${rollout.id}`, { name: "renamed", description: "now" })).body).to.include({ name: "renamed", description: "now" });
    // Listings are compact unless asked for in full (MgmtRolloutMapper.toResponseRollout withDetails).
    const compact = (await mgmt("GET", "/rollouts?q=name==renamed")).body.content[0];
    expect(compact).to.not.have.property("totalTargetsPerStatus");
    expect(Object.keys(compact._links)).to.deep.equal(["self"]);
    expect((await mgmt("GET", "/rollouts?q=name==renamed&representation=full")).body.content[0]).to.have.property("totalTargetsPerStatus");

    // A type still in use is soft-deleted; an unused one disappears.
    expect((await mgmt("DELETE", `/softwaremoduletypes/${smType!.id}`)).status).to.equal(204);
    expect((await mgmt("GET", `/softwaremoduletypes/${smType!.id}`)).body).to.include({ deleted: true });
    const [spare] = (await mgmt("POST", "/softwaremoduletypes", [{ key: "spare", name: "Spare" }])).body as unknown as Json[];
    expect((await mgmt("DELETE", `/softwaremoduletypes/${spare!.id}`)).status).to.equal(204);
    expect((await mgmt("GET", `/softwaremoduletypes/${spare!.id}`)).status).to.equal(404);
  });
});
