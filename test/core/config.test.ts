import { expect } from "chai";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidConfigError, loadConfig, settingsMarkdown, SETTINGS } from "../../core/config.js";
import { tempDir } from "../helpers/env.js";

describe("configuration", () => {
  it("embeds every service when nothing is set, on loopback, with data under ./data", () => {
    const config = loadConfig({});
    expect(config.databaseUrl).to.equal(undefined);
    expect(config.mqttUrl).to.equal(undefined);
    expect(config.s3Endpoint).to.equal(undefined);
    expect(config.hawkbitUrl).to.equal(undefined);
    expect(config.vaultAddr).to.equal(undefined);
    expect(config.host).to.equal("127.0.0.1");
    expect(config.dataDir).to.equal(join(process.cwd(), "data"));
    expect(config.apiPort).to.equal(8080);
  });

  it("stops on an invalid value, naming the variable and the expected form", () => {
    expect(() => loadConfig({ AERIE_API_PORT: "eighty" })).to.throw(InvalidConfigError, /AERIE_API_PORT="eighty": expected a port number 0-65535/);
    expect(() => loadConfig({ MQTT_URL: "http://broker" })).to.throw(InvalidConfigError, /MQTT_URL=.*expected a URL \(mqtt, mqtts/);
    expect(() => loadConfig({ AERIE_LOG_LEVEL: "loud" })).to.throw(InvalidConfigError, /AERIE_LOG_LEVEL.*one of fatal, error/);
    expect(() => loadConfig({ AERIE_PRESIGN_TTL: "0" })).to.throw(InvalidConfigError, /AERIE_PRESIGN_TTL/);
    // Generated mosquitto files without the bridge's own account would lock the bridge out.
    expect(() => loadConfig({ AERIE_MOSQUITTO_AUTH_DIR: "/auth", MQTT_URL: "mqtt://broker" })).to.throw(InvalidConfigError, /AERIE_MOSQUITTO_AUTH_DIR.*MQTT_USERNAME and MQTT_PASSWORD/);
    expect(loadConfig({ AERIE_MOSQUITTO_AUTH_DIR: "/auth", MQTT_URL: "mqtt://broker", MQTT_USERNAME: "b", MQTT_PASSWORD: "p" }).mosquittoAuthDir).to.equal("/auth");
  });

  it("reads per-leaf MQTT payload limits and keeps the packet limit above them", () => {
    expect(loadConfig({}).mqttPayloadLimits).to.equal(undefined);
    expect(loadConfig({}).mqttMaxPacketBytes).to.equal(1048576);
    expect(loadConfig({ AERIE_MQTT_PAYLOAD_LIMITS: "telemetry=131072, hello=1000" }).mqttPayloadLimits).to.include({ telemetry: 131072, hello: 1000, feedback: 32768 });
    expect(() => loadConfig({ AERIE_MQTT_PAYLOAD_LIMITS: "telemetry=big" })).to.throw(InvalidConfigError, /AERIE_MQTT_PAYLOAD_LIMITS.*leaf=bytes/);
    expect(() => loadConfig({ AERIE_MQTT_PAYLOAD_LIMITS: "deployment=10" })).to.throw(InvalidConfigError, /AERIE_MQTT_PAYLOAD_LIMITS/);
    expect(() => loadConfig({ AERIE_MQTT_PAYLOAD_LIMITS: "telemetry=2000000" })).to.throw(InvalidConfigError, /AERIE_MQTT_MAX_PACKET_BYTES.*at least 2001024/);
    expect(loadConfig({ AERIE_MQTT_PAYLOAD_LIMITS: "telemetry=2000000", AERIE_MQTT_MAX_PACKET_BYTES: "3000000" }).mqttMaxPacketBytes).to.equal(3000000);
  });

  it("never echoes a secret in its error", () => {
    try {
      loadConfig({ DATABASE_URL: "not a url with password hunter2" });
      expect.fail("should throw");
    } catch (error) {
      expect((error as Error).message).to.contain("DATABASE_URL").and.not.contain("hunter2");
    }
  });

  it("reads a JSON file, with the environment taking precedence", async () => {
    const dir = await tempDir();
    try {
      const file = join(dir.path, "aerie.json");
      await writeFile(file, JSON.stringify({ AERIE_API_PORT: 9000, S3_BUCKET: "from-file" }));
      const config = loadConfig({ AERIE_CONFIG_FILE: file, S3_BUCKET: "from-env" });
      expect(config.apiPort).to.equal(9000);
      expect(config.s3Bucket).to.equal("from-env");
      await writeFile(file, JSON.stringify({ AERIE_API_PROT: 1 }));
      expect(() => loadConfig({ AERIE_CONFIG_FILE: file })).to.throw(InvalidConfigError, /unknown: AERIE_API_PROT/);
    } finally {
      await dir.remove();
    }
  });

  it("documents every variable in the README table", async () => {
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    expect(readme).to.contain(settingsMarkdown());
    for (const setting of Object.values(SETTINGS)) expect(readme).to.contain(`\`${setting.env}\``);
  });
});
