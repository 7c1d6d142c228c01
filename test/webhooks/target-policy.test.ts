// Webhooks cannot be turned inward: loopback, private, link-local (metadata), unique-local and other
// non-public targets are refused when a webhook is created and again at delivery on the address
// actually connected to (DNS rebinding), unless AERIE_WEBHOOK_ALLOW lists them; credentials in a
// webhook URL are never shown back.
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { postWebhook } from "../../api/webhooks/post.js";
import { forbiddenAddressReason, type Lookup, WebhookTargetPolicy, WebhookTargetRefused } from "../../api/webhooks/target-policy.js";
import { loadConfig } from "../../core/config.js";
import { type CampaignHarness, apiError, startCampaignHarness } from "../campaigns/harness.js";

const REFUSED = [
  "127.0.0.1", "127.8.9.10", "0.0.0.0", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1", "169.254.169.254", "169.254.170.2",
  "100.100.100.200", "100.64.0.1", "192.0.0.192", "224.0.0.1", "255.255.255.255", "198.18.0.1",
  "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd00:ec2::254", "ff02::1", "fec0::1",
  "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
];
const PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "2a00:1450:4001:82a::200e", "::ffff:8.8.8.8"];

/** A resolver answering from a table, counting calls per name. */
function fakeDns(table: Record<string, string[] | ((call: number) => string[])>) {
  const calls: Record<string, number> = {};
  const lookup: Lookup = async (hostname) => {
    calls[hostname] = (calls[hostname] ?? 0) + 1;
    const entry = table[hostname];
    if (!entry) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    const addresses = typeof entry === "function" ? entry(calls[hostname]!) : entry;
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return { lookup, calls };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(WebhookTargetRefused);
    return (error as WebhookTargetRefused).reason;
  }
  throw new Error("expected a refusal");
}

async function receiver(): Promise<{ server: Server; port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, hits: () => hits };
}

describe("webhook target policy", () => {
  describe("addresses", () => {
    for (const address of REFUSED) it(`refuses ${address}`, () => expect(forbiddenAddressReason(address)).to.be.a("string"));
    for (const address of PUBLIC) it(`allows ${address}`, () => expect(forbiddenAddressReason(address)).to.equal(undefined));
  });

  describe("URLs", () => {
    const policy = new WebhookTargetPolicy({
      lookup: fakeDns({ "hooks.example": ["93.184.216.34"], "internal.example": ["10.0.0.5"], "mixed.example": ["93.184.216.34", "127.0.0.1"], "v6.example": ["fd00::5"] }).lookup,
    });
    const refused = [
      "http://127.0.0.1:8080/api/v1/devices", "http://localhost.:8080/", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://[::ffff:a9fe:a9fe]/latest/meta-data",
      "http://169.254.169.254/latest/meta-data/iam", "http://2130706433/", "http://0x7f.1/", "http://017700000001/", "http://10.1/", "https://internal.example/hook",
      "https://mixed.example/hook", "https://v6.example/", "https://nowhere.example/", "http://[fe80::1%25eth0]/",
    ];
    for (const url of refused) it(`refuses ${url}`, async () => expect(await refusal(policy.checkUrl(url))).to.be.a("string"));
    it("allows a public host and a public address", async () => {
      await policy.checkUrl("https://hooks.example/in");
      await policy.checkUrl("http://8.8.8.8/");
      await policy.checkUrl("http://[2606:4700:4700::1111]/");
    });
  });

  it("refuses this machine's own addresses even when they are public", async () => {
    const policy = new WebhookTargetPolicy({ ownAddresses: ["203.0.114.7", "2a01:4f8::7"], lookup: fakeDns({ "me.example": ["2a01:4f8::7"] }).lookup });
    expect(await refusal(policy.checkUrl("http://203.0.114.7:8080/api/v1/devices"))).to.contain("this machine");
    expect(await refusal(policy.checkUrl("http://[::ffff:203.0.114.7]:8080/"))).to.contain("this machine");
    expect(await refusal(policy.checkUrl("https://me.example/"))).to.contain("this machine");
    await policy.checkUrl("http://203.0.114.8/");
  });

  it("allows what AERIE_WEBHOOK_ALLOW lists, and nothing next to it", async () => {
    const policy = new WebhookTargetPolicy({ allow: "127.0.0.1, hooks.internal,10.1.0.0/16,::1", lookup: fakeDns({ "hooks.internal": ["10.9.9.9"], "other.internal": ["10.9.9.9"] }).lookup });
    await policy.checkUrl("http://127.0.0.1:9000/");
    await policy.checkUrl("http://[::ffff:127.0.0.1]:9000/");
    await policy.checkUrl("http://[::1]:9000/");
    await policy.checkUrl("http://10.1.200.3/");
    await policy.checkUrl("https://hooks.internal/x");
    await refusal(policy.checkUrl("http://127.0.0.2/"));
    await refusal(policy.checkUrl("http://10.2.0.1/"));
    await refusal(policy.checkUrl("https://other.internal/"));
    await refusal(policy.checkUrl("http://169.254.169.254/"));
    expect(() => loadConfig({ AERIE_WEBHOOK_ALLOW: "10.0.0.0/99" })).to.throw(/AERIE_WEBHOOK_ALLOW/);
    expect(() => loadConfig({ AERIE_WEBHOOK_ALLOW: "not a host!" })).to.throw(/AERIE_WEBHOOK_ALLOW/);
    expect(loadConfig({ AERIE_WEBHOOK_ALLOW: "hooks.internal,10.0.0.0/8" }).webhookAllow).to.equal("hooks.internal,10.0.0.0/8");
  });

  it("refuses at delivery a name that resolved to a public address at creation and to loopback now (DNS rebinding)", async () => {
    const target = await receiver();
    try {
      const dns = fakeDns({ "rebind.example": (call) => (call === 1 ? ["93.184.216.34"] : ["127.0.0.1"]) });
      const policy = new WebhookTargetPolicy({ lookup: dns.lookup });
      const url = `http://rebind.example:${target.port}/hook`;
      await policy.checkUrl(url);
      const reason = await refusal(postWebhook(url, "{}", { headers: {}, signal: AbortSignal.timeout(5000), policy }));
      expect(reason).to.contain("127.0.0.1").and.contain("loopback");
      expect(dns.calls["rebind.example"]).to.equal(2);
      expect(target.hits()).to.equal(0);
      // An IP literal is checked without any lookup.
      await refusal(postWebhook(`http://127.0.0.1:${target.port}/hook`, "{}", { headers: {}, signal: AbortSignal.timeout(5000), policy }));
      expect(target.hits()).to.equal(0);

      // Control: the socket does connect where the policy's lookup says (the name exists nowhere else).
      const allowing = new WebhookTargetPolicy({ allow: "127.0.0.1", lookup: fakeDns({ "rebind.example": ["127.0.0.1"] }).lookup });
      expect(await postWebhook(url, "{}", { headers: {}, signal: AbortSignal.timeout(5000), policy: allowing })).to.equal(204);
      expect(target.hits()).to.equal(1);
    } finally {
      target.server.close();
    }
  });

  describe("through the API", function () {
    this.timeout(120_000);
    let h: CampaignHarness;

    before(async () => {
      h = await startCampaignHarness();
    });

    after(async () => {
      await h?.dispose();
    });

    it("refuses non-public targets with 400 naming url, and creates nothing", async () => {
      const before = await h.api.request<unknown[]>("GET", "/api/v1/webhooks");
      for (const url of ["http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/api/v1/devices", "http://[fd00:ec2::254]/", "http://[::ffff:192.168.0.1]/", "http://2130706434:8080/"]) {
        const body = await apiError(h.api.request("POST", "/api/v1/webhooks", { url, events: ["*"], secret: "0123456789abcdef" }), 400, "/url");
        expect(JSON.stringify(body)).to.match(/loopback|private|link-local|unique-local/);
      }
      expect(await h.api.request<unknown[]>("GET", "/api/v1/webhooks")).to.deep.equal(before);
    });

    it("never shows the credentials of a webhook URL", async () => {
      const url = "http://hook-user:hunter2-password@127.0.0.1:9/hook?channel=ops&token=tok-sekret-123";
      const created = await h.api.request<{ id: string; url: string }>("POST", "/api/v1/webhooks", { url, events: ["*"], secret: "0123456789abcdef" });
      const shown = JSON.stringify([created, await h.api.request("GET", "/api/v1/webhooks"), await h.api.request("GET", `/api/v1/webhooks/${created.id}`)]);
      expect(shown).to.not.contain("hunter2-password").and.not.contain("tok-sekret-123");
      expect(created.url).to.equal("http://hook-user:[redacted]@127.0.0.1:9/hook?channel=ops&token=[redacted]");
      await h.api.request("DELETE", `/api/v1/webhooks/${created.id}`, undefined, [204]);
    });
  });
});
