// The protocol's published contract: JSON Schema files in sync with the code, topic parsing, ACL rules.
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { TopicAcl } from "../../bridge/auth/acl.js";
import { mosquittoAcl } from "../../bridge/auth/mosquitto-files.js";
import { SCHEMA_DIR, schemaFiles } from "../../bridge/protocol/write-schemas.js";
import { Topics } from "../../bridge/protocol/topics.js";
import { validators } from "../../bridge/protocol/schemas.js";

describe("bridge protocol v1: contract", () => {
  it("ships a JSON Schema file for every payload, identical to the code's (npx tsx bridge/protocol/write-schemas.ts)", async () => {
    const files = schemaFiles();
    expect(Object.keys(files).sort()).to.deep.equal(["availability", "cancel", "consent", "deployment", "feedback", "health", "hello", "request", "response", "telemetry"].map((n) => `${n}.json`));
    for (const [file, text] of Object.entries(files)) expect(await readFile(new URL(file, SCHEMA_DIR), "utf8"), file).to.equal(text);
  });

  it("parses upstream topics and nothing else", () => {
    const topics = new Topics("aerie/v1");
    expect(topics.parse("aerie/v1/devices/dev-1/telemetry")).to.deep.equal({ controllerId: "dev-1", kind: "telemetry" });
    expect(topics.parse("aerie/v1/devices/dev-1/request/ping")).to.deep.equal({ controllerId: "dev-1", kind: "request", name: "ping" });
    for (const bad of ["aerie/v1/devices/dev-1/deployment", "aerie/v1/devices/dev-1/request/nope", "aerie/v1/devices/dev-1/telemetry/x", "aerie/v1/devices//telemetry", "aerie/v2/devices/d/hello"]) {
      expect(topics.parse(bad), bad).to.equal(undefined);
    }
    expect(topics.bridgeSubscriptions("g")[0]).to.equal("$share/g/aerie/v1/devices/+/hello");
  });

  it("validates a minimal payload of every upstream kind", () => {
    const ts = new Date().toISOString();
    expect(validators.hello({ updateClient: "swupdate" })).to.equal(true);
    expect(validators.telemetry({ messageId: "1", ts, metrics: {} })).to.equal(true);
    expect(validators.feedback({ messageId: "1", actionId: 1, status: "cancel-rejected" })).to.equal(true);
    expect(validators.consent({ messageId: "1", actionId: 1, decision: "defer" })).to.equal(true);
    expect(validators.request({ correlationId: "c" })).to.equal(true);
    expect(validators.consent({ messageId: "1", actionId: 1, decision: "later" })).to.equal(false);
  });

  it("confines a device to its own subtree and to the direction of each leaf", () => {
    const acl = new TopicAcl("aerie/v1");
    const dev = { role: "device" as const, controllerId: "dev-1" };
    expect(acl.canPublish(dev, "aerie/v1/devices/dev-1/telemetry")).to.equal(true);
    expect(acl.canPublish(dev, "aerie/v1/devices/dev-1/request/ping")).to.equal(true);
    expect(acl.canPublish(dev, "aerie/v1/devices/dev-1/deployment")).to.equal(false);
    expect(acl.canPublish(dev, "aerie/v1/devices/dev-2/telemetry")).to.equal(false);
    expect(acl.canPublish(dev, "aerie/v1/operators/x")).to.equal(false);
    // Only its downstream leaves: no echo of its own (or anyone's) upstream messages.
    for (const filter of ["aerie/v1/devices/dev-1/deployment", "aerie/v1/devices/dev-1/cancel", "aerie/v1/devices/dev-1/response/+", "aerie/v1/devices/dev-1/response/ping"]) {
      expect(acl.canSubscribe(dev, filter), filter).to.equal(true);
    }
    for (const filter of ["aerie/v1/devices/dev-1/#", "aerie/v1/devices/dev-1/telemetry", "aerie/v1/devices/dev-1/+", "aerie/v1/devices/dev-2/deployment"]) {
      expect(acl.canSubscribe(dev, filter), filter).to.equal(false);
    }
    expect(acl.canSubscribe(dev, "aerie/v1/devices/+/deployment")).to.equal(false);
    expect(acl.canSubscribe(dev, "aerie/v1/#")).to.equal(false);
    expect(acl.canSubscribe(dev, "#")).to.equal(false);
    expect(acl.canSubscribe(dev, "$share/g/aerie/v1/devices/dev-1/#")).to.equal(false);
    const op = { role: "operator" as const, name: "grafana" };
    expect(acl.canSubscribe(op, "aerie/v1/devices/+/telemetry")).to.equal(true);
    expect(acl.canSubscribe(op, "aerie/v1/devices/+/deployment")).to.equal(false);
    expect(acl.canPublish(op, "aerie/v1/devices/dev-1/deployment")).to.equal(false);
    // Only the bridge (a service) publishes on operator topics and downstream leaves.
    expect(acl.canPublish(op, "aerie/v1/operators/alerts")).to.equal(false);
    expect(acl.canSubscribe(op, "aerie/v1/operators/alerts")).to.equal(true);
    expect(acl.canPublish({ role: "service", name: "aerie-bridge" }, "aerie/v1/devices/dev-1/deployment")).to.equal(true);
    const file = mosquittoAcl("aerie/v1", ["aerie-bridge"], ["grafana"], ["dev-1"]);
    expect(file).to.contain("user dev-1\ntopic write aerie/v1/devices/dev-1/hello\n").and.contain("topic read aerie/v1/devices/dev-1/response/+");
    expect(file).to.contain("user grafana\n").and.contain("topic read aerie/v1/operators/#").and.not.contain("readwrite aerie/v1/operators");
    expect(file).not.to.contain("pattern").and.not.to.contain("dev-1/#");
  });
});
