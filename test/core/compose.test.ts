// docker-compose.yml cannot run here (no Docker engine), so it is checked by reading it: every
// service Aerie depends on is the real image, and Aerie's environment is valid configuration that
// points at those services.
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { loadConfig } from "../../core/config.js";

const root = new URL("../../", import.meta.url);
const compose = parse(readFileSync(new URL("docker-compose.yml", root), "utf8"));

describe("docker-compose.yml", () => {
  it("runs the real services, not Aerie's stand-ins", () => {
    const images = Object.fromEntries(Object.entries<{ image?: string }>(compose.services).map(([name, s]) => [name, s.image ?? "build"]));
    expect(images.postgres).to.match(/^postgres:/);
    expect(images.minio).to.match(/^minio\/minio:/);
    expect(images.mosquitto).to.match(/^eclipse-mosquitto:/);
    expect(images.hawkbit).to.match(/^hawkbit\/hawkbit-update-server:/);
    expect(images.vault).to.match(/^hashicorp\/vault:/);
    expect(images.rabbitmq).to.match(/^rabbitmq:\d+\.\d+\.\d+/);
    expect(images.aerie).to.equal("build");
    expect(existsSync(new URL("Dockerfile", root))).to.equal(true);
  });

  it("gives Aerie a valid configuration in which no service is embedded", () => {
    const env = compose.services.aerie.environment as Record<string, string>;
    const config = loadConfig(env);
    for (const [setting, service] of [
      [config.databaseUrl, "postgres"],
      [config.mqttUrl, "mosquitto"],
      [config.s3Endpoint, "minio"],
      [config.hawkbitUrl, "hawkbit"],
      [config.vaultAddr, "vault"],
      [config.hawkbitDmfUrl, "rabbitmq"],
    ] as const) {
      expect(setting, service).to.be.a("string");
      expect(new URL(setting!).hostname).to.equal(service);
      expect(compose.services.aerie.depends_on).to.have.property(service === "vault" ? "vault-init" : service);
    }
    expect(new URL(config.s3PublicEndpoint!).hostname).to.equal("localhost");
  });

  it("lets only Aerie's provisioned devices and its bridge into mosquitto, with the files Aerie writes", () => {
    const conf = readFileSync(new URL("infrastructure/mosquitto/mosquitto.conf", root), "utf8");
    expect(conf).to.match(/^allow_anonymous false$/m);
    // The client id is the login (no takeover of the bridge's session); packets are bounded as on aedes.
    expect(conf).to.match(/^use_username_as_clientid true$/m);
    expect(conf).to.match(/^max_packet_size \d+$/m);
    const authDir = loadConfig(compose.services.aerie.environment).mosquittoAuthDir!;
    const aerieVolume = (compose.services.aerie.volumes as string[]).find((v) => v.split(":")[1] === authDir)?.split(":")[0];
    expect(aerieVolume, "a volume at AERIE_MOSQUITTO_AUTH_DIR").to.be.a("string");
    const mosquittoMount = (compose.services.mosquitto.volumes as string[]).find((v) => v.split(":")[0] === aerieVolume);
    expect(mosquittoMount, "the same volume in mosquitto").to.be.a("string");
    expect(compose.services.mosquitto.entrypoint.join(" ")).to.include("compose-entrypoint.sh");
  });

  it("mounts only files that exist in the repository", () => {
    for (const service of Object.values<{ volumes?: string[] }>(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(":")[0]!;
        if (source.startsWith("./")) expect(existsSync(new URL(source, root)), source).to.equal(true);
      }
    }
  });
});
