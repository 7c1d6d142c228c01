// Aerie's start against hawkBit (hawkbit/startup.ts): a server that answers unlike hawkBit 1.x is refused with the
// missing capability named; gateway-token authentication, off in a fresh hawkBit, is switched on with Aerie's key
// when its Management user may, and otherwise /readyz says exactly what to set, never showing a key.
import { expect } from "chai";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { checkHawkbit1x, HawkbitIncompatibleError } from "../../hawkbit/compatibility.js";
import { ensureGatewayToken, GATEWAY_TOKEN_ENABLED, GATEWAY_TOKEN_KEY } from "../../hawkbit/gateway-token.js";
import { prepareHawkbit } from "../../hawkbit/startup.js";
import { freePort } from "../helpers/env.js";
import { CREDENTIALS, startConformantStandin, type ConformantStandin } from "../helpers/hawkbit-conformance.js";
import { startHawkbitProxy, type HawkbitProxyOptions } from "../helpers/hawkbit-proxy.js";

const KEY = "aerie-gateway-key-0123456789";
const quiet = { info: () => undefined, warn: () => undefined };
const client = (url: string) => new HawkbitManagementClient({ baseUrl: url, username: CREDENTIALS.username, password: CREDENTIALS.password, retries: 0, timeoutMs: 5000 });

async function ddiStatus(standin: ConformantStandin, token: string): Promise<number> {
  const response = await fetch(`${standin.url}/${CREDENTIALS.tenant}/controller/v1/compat-device`, { headers: { Authorization: `GatewayToken ${token}`, Accept: "application/json" } });
  await response.arrayBuffer();
  return response.status;
}

describe("hawkBit at Aerie's start: 1.x check and gateway token", function () {
  this.timeout(60_000);
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!().catch(() => undefined);
  });

  async function standin(tenantConfig: Record<string, unknown> = {}): Promise<ConformantStandin> {
    const s = await startConformantStandin({ tenantConfig });
    cleanup.push(() => s.dispose());
    return s;
  }
  async function proxy(upstream: string, refuse: HawkbitProxyOptions["refuse"]) {
    const p = await startHawkbitProxy(upstream, { refuse });
    cleanup.push(() => p.close());
    return p;
  }

  it("switches gateway-token authentication on with Aerie's key in a hawkBit with its defaults, once", async () => {
    const hawkbit = await standin();
    expect(await ddiStatus(hawkbit, KEY), "hawkBit's default: DDI gateway token off").to.equal(401);
    const ready = await prepareHawkbit(client(hawkbit.url), KEY, quiet);
    expect(await ready()).to.match(/1\.x/);
    expect(await ddiStatus(hawkbit, KEY)).to.equal(200);
    expect((await client(hawkbit.url).getTenantConfig(GATEWAY_TOKEN_ENABLED)).value).to.equal(true);
    expect(await ensureGatewayToken(client(hawkbit.url), KEY)).to.deep.equal({ ok: true, changed: [] });
    hawkbit.assertConformant();
  });

  it("without the tenant-configuration permission, /readyz names what to set and hawkBit is left as it was", async () => {
    const hawkbit = await standin();
    const forbidding = await proxy(hawkbit.url, (method, url) =>
      method === "PUT" && url.startsWith("/rest/v1/system/configs") ? { status: 403, reason: "Access is denied", errorCode: "hawkbit.server.error.insufficientPermission" } : undefined);
    const ready = await prepareHawkbit(client(forbidding.url), KEY, quiet);
    const error = await ready().then(() => undefined, (e: Error) => e);
    expect(error?.message).to.contain(`${GATEWAY_TOKEN_ENABLED}=true`).and.to.contain(GATEWAY_TOKEN_KEY).and.to.contain("HAWKBIT_GATEWAY_TOKEN");
    expect(error?.message).to.not.contain(KEY);
    expect(await ddiStatus(hawkbit, KEY)).to.equal(401);
  });

  it("never overwrites another gateway's key, and says so without showing either key", async () => {
    const hawkbit = await standin({ [GATEWAY_TOKEN_ENABLED]: true, [GATEWAY_TOKEN_KEY]: "someone-elses-key" });
    const state = await ensureGatewayToken(client(hawkbit.url), KEY);
    expect(state.ok).to.equal(false);
    const reason = (state as { reason: string }).reason;
    expect(reason).to.contain(GATEWAY_TOKEN_KEY).and.to.not.contain("someone-elses-key").and.to.not.contain(KEY);
    expect(await ddiStatus(hawkbit, "someone-elses-key")).to.equal(200);
    expect(await ddiStatus(hawkbit, KEY)).to.equal(401);
  });

  it("accepts the stand-in as hawkBit 1.x", async () => {
    await checkHawkbit1x(client((await standin()).url));
  });

  it("refuses a server without the 1.x action field `active`, naming it", async () => {
    const hawkbit = await standin();
    const old = await proxy(hawkbit.url, (method, url) => (method === "GET" && url.includes("active%3D%3D") ? "Unknown search parameter field: active" : undefined));
    const error = await prepareHawkbit(client(old.url), KEY, quiet).then(() => undefined, (e: Error) => e);
    expect(error).to.be.instanceOf(HawkbitIncompatibleError);
    expect((error as HawkbitIncompatibleError).capability).to.contain("`active`");
    expect(error!.message).to.contain("hawkBit 1.x");
  });

  it("refuses a server that knows only pending/finished as action statuses (hawkBit 0.x), naming it", async () => {
    const hawkbit = await standin();
    const old = await proxy(hawkbit.url, (method, url) => (method === "GET" && url.includes("status%3D%3Dwait_for_confirmation") ? "Value of status must be one of the following: [pending, finished]" : undefined));
    const error = await checkHawkbit1x(client(old.url)).then(() => undefined, (e: Error) => e);
    expect(error).to.be.instanceOf(HawkbitIncompatibleError);
    expect((error as HawkbitIncompatibleError).capability).to.contain("status==wait_for_confirmation");
  });

  it("starts while hawkBit is unreachable and reports it until it answers", async () => {
    const ready = await prepareHawkbit(client(`http://127.0.0.1:${await freePort()}`), KEY, quiet);
    const error = await ready().then(() => undefined, (e: Error) => e);
    expect(error).to.be.instanceOf(Error);
    expect(error).to.not.be.instanceOf(HawkbitIncompatibleError);
  });
});
