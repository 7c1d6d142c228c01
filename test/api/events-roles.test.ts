// GET /api/v1/events filtered by the caller's role, on the real embedded stack: each event type's permission
// (EVENT_PERMISSIONS) decides. An admin's default stream carries webhook.delivery (permission webhooks:manage), a
// viewer's does not, and a viewer or operator naming it in ?types= gets a 403 naming the type. A real webhook
// delivery (sent by Aerie's dispatcher to a local receiver) then reaches the admin's stream only.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import pg from "pg";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

type Received = { type: string; data: Record<string, unknown> }[];

/** Reads a Server-Sent-Events stream into `events` until aborted. */
async function readEvents(url: string, events: Received, signal: AbortSignal, token: string): Promise<void> {
  const response = await fetch(url, { signal, headers: { accept: "text/event-stream", authorization: `Bearer ${token}` } });
  expect(response.status, await (response.ok ? Promise.resolve("") : response.text())).to.equal(200);
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

describe("live events: filtered by the caller's role", function () {
  this.timeout(180_000);
  let test: TestStack;
  let receiver: Server;
  const hits: string[] = [];
  const tokens: Record<string, string> = {};
  const streams = new AbortController();

  const open = async (role: string, query = ""): Promise<Received> => {
    const events: Received = [];
    await readEvents(`${test.stack.endpoints.api}/api/v1/events${query}`, events, streams.signal, tokens[role]!);
    await waitFor(`${role}'s stream to be ready`, async () => (events.some((e) => e.type === "ready") ? true : undefined), 10_000);
    return events;
  };
  const status = async (role: string, query: string) => {
    const response = await fetch(`${test.stack.endpoints.api}/api/v1/events${query}`, { headers: { authorization: `Bearer ${tokens[role]}` } });
    const body = response.ok ? "" : await response.text();
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status, body };
  };

  before(async () => {
    receiver = createServer((req, res) => {
      hits.push(req.url ?? "");
      req.resume().on("end", () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    test = await startTestStack({ AERIE_WEBHOOK_ALLOW: "127.0.0.1" });
    tokens.admin = test.adminToken;
    for (const role of ["viewer", "operator"]) {
      tokens[role] = (await test.api.request<{ token: string }>("POST", "/api/v1/tokens", { name: `events-${role}`, role, expires: "1h" })).token;
    }
  });

  after(async () => {
    streams.abort();
    await test?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it("names in `ready` only the types the role may see", async () => {
    const admin = await open("admin");
    const viewer = await open("viewer");
    expect(admin.find((e) => e.type === "ready")!.data.types).to.have.members(["campaign", "campaign.progress", "action", "presence", "webhook.delivery"]);
    expect(viewer.find((e) => e.type === "ready")!.data.types).to.have.members(["campaign", "campaign.progress", "action", "presence"]);
  });

  it("refuses with 403 naming the type when a role asks for one it may not see", async () => {
    for (const role of ["viewer", "operator"]) {
      for (const query of ["?types=webhook.delivery", "?types=presence,webhook.delivery"]) {
        const answer = await status(role, query);
        expect(answer.status, `${role} ${query}`).to.equal(403);
        expect(answer.body).to.contain("webhook.delivery").and.to.contain("webhooks:manage");
      }
      expect((await status(role, "?types=presence,action")).status).to.equal(200);
    }
    expect((await status("admin", "?types=webhook.delivery")).status).to.equal(200);
    // Unknown types are still a 400, whoever asks.
    expect((await status("viewer", "?types=bogus")).status).to.equal(400);
    // Like every 403, audited with the principal.
    const audit = await test.api.request<{ events: { action: string; details: unknown }[] }>("GET", "/api/v1/audit?limit=500");
    expect(audit.events.some((e) => JSON.stringify(e).includes("webhook.delivery"))).to.equal(true);
  });

  it("streams a real webhook delivery to the admin and not to the viewer", async () => {
    const admin = await open("admin");
    const viewer = await open("viewer");
    const narrowed = await open("admin", "?types=webhook.delivery");
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook/secret-path?token=abc`;
    const webhook = await test.api.request<{ id: string }>("POST", "/api/v1/webhooks", { url, events: ["campaign.created"], secret: "s3cret-s3cret-s3cret" });
    // A delivery as the audit trigger would enqueue it; Aerie's dispatcher sends it.
    const client = new pg.Client({ connectionString: test.stack.databaseUrl });
    await client.connect();
    try {
      await client.query(`INSERT INTO webhook_deliveries (subscription_id, event, payload) VALUES ($1, 'campaign.created', '{"event":"campaign.created"}')`, [webhook.id]);
    } finally {
      await client.end();
    }
    const delivered = await waitFor("the delivery event", async () => admin.find((e) => e.type === "webhook.delivery"), 30_000);
    expect(hits).to.have.length(1);
    expect(delivered.data).to.include({ webhookId: webhook.id, event: "campaign.created", status: "delivered", attempts: 1, httpStatus: 204 });
    // The target's origin only: webhook URLs carry secrets in their path and query.
    expect(delivered.data.target).to.equal(new URL(url).origin);
    expect(JSON.stringify(delivered.data)).not.to.contain("secret-path");
    await waitFor("the narrowed stream", async () => narrowed.find((e) => e.type === "webhook.delivery"), 10_000);
    // Both subscribers are written in the same pass; a moment for the bytes to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(viewer.filter((e) => e.type === "webhook.delivery")).to.deep.equal([]);
  });
});
