// Secrets stay secret: credentials inside URLs and values under secret keys are hidden in log lines
// (at any depth, in messages, error stacks and causes), in `aerie config` and in configuration
// errors; files holding tokens or keys are 0600.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { createRootLogger } from "../../core/log.js";
import { redactDeep, redactText } from "../../core/redact.js";
import { loadEmbeddedSecrets } from "../../core/secrets.js";
import { startHawkbitStandin } from "../../infrastructure/hawkbit-standin/index.js";
import { freePort, tempDir } from "../helpers/env.js";

const run = promisify(execFile);
const SECRETS = ["hunter2", "s3cr3tKey", "tok-123456", "sig0123abcd", "pg-pass-99", "ghp_abcdef0123"];

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return { log: createRootLogger(stream as never, "trace"), lines };
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text, `leaks ${secret}`).to.not.contain(secret);
}

describe("redaction of secrets", () => {
  describe("in text", () => {
    const cases: Array<[string, string]> = [
      ["postgresql://aerie:pg-pass-99@127.0.0.1:5432/aerie", "postgresql://aerie:[redacted]@127.0.0.1:5432/aerie"],
      ["connect mqtts://bridge:hunter2@broker:8883 failed", "connect mqtts://bridge:[redacted]@broker:8883 failed"],
      ["https://ghp_abcdef0123@github.com/x.git", "https://[redacted]@github.com/x.git"],
      ["https://hooks.example/in?channel=ops&token=tok-123456", "https://hooks.example/in?channel=ops&token=[redacted]"],
      ["http://s3:4569/b/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=sig0123abcd&X-Amz-Expires=900", "http://s3:4569/b/k?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Expires=900"],
      ["http://user@host/path?page=2", "http://user@host/path?page=2".replace("user@", "[redacted]@")],
      ["no url here, a=b and an@email.example", "no url here, a=b and an@email.example"],
    ];
    for (const [input, expected] of cases) {
      it(`redacts ${input}`, () => expect(redactText(input)).to.equal(expected));
    }
  });

  it("redacts secret keys and URLs at any depth, in arrays, errors and causes", () => {
    const deep: Record<string, unknown> = { level1: {} };
    let cursor = deep.level1 as Record<string, unknown>;
    for (let i = 0; i < 12; i++) cursor = (cursor.next = {}) as Record<string, unknown>;
    cursor.password = "hunter2";
    cursor.urls = ["mqtt://u:hunter2@h"];
    const cause = new Error("inner: postgresql://a:pg-pass-99@db/x");
    const error = Object.assign(new Error("outer https://h/?token=tok-123456", { cause }), { config: { headers: { Authorization: "Bearer tok-123456" } } });
    const out = JSON.stringify(redactDeep({ deep, error, gatewayToken: "tok-123456", S3_SECRET_ACCESS_KEY: "s3cr3tKey", count: 3 }));
    expectNoSecret(out);
    expect(out).to.contain('"count":3').and.contain("outer https://h/?token=[redacted]").and.contain("inner: postgresql://a:[redacted]@db/x");
    const circular: Record<string, unknown> = { token: "tok-123456" };
    circular.self = circular;
    expect(JSON.stringify(redactDeep(circular))).to.contain("[circular]");
  });

  it("keeps secrets out of every log line: messages, objects, errors and child bindings", () => {
    const { log, lines } = capture();
    const child = log.child({ component: "test" });
    child.info("connecting to mqtt://bridge:hunter2@broker:1883");
    child.info({ endpoint: "https://AKIA:s3cr3tKey@s3.example", nested: { a: { b: { c: { d: { e: { vaultToken: "tok-123456" } } } } } } }, "ready");
    child.error({ err: new Error("request to http://x/?sig=sig0123abcd failed", { cause: new Error("postgres://u:pg-pass-99@h/db") }) }, "failed");
    child.warn(new Error("plain https://ghp_abcdef0123@github.com"));
    expect(lines).to.have.length(4);
    const all = lines.join("");
    expectNoSecret(all);
    expect(all).to.contain("mqtt://bridge:[redacted]@broker:1883").and.contain('"vaultToken":"[redacted]"').and.contain("[redacted]@github.com");
    // Still JSON, one record per line.
    for (const line of lines) expect(() => JSON.parse(line)).to.not.throw();
  });

  it("`aerie config` and configuration errors show no credential", async () => {
    const env = {
      ...process.env,
      DATABASE_URL: "postgresql://aerie:pg-pass-99@db:5432/aerie",
      MQTT_URL: "mqtts://bridge:hunter2@broker:8883",
      MQTT_USERNAME: "bridge",
      MQTT_PASSWORD: "hunter2",
      S3_ENDPOINT: "https://minio:s3cr3tKey@minio.example",
      HAWKBIT_URL: "https://hawkbit.example/?token=tok-123456",
      VAULT_TOKEN: "tok-123456",
      S3_SECRET_ACCESS_KEY: "s3cr3tKey",
    };
    const shown = await run(process.execPath, ["--import", "tsx", "cli/aerie.ts", "config"], { env });
    expectNoSecret(shown.stdout + shown.stderr);
    expect(shown.stdout).to.contain("postgresql://aerie:[redacted]@db:5432/aerie").and.contain("mqtts://bridge:[redacted]@broker:8883");

    const refused = await run(process.execPath, ["--import", "tsx", "cli/aerie.ts", "config"], { env: { ...process.env, MQTT_URL: "http://bridge:hunter2@broker" } }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect(refused).to.have.property("code", 2);
    expect(refused.stderr).to.contain("MQTT_URL");
    expectNoSecret(refused.stdout + refused.stderr);
  });

  it("writes secrets.json and the hawkBit stand-in's state (device tokens) as 0600", async () => {
    const dir = await tempDir();
    try {
      await loadEmbeddedSecrets(dir.path);
      expect((await stat(join(dir.path, "secrets.json"))).mode & 0o777).to.equal(0o600);

      const hawkbitDir = join(dir.path, "hawkbit");
      const standin = await startHawkbitStandin({ host: "127.0.0.1", port: await freePort(), dataDir: hawkbitDir, tenant: "DEFAULT", username: "admin", password: "pw" });
      try {
        const created = await fetch(`${standin.url}/rest/v1/targets`, {
          method: "POST",
          headers: { authorization: `Basic ${Buffer.from("admin:pw").toString("base64")}`, "content-type": "application/json" },
          body: JSON.stringify([{ controllerId: "dev-1", name: "dev-1", securityToken: "tok-123456" }]),
        });
        expect(created.status).to.equal(201);
      } finally {
        await standin.close();
      }
      expect((await stat(join(hawkbitDir, "state.json"))).mode & 0o777).to.equal(0o600);
    } finally {
      await dir.remove();
    }
  });
});
