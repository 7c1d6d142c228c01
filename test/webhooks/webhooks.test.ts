// Webhooks: subscriptions (secret never shown), signed deliveries of campaign and device events from a local
// receiver that refuses the first attempts, retries with backoff, and deliveries that survive a restart of Aerie.
import { type IncomingMessage, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from "../../api/webhooks/signature.js";
import { type AerieApiError, waitFor } from "../../scripts/lib/aerie-client.js";
import { type CampaignHarness, DdiDevice, runDevices, startCampaignHarness } from "../campaigns/harness.js";

interface Received {
  delivery: string;
  event: string;
  signature?: string;
  timestamp?: string;
  body: string;
  answered: number;
}

/** A webhook receiver on 127.0.0.1 that answers 500 to the first `failFirst` attempts of every delivery. */
async function startReceiver(failFirst: number) {
  const received: Received[] = [];
  const tries = new Map<string, number>();
  let down = false;
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const delivery = String(req.headers[DELIVERY_HEADER]);
      const n = (tries.get(delivery) ?? 0) + 1;
      tries.set(delivery, n);
      const answered = down || n <= failFirst ? 500 : 200;
      received.push({
        delivery, event: String(req.headers[EVENT_HEADER]), signature: req.headers[SIGNATURE_HEADER] as string,
        timestamp: req.headers[TIMESTAMP_HEADER] as string, body: Buffer.concat(chunks).toString("utf8"), answered,
      });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    setDown(value: boolean) {
      down = value;
    },
    accepted: () => received.filter((r) => r.answered === 200),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const SECRET = "whsec-0123456789abcdef";

describe("webhooks", function () {
  this.timeout(120_000);
  let h: CampaignHarness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    h = await startCampaignHarness({ webhooks: { pollIntervalMs: 100, retryBaseMs: 200, retryMaxMs: 1000, maxAttempts: 6, timeoutMs: 2000 } });
    receiver = await startReceiver(2);
  });

  after(async () => {
    await h?.dispose();
    await receiver?.close();
  });

  it("keeps subscriptions without ever showing their secret, and checks their input", async () => {
    const bad = await h.api.request("POST", "/api/v1/webhooks", { url: "ftp://x", events: ["campaign.*"], secret: SECRET }).catch((e: AerieApiError) => e);
    expect((bad as AerieApiError).status).to.equal(400);
    const unknown = await h.api.request("POST", "/api/v1/webhooks", { url: receiver.url, events: ["campaign.exploded"], secret: SECRET }).catch((e: AerieApiError) => e);
    expect((unknown as AerieApiError).status).to.equal(400);
    const created = await h.api.request<{ id: string }>("POST", "/api/v1/webhooks", { url: receiver.url, events: ["campaign.*", "device.*"], secret: SECRET });
    const listed = await h.api.request<object[]>("GET", "/api/v1/webhooks");
    const one = await h.api.request<object>("GET", `/api/v1/webhooks/${created.id}`);
    for (const shown of [created, listed, one]) expect(JSON.stringify(shown)).to.not.contain(SECRET);
    expect(JSON.stringify((await h.db.auditEvent.findMany({ where: { action: "webhook.create" } })).map((a) => a.details))).to.not.contain(SECRET);
    const other = await h.api.request<{ id: string }>("POST", "/api/v1/webhooks", { url: receiver.url, events: ["*"], secret: SECRET });
    await h.api.request("DELETE", `/api/v1/webhooks/${other.id}`, undefined, [204]);
    expect((await h.api.request<object[]>("GET", "/api/v1/webhooks")).length).to.equal(1);
  });

  it("delivers signed campaign and device events, retrying the refused attempts with backoff", async () => {
    const devices = ["wh-1", "wh-2"].map((id) => new DdiDevice(id, h.standin.url, h.db, { hardware: "rev-w" }));
    for (const d of devices) await d.register();
    devices[1]!.healthy = false;
    const artifact = await h.addArtifact("wh.swu", Buffer.from("webhook image"));
    const release = await h.api.createRelease({ name: "wh-os", version: "1", artifacts: [artifact] });
    const c = await h.api.request<{ id: string }>("POST", "/api/v1/campaigns", { name: "wh-campaign", releaseId: release.id, selection: "hardware==rev-w", groups: 1, start: true });
    await runDevices(devices, h.hawkbit, async () => ((await h.api.request<{ status: string }>("GET", `/api/v1/campaigns/${c.id}`)).status === "finished" ? true : undefined));

    const expected = ["campaign.created", "campaign.started", "device.update.succeeded", "device.update.succeeded", "device.unhealthy", "campaign.finished"];
    const accepted = await waitFor("every event delivered", async () => {
      const a = receiver.accepted();
      return a.length >= expected.length ? a : undefined;
    }, 30_000, 100);
    expect(accepted.map((r) => r.event).sort()).to.deep.equal([...expected].sort());
    for (const r of accepted) {
      expect(verify(SECRET, { signature: r.signature, timestamp: r.timestamp }, r.body), `signature of ${r.event}`).to.equal(true);
      expect(verify("some-other-secret-value", { signature: r.signature, timestamp: r.timestamp }, r.body)).to.equal(false);
      // A replayed body with a new timestamp does not verify: the timestamp is signed too.
      expect(verify(SECRET, { signature: r.signature, timestamp: String(Number(r.timestamp) + 1) }, r.body)).to.equal(false);
      const body = JSON.parse(r.body) as { id: string; event: string; data: Record<string, unknown> };
      expect(body).to.include({ id: r.delivery, event: r.event });
      expect(r.body).to.not.contain(SECRET);
      // Two refusals, then the success: three attempts each, spaced by the backoff.
      const attempts = receiver.received.filter((x) => x.delivery === r.delivery);
      expect(attempts.map((x) => x.answered)).to.deep.equal([500, 500, 200]);
    }
    const finished = JSON.parse(accepted.find((r) => r.event === "campaign.finished")!.body) as { subject: string };
    expect(finished.subject).to.equal(`campaign:${c.id}`);
    const unhealthy = JSON.parse(accepted.find((r) => r.event === "device.unhealthy")!.body) as { data: { healthy: boolean } };
    expect(unhealthy.data.healthy).to.equal(false);
    // The receiver answers before the dispatcher records the answer: wait for the rows too.
    const rows = await waitFor("every delivery recorded", async () => {
      const all = await h.db.webhookDelivery.findMany();
      return all.length === expected.length && all.every((d) => d.status === "delivered") ? all : undefined;
    }, 10_000, 100);
    expect(rows.map((d) => d.attempts)).to.deep.equal(expected.map(() => 3));
  });

  it("keeps undelivered events across a restart and delivers them afterwards", async () => {
    receiver.setDown(true);
    const release = await h.db.release.findFirstOrThrow({ where: { name: "wh-os" } });
    const c = await h.api.request<{ id: string }>("POST", "/api/v1/campaigns", { name: "wh-restart", releaseId: release.id, selection: "hardware==rev-w" });
    const pending = await waitFor("a failed attempt", async () => {
      const d = await h.db.webhookDelivery.findFirst({ where: { event: "campaign.created", payload: { path: ["subject"], equals: `campaign:${c.id}` } } });
      return d && d.attempts >= 1 ? d : undefined;
    }, 20_000, 100);
    expect(pending.status).to.equal("pending");
    await h.kill();
    receiver.setDown(false);
    await h.start();
    const delivered = await waitFor("delivered after the restart", async () => {
      const d = await h.db.webhookDelivery.findUniqueOrThrow({ where: { id: pending.id } });
      return d.status === "delivered" ? d : undefined;
    }, 20_000, 100);
    expect(delivered.attempts).to.be.greaterThan(1);
    expect(receiver.accepted().some((r) => r.delivery === String(pending.id))).to.equal(true);
  });

  it("gives a delivery up after the last attempt", async () => {
    receiver.setDown(true);
    const release = await h.db.release.findFirstOrThrow({ where: { name: "wh-os" } });
    const c = await h.api.request<{ id: string }>("POST", "/api/v1/campaigns", { name: "wh-give-up", releaseId: release.id, selection: "hardware==rev-w" });
    const failed = await waitFor("given up", async () => {
      const d = await h.db.webhookDelivery.findFirst({ where: { payload: { path: ["subject"], equals: `campaign:${c.id}` } } });
      return d?.status === "failed" ? d : undefined;
    }, 30_000, 100);
    expect(failed).to.include({ attempts: 6, lastStatus: 500, lastError: "HTTP 500" });
    receiver.setDown(false);
  });
});
