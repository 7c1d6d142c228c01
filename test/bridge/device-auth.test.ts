// The embedded broker's access mode (AERIE_DEVICE_AUTH): token by default; off only on request, and then
// said at every start.
import { expect } from "chai";
import { Writable } from "node:stream";
import pino from "pino";
import type pg from "pg";
import { embeddedBrokerAccess } from "../../bridge/auth/embedded-access.js";
import { loadConfig } from "../../core/config.js";

function capturingLogger(): { log: pino.Logger; lines: () => { level: number; msg: string }[] } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk, _encoding, done) { chunks.push(chunk.toString()); done(); } });
  return { log: pino({ level: "info" }, stream), lines: () => chunks.join("").split("\n").filter(Boolean).map((l) => JSON.parse(l)) };
}

describe("device authentication on the embedded broker", () => {
  const pool = {} as pg.Pool;

  it("is on by default", () => {
    expect(loadConfig({}).deviceAuth).to.equal("token");
    const { log, lines } = capturingLogger();
    const access = embeddedBrokerAccess({ mode: "token", pool, baseTopic: "aerie/v1", bridgeClientIds: ["b", "b-presence"], log });
    expect(access.auth?.authenticate).to.be.a("function");
    expect(access.username).to.equal("aerie-bridge");
    expect(access.password).to.have.length.greaterThan(20);
    expect(lines()).to.deep.equal([]);
  });

  it("can be turned off, with a warning at every start", () => {
    expect(loadConfig({ AERIE_DEVICE_AUTH: "off" }).deviceAuth).to.equal("off");
    for (let start = 1; start <= 2; start++) {
      const { log, lines } = capturingLogger();
      const access = embeddedBrokerAccess({ mode: "off", pool, baseTopic: "aerie/v1", bridgeClientIds: ["b"], log });
      expect(access).to.deep.equal({});
      const warnings = lines().filter((l) => l.level === 40);
      expect(warnings).to.have.length(1);
      expect(warnings[0]!.msg).to.contain("AERIE_DEVICE_AUTH=off").and.contain("anonymous");
    }
  });
});
