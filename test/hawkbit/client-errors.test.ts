// How the Management client and DDI channel behave when hawkBit says no: typed errors, auth, retries.
import { expect } from "chai";
import { HawkbitAuthError, HawkbitError, HawkbitNotFoundError, HawkbitValidationError } from "../../hawkbit/errors.js";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { DdiChannel } from "../../hawkbit/ddi-channel.js";
import { CREDENTIALS, type ConformantStandin, startConformantStandin } from "../helpers/hawkbit-conformance.js";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.js";

const FAST_RETRY = { base: 5, max: 20 };

describe("hawkBit clients: errors, auth and retries", () => {
  let standin: ConformantStandin;
  let proxy: FaultProxy;
  let mgmt: HawkbitManagementClient;

  before(async () => {
    standin = await startConformantStandin();
    proxy = await startFaultProxy(standin.url);
    mgmt = new HawkbitManagementClient({
      baseUrl: proxy.url, username: CREDENTIALS.username, password: CREDENTIALS.password, retries: 3, retryDelayMs: FAST_RETRY,
    });
  });

  after(async () => {
    await proxy?.close();
    await standin?.dispose();
  });

  beforeEach(() => {
    proxy.requests.length = 0;
  });

  afterEach(() => standin.assertConformant());

  it("answers 401 without or with wrong credentials", async () => {
    const bare = await fetch(`${standin.url}/rest/v1/targets`);
    expect(bare.status).to.equal(401);
    const wrong = new HawkbitManagementClient({ baseUrl: standin.url, username: "aerie", password: "wrong", retries: 0 });
    const error = await wrong.listTargets().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HawkbitAuthError);
    expect((error as HawkbitError).kind).to.equal("auth");
    expect((error as HawkbitError).message).not.to.contain("wrong");
    const ddi = await fetch(`${standin.url}/DEFAULT/controller/v1/dev-x`, { headers: { Authorization: "GatewayToken nope" } });
    expect(ddi.status).to.equal(401);
  });

  it("maps hawkBit's 404 ExceptionInfo to a typed not-found error", async () => {
    const raw = await fetch(`${standin.url}/rest/v1/softwaremodules/4242`, {
      headers: { Authorization: `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString("base64")}` },
    });
    expect(raw.status).to.equal(404);
    expect(await raw.json()).to.deep.equal({
      exceptionClass: "org.eclipse.hawkbit.repository.exception.EntityNotFoundException",
      errorCode: "hawkbit.server.error.repo.entityNotFound",
      message: "SoftwareModule with given identifier {4242} does not exist.",
    });
    const error = await mgmt.getSoftwareModule(4242).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HawkbitNotFoundError);
    expect(error).to.include({ status: 404, kind: "not-found", errorCode: "hawkbit.server.error.repo.entityNotFound" });
    expect((error as HawkbitError).exceptionClass).to.match(/EntityNotFoundException$/);
  });

  it("rejects an artifact whose sha256 does not match with a validation error", async () => {
    const sm = await mgmt.ensureSoftwareModule({ name: "app", version: "1", type: "application" });
    const error = await mgmt.uploadArtifact(sm.id, Buffer.from("payload"), { filename: "app.bin", sha256: "0".repeat(64) }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HawkbitValidationError);
    expect(error).to.include({ status: 400, errorCode: "hawkbit.server.error.artifact.uploadFailed.checksum.sha256.match" });
    expect(await mgmt.listArtifacts(sm.id)).to.deep.equal([]);
  });

  it("retries an idempotent GET after 503s", async () => {
    proxy.failNext(2, 503, (r) => r.method === "GET");
    const types = await mgmt.listSoftwareModuleTypes();
    expect(types.content.length).to.be.greaterThan(0);
    expect(proxy.requests.filter((r) => r.url.startsWith("/rest/v1/softwaremoduletypes"))).to.have.length(3);
  });

  it("gives up after the configured retries", async () => {
    proxy.failNext(10, 503, (r) => r.method === "GET");
    const error = await mgmt.listTargets().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HawkbitError);
    expect(error).to.include({ status: 503, kind: "server" });
    expect(proxy.requests).to.have.length(4);
    proxy.failNext(0, 503);
  });

  it("never retries a POST create", async () => {
    proxy.failNext(1, 503, (r) => r.method === "POST");
    const error = await mgmt.createTargets([{ controllerId: "once", name: "once" }]).catch((e: unknown) => e);
    expect(error).to.include({ status: 503 });
    expect(proxy.requests.filter((r) => r.method === "POST")).to.have.length(1);
    // The idempotent path: look up first, then create what is missing.
    const [target] = await mgmt.ensureTargets([{ controllerId: "once", name: "once" }]);
    expect(target?.controllerId).to.equal("once");
    const again = await mgmt.ensureTargets([{ controllerId: "once", name: "once" }, { controllerId: "twice", name: "twice" }]);
    expect(again.map((t) => t.controllerId)).to.deep.equal(["once", "twice"]);
  });

  it("retries DDI polls but not DDI feedback", async () => {
    const ddi = new DdiChannel({ baseUrl: proxy.url, tenant: "DEFAULT", gatewayToken: CREDENTIALS.gatewayToken, retryDelayMs: FAST_RETRY });
    proxy.failNext(1, 503, (r) => r.method === "GET");
    const state = await ddi.pollController("ddi-retry");
    expect(state.configDataRequested).to.equal(true);
    expect(proxy.requests.filter((r) => r.method === "GET")).to.have.length(2);
    proxy.failNext(1, 503, (r) => r.method === "POST");
    const error = await ddi.sendFeedback("ddi-retry", 1, { execution: "proceeding", finished: "none" }).catch((e: unknown) => e);
    expect(error).to.include({ status: 503 });
    expect(proxy.requests.filter((r) => r.method === "POST")).to.have.length(1);
  });
});
