// The API the dashboard reads, on the real embedded stack with simulated MQTT devices: the fleet list (presence,
// last seen moved by telemetry, versions reconciled with health reports, search by controller id / VIN /
// attribute, counts), telemetry buckets from PostgreSQL, artifact listing, the campaign dry run with its
// exclusions, and deleting releases and artifacts no active campaign uses.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { AerieApiError, waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

type DeviceList = { total: number; devices: { controllerId: string; online: boolean; lastSeenAt: string | null; versions: Record<string, string>; runningVersion: string | null; identifiers: Record<string, string> }[]; summary: { total: number; online: number; byVersion: Record<string, number>; byHardware: Record<string, number> } };

async function refused(promise: Promise<unknown>, status: number, part: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(AerieApiError);
    expect((error as AerieApiError).status, JSON.stringify((error as AerieApiError).body)).to.equal(status);
    expect(JSON.stringify((error as AerieApiError).body)).to.contain(part);
    return;
  }
  expect.fail(`expected HTTP ${status}`);
}

/** Reads a Server-Sent-Events stream into `events` until aborted. */
async function readEvents(url: string, events: { type: string; data: Record<string, unknown> }[], signal: AbortSignal, token: string): Promise<void> {
  const response = await fetch(url, { signal, headers: { accept: "text/event-stream", authorization: `Bearer ${token}` } });
  expect(response.status).to.equal(200);
  expect(response.headers.get("content-type")).to.match(/^text\/event-stream/);
  const decoder = new TextDecoder();
  let buffer = "";
  void (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type && data) events.push({ type, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted
    }
  })();
}

describe("dashboard API: fleet, telemetry, artifacts, preview, deletion, live events", function () {
  this.timeout(240_000);
  let test: TestStack;
  const devices: SimulatedDevice[] = [];
  const get = <T>(path: string) => test.api.request<T>("GET", path);
  const events: { type: string; data: Record<string, unknown> }[] = [];
  const stream = new AbortController();

  before(async () => {
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
    await readEvents(`${test.stack.endpoints.api}/api/v1/events`, events, stream.signal, test.adminToken);
    await waitFor("the stream to be ready", async () => (events.some((e) => e.type === "ready") ? true : undefined), 10_000);
    const keyring = await test.keyring();
    const specs = [
      { id: "dash-1", hardware: "board-a", version: "1.0.0", vin: "WVWZZZ1JZXW000001", region: "eu" },
      { id: "dash-2", hardware: "board-a", version: "1.0.0", vin: "WVWZZZ1JZXW000002", region: "us" },
      { id: "dash-3", hardware: "board-b", version: "1.0.0", vin: "WVWZZZ1JZXW000003", region: "eu" },
      { id: "dash-4", hardware: "board-a", version: "0.9.0", vin: "WVWZZZ1JZXW000004", region: "eu" },
    ];
    for (const s of specs) {
      const device = new SimulatedDevice({ controllerId: s.id, mqttUrl: test.stack.endpoints.mqtt, keyring, hardware: s.hardware, version: s.version, secondaryIds: { vin: s.vin }, attributes: { region: s.region }, token: await test.deviceToken(s.id) });
      await device.start();
      devices.push(device);
    }
    await waitFor("registration", async () => ((await get<DeviceList>("/api/v1/devices")).total === specs.length ? true : undefined), 30_000);
  });

  after(async () => {
    stream.abort();
    for (const d of devices) await d.stop().catch(() => undefined);
    await test?.stop();
  });

  it("lists devices with presence, searches by controller id, VIN and attribute, and counts by version and hardware", async () => {
    const all = await waitFor("presence", async () => {
      const list = await get<DeviceList>("/api/v1/devices?sort=controllerId");
      return list.summary.online === 4 ? list : undefined;
    }, 20_000);
    expect(all.devices.map((d) => d.controllerId)).to.deep.equal(["dash-1", "dash-2", "dash-3", "dash-4"]);
    expect(all.devices[0]!.identifiers).to.deep.equal({ vin: "WVWZZZ1JZXW000001" });
    expect(all.summary.byHardware).to.deep.equal({ "board-a": 3, "board-b": 1 });
    expect(all.summary.byVersion).to.deep.equal({ "1.0.0": 3, "0.9.0": 1 });
    expect((await get<DeviceList>("/api/v1/devices?search=xw000003")).devices.map((d) => d.controllerId)).to.deep.equal(["dash-3"]);
    expect((await get<DeviceList>("/api/v1/devices?search=DASH-2")).devices.map((d) => d.controllerId)).to.deep.equal(["dash-2"]);
    expect((await get<DeviceList>("/api/v1/devices?attribute=region=eu&hardware=board-a")).devices.map((d) => d.controllerId)).to.deep.equal(["dash-1", "dash-4"]);
    expect((await get<DeviceList>("/api/v1/devices?sort=controllerId&order=desc&limit=1")).devices.map((d) => d.controllerId)).to.deep.equal(["dash-4"]);
    await refused(get("/api/v1/devices?sort=nope"), 400, "sort");
    await refused(get("/api/v1/devices?attribute=bad%20key=1"), 400, "attribute");

    await devices[3]!.stop();
    const offline = await waitFor("offline", async () => {
      const list = await get<DeviceList>("/api/v1/devices?online=false");
      return list.total === 1 ? list : undefined;
    }, 20_000);
    expect(offline.devices[0]!.controllerId).to.equal("dash-4");
  });

  it("moves lastSeenAt with telemetry (throttled writes) and buckets telemetry in PostgreSQL", async () => {
    const before = (await get<DeviceList>("/api/v1/devices?search=dash-1")).devices[0]!.lastSeenAt!;
    for (let i = 0; i < 6; i++) await devices[0]!.sendTelemetry({ cpuLoad: i, label: "x" });
    const moved = await waitFor("lastSeenAt to move", async () => {
      const seen = (await get<DeviceList>("/api/v1/devices?search=dash-1")).devices[0]!.lastSeenAt!;
      return seen > before ? seen : undefined;
    }, 20_000);
    expect(new Date(moved).getTime()).to.be.greaterThan(new Date(before).getTime());

    const from = new Date(Date.now() - 600_000).toISOString();
    const series = await waitFor("telemetry rows", async () => {
      const t = await get<{ step: number; series: Record<string, { avg: number; min: number; max: number; count: number }[]> }>(`/api/v1/devices/dash-1/telemetry?from=${from}&step=1h`);
      return t.series.cpuLoad?.reduce((n, b) => n + b.count, 0) === 6 ? t : undefined;
    }, 20_000);
    expect(series.step).to.equal(3600);
    expect(series.series).to.not.have.property("label");
    const buckets = series.series.cpuLoad!;
    expect(Math.min(...buckets.map((b) => b.min))).to.equal(0);
    expect(Math.max(...buckets.map((b) => b.max))).to.equal(5);
    await refused(get(`/api/v1/devices/dash-1/telemetry?from=${from}&step=0.01`), 400, "step");
    await refused(get("/api/v1/devices/nobody/telemetry"), 404, "nobody");
  });

  let releaseId: string;
  let spareArtifact: string;

  it("lists artifacts and previews a campaign: selected, and excluded with the reason", async () => {
    const image = randomBytes(4096);
    const artifact = await test.api.uploadArtifact("dash-2.0.0.swu", image, image.length);
    await test.api.signArtifact(artifact.id);
    spareArtifact = (await test.api.uploadArtifact("spare.bin", Buffer.from("spare"), 5)).id;
    const listed = await get<{ id: string; signatures: unknown[] }[]>("/api/v1/artifacts");
    expect(listed.map((a) => a.id)).to.include.members([artifact.id, spareArtifact]);
    expect(listed.find((a) => a.id === artifact.id)!.signatures).to.have.length(1);
    expect((await get<{ id: string }[]>("/api/v1/artifacts?unbound=true")).map((a) => a.id)).to.include(spareArtifact);

    releaseId = (await test.api.request<{ id: string }>("POST", "/api/v1/releases", { name: "dash-os", version: "2.0.0", archives: [{ hardwareType: "board-a", artifactId: artifact.id }], upgradableFrom: ["1.0.0"] })).id;
    const preview = await test.api.request<{ selected: { total: number; devices: { controllerId: string }[] }; excluded: { total: number; devices: { controllerId: string; reason: string }[] }; groups: { devices: number }[] }>(
      "POST", "/api/v1/campaigns/preview", { releaseId, selection: "controllerId==dash-*", groups: 2 });
    expect(preview.selected.devices.map((d) => d.controllerId)).to.deep.equal(["dash-1", "dash-2"]);
    expect(preview.excluded.total).to.equal(2);
    const reasons = Object.fromEntries(preview.excluded.devices.map((d) => [d.controllerId, d.reason]));
    expect(reasons["dash-3"]).to.contain("hardware");
    expect(reasons["dash-4"]).to.contain("updates from");
    expect(preview.groups.map((g) => g.devices)).to.deep.equal([1, 1]);
    expect((await test.api.request<{ total: number }>("GET", "/api/v1/campaigns")) as unknown as unknown[]).to.have.length(0);
    await refused(test.api.request("POST", "/api/v1/campaigns/preview", { releaseId, selection: "controllerId==dash-*", errorThreshold: 101 }), 400, "errorThreshold");
  });

  it("reconciles installed versions with health reports, and deletes only what no active campaign uses", async () => {
    const campaign = await test.api.request<{ id: string }>("POST", "/api/v1/campaigns", { name: "dash-campaign", releaseId, selection: "controllerId==dash-*", groups: 1, start: true });
    await refused(test.api.request("DELETE", `/api/v1/releases/${releaseId}`), 409, "dash-campaign");
    await waitFor("campaign finished", async () => ((await test.api.campaign(campaign.id)).status === "finished" ? true : undefined), 90_000);
    const updated = await waitFor("versions reconciled", async () => {
      const list = await get<DeviceList>("/api/v1/devices?search=dash-1");
      return list.devices[0]!.versions.rootfs === "2.0.0" ? list.devices[0] : undefined;
    }, 20_000);
    expect(updated!.runningVersion).to.equal("2.0.0");
    expect((await get<{ controllerId: string }[]>(`/api/v1/releases/${releaseId}/devices`)).map((d) => d.controllerId)).to.deep.equal(["dash-1", "dash-2"]);

    const artifactOfRelease = (await get<{ id: string }[]>(`/api/v1/artifacts?releaseId=${releaseId}`))[0]!.id;
    await refused(test.api.request("DELETE", `/api/v1/artifacts/${artifactOfRelease}`, undefined, [204]), 409, "dash-os");
    const deleted = await test.api.request<{ status: string }>("DELETE", `/api/v1/releases/${releaseId}`);
    expect(deleted.status).to.equal("deleted");
    expect((await get<{ status: string }>(`/api/v1/releases/${releaseId}`)).status).to.equal("deleted");
    await test.api.request("DELETE", `/api/v1/artifacts/${spareArtifact}`, undefined, [204]);
    await refused(get(`/api/v1/artifacts/${spareArtifact}`), 404, spareArtifact);
    await refused(test.api.request("POST", "/api/v1/campaigns", { name: "dash-again", releaseId, selection: "controllerId==dash-*" }), 409, "deleted");
  });

  it("streamed presence, action status, campaign status and progress as Server-Sent Events", async () => {
    expect(events.find((e) => e.type === "ready")!.data.types).to.have.members(["campaign", "campaign.progress", "action", "presence", "webhook.delivery"]);
    expect(events.some((e) => e.type === "presence" && e.data.controllerId === "dash-1" && e.data.online === true)).to.equal(true);
    expect(events.some((e) => e.type === "presence" && e.data.controllerId === "dash-4" && e.data.online === false)).to.equal(true);
    const campaign = events.find((e) => e.type === "campaign" && e.data.name === "dash-campaign")!;
    expect(campaign, "a campaign event").to.not.equal(undefined);
    const id = campaign.data.campaignId;
    const statuses = events.filter((e) => e.type === "campaign" && e.data.campaignId === id).map((e) => e.data.status);
    expect(statuses).to.include("finished");
    expect(events.some((e) => e.type === "action" && e.data.controllerId === "dash-2" && e.data.status === "success" && e.data.campaignId === id)).to.equal(true);
    const progress = await waitFor("final progress", async () => events.filter((e) => e.type === "campaign.progress" && e.data.campaignId === id).find((e) => (e.data.byStatus as Record<string, number>).success === 2), 10_000);
    expect(progress.data.devices).to.equal(2);

    // Narrowed to one type; an unknown type is refused naming the parameter.
    const only: typeof events = [];
    const narrow = new AbortController();
    await readEvents(`${test.stack.endpoints.api}/api/v1/events?types=presence`, only, narrow.signal, test.adminToken);
    await devices[2]!.stop();
    await waitFor("presence only", async () => (only.some((e) => e.type === "presence" && e.data.controllerId === "dash-3") ? true : undefined), 20_000);
    expect(only.every((e) => e.type === "presence" || e.type === "ready")).to.equal(true);
    narrow.abort();
    await refused(get("/api/v1/events?types=bogus"), 400, "types");
  });
});
