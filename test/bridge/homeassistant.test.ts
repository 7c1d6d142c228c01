// Home Assistant MQTT discovery on the real embedded stack (aedes, PostgreSQL, hawkBit stand-in) with simulated
// devices: each registered device gets a retained update-entity config that passes Home Assistant's documented
// schema (homeassistant-schema.ts), and a retained JSON state; a campaign moves latest_version, in_progress and
// update_percentage; a device deleted from the registry gets the empty retained config HA removes entities on.
// Without AERIE_HOMEASSISTANT nothing is published under the discovery prefix.
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import mqtt, { type MqttClient } from "mqtt";
import pg from "pg";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import { startAerie, type AerieStack } from "../../core/stack.js";
import { discoveryTopicErrors, updateConfigErrors, updateStateErrors } from "./homeassistant-schema.js";
import { mosquittoAcl } from "../../bridge/auth/mosquitto-files.js";
import { homeAssistantAccount } from "../../bridge/extensions/homeassistant.js";

const PREFIX = "ha-test";

/** Every message on the filters, in order, retained ones included. */
async function watch(url: string, filters: string[]): Promise<{ client: MqttClient; messages: { topic: string; payload: string; retain: boolean }[]; last(topic: string): string | undefined }> {
  const client = await mqtt.connectAsync(url, { clientId: `ha-watch-${randomBytes(4).toString("hex")}`, reconnectPeriod: 0 });
  const messages: { topic: string; payload: string; retain: boolean }[] = [];
  client.on("message", (topic, payload, packet) => messages.push({ topic, payload: payload.toString("utf8"), retain: packet.retain }));
  await client.subscribeAsync(filters, { qos: 1 });
  return { client, messages, last: (topic) => messages.filter((m) => m.topic === topic).at(-1)?.payload };
}

describe("Home Assistant MQTT discovery", function () {
  this.timeout(240_000);

  describe("the schema check itself", () => {
    it("refuses configs and states Home Assistant would not take", () => {
      const valid = { name: "Firmware", unique_id: "u", state_topic: "a/b", device_class: "firmware", device: { identifiers: ["x"] }, availability_topic: "a/c" };
      expect(updateConfigErrors(valid)).to.deep.equal([]);
      expect(updateConfigErrors({ ...valid, colour: "red" }).join()).to.contain("colour is not a documented key");
      expect(updateConfigErrors({ ...valid, device_class: "temperature" }).join()).to.contain("device_class");
      expect(updateConfigErrors({ ...valid, stat_t: "a/#/b" }).join()).to.contain("#");
      expect(updateConfigErrors({ ...valid, device: { name: "no ids" } }).join()).to.contain("identifiers");
      expect(updateConfigErrors({ ...valid, availability: [{ topic: "x" }] }).join()).to.contain("exclude");
      expect(updateStateErrors({ installed_version: "1", latest_version: null }).join()).to.contain("latest_version");
      expect(updateStateErrors({ installed_version: "1", campaign: "x" }).join()).to.contain("campaign is not a documented key");
      expect(updateStateErrors({ update_percentage: 101 }).join()).to.contain("update_percentage");
      expect(discoveryTopicErrors("ha-test/update/aerie_v1/dev.1/config", PREFIX).join()).to.contain("dev.1");
    });
  });

  describe("with AERIE_HOMEASSISTANT=true", () => {
    let test: TestStack;
    let watcher: Awaited<ReturnType<typeof watch>>;
    const devices: SimulatedDevice[] = [];
    const configTopics = () => [...new Set(watcher.messages.filter((m) => m.topic.startsWith(`${PREFIX}/`)).map((m) => m.topic))];
    const configOf = (controllerId: string) => {
      const topic = configTopics().find((t) => {
        const payload = watcher.last(t);
        return payload && (JSON.parse(payload) as { device: { identifiers: string[] } }).device.identifiers.includes(`aerie:${controllerId}`);
      });
      return topic ? { topic, config: JSON.parse(watcher.last(topic)!) as Record<string, unknown> & { state_topic: string; availability_topic: string } } : undefined;
    };
    const statesOf = (stateTopic: string) => watcher.messages.filter((m) => m.topic === stateTopic && m.payload !== "").map((m) => JSON.parse(m.payload) as Record<string, unknown>);

    before(async () => {
      // AERIE_DEVICE_AUTH=off: the test's own MQTT client reads everything, as a Home Assistant with broker access would.
      test = await startTestStack({ AERIE_HOMEASSISTANT: "true", AERIE_HOMEASSISTANT_PREFIX: PREFIX, AERIE_DEVICE_AUTH: "off", AERIE_BRIDGE_SYNC_MS: "300" });
      watcher = await watch(test.stack.endpoints.mqtt, [`${PREFIX}/#`, "aerie/v1/operators/homeassistant/#"]);
      const keyring = await test.keyring();
      for (const [id, hardware] of [["ha-1", "board-a"], ["ha.2:x", "board-b"]] as const) {
        const device = new SimulatedDevice({ controllerId: id, mqttUrl: test.stack.endpoints.mqtt, keyring, hardware, version: "1.0.0", holdDeployments: true });
        await device.start();
        devices.push(device);
      }
    });

    after(async () => {
      await watcher?.client.endAsync().catch(() => undefined);
      for (const d of devices) await d.stop().catch(() => undefined);
      await test?.stop();
    });

    it("publishes a retained config per registered device that Home Assistant's update schema accepts", async () => {
      const one = await waitFor("ha-1's config", async () => configOf("ha-1"), 30_000);
      const two = await waitFor("ha.2:x's config", async () => configOf("ha.2:x"), 30_000);
      for (const { topic, config } of [one, two]) {
        expect(discoveryTopicErrors(topic, PREFIX), topic).to.deep.equal([]);
        expect(updateConfigErrors(config), JSON.stringify(config)).to.deep.equal([]);
        expect(watcher.messages.find((m) => m.topic === topic)!.payload).to.not.equal("");
      }
      expect(one.config).to.include({ device_class: "firmware", state_topic: "aerie/v1/operators/homeassistant/ha-1", availability_topic: "aerie/v1/devices/ha-1/availability", payload_available: "online", payload_not_available: "offline" });
      expect(one.config.device).to.deep.include({ identifiers: ["aerie:ha-1"], name: "ha-1", model: "board-a", sw_version: "1.0.0" });
      expect(one.topic).to.equal("ha-test/update/aerie_v1/ha-1/config");
      // `.` and `:` may not appear in a discovery topic: rewritten, with a hash so that no two ids meet.
      expect(two.topic).to.match(/^ha-test\/update\/aerie_v1\/ha_2_x_[0-9a-f]{8}\/config$/);
      expect(one.config.unique_id).to.not.equal(two.config.unique_id);

      // The availability HA is told about is what the device really publishes there.
      const availability = await watch(test.stack.endpoints.mqtt, [one.config.availability_topic]);
      const presence = await waitFor("retained availability", async () => availability.last(one.config.availability_topic), 10_000);
      await availability.client.endAsync();
      expect((JSON.parse(presence) as { state: string }).state).to.equal(one.config.payload_available);
      expect(one.config.availability_template).to.equal("{{ value_json.state }}");

      const state = await waitFor("ha-1's state", async () => statesOf(one.config.state_topic).at(-1), 10_000);
      expect(updateStateErrors(state)).to.deep.equal([]);
      expect(state).to.include({ installed_version: "1.0.0", latest_version: "1.0.0", in_progress: false, update_percentage: null });
      // Retained: a Home Assistant connecting later gets them too.
      const late = await watch(test.stack.endpoints.mqtt, [one.topic, one.config.state_topic]);
      await waitFor("retained config and state", async () => (late.last(one.topic) && late.last(one.config.state_topic) ? true : undefined), 10_000);
      expect(late.messages.every((m) => m.retain)).to.equal(true);
      await late.client.endAsync();
    });

    it("follows a campaign: latest_version, in_progress and update_percentage, then the installed version", async () => {
      const image = randomBytes(4096);
      const artifact = await test.api.uploadArtifact("ha-2.0.0.swu", image, image.length);
      await test.api.signArtifact(artifact.id);
      const release = await test.api.request<{ id: string }>("POST", "/api/v1/releases", { name: "ha-os", version: "2.0.0", archives: [{ hardwareType: "board-a", artifactId: artifact.id }] });
      const campaign = await test.api.request<{ id: string }>("POST", "/api/v1/campaigns", { name: "ha-campaign", releaseId: release.id, selection: "controllerId==ha-1", groups: 1, start: true });
      const stateTopic = configOf("ha-1")!.config.state_topic;
      const stateWith = (what: string, match: (s: Record<string, unknown>) => boolean) => waitFor(what, async () => statesOf(stateTopic).find(match), 30_000);

      // ha-1 holds its deployments: the test reports for it, one step at a time, as a slow device would.
      const notice = await waitFor("the deployment notice", async () => devices[0]!.notices[0], 60_000);
      const offered = await stateWith("the release offered", (s) => s.latest_version === "2.0.0");
      expect(offered).to.include({ installed_version: "1.0.0", latest_version: "2.0.0", in_progress: false, update_percentage: null, title: "ha-os 2.0.0" });
      expect(offered.release_summary).to.contain("ha-campaign");
      const device = await mqtt.connectAsync(test.stack.endpoints.mqtt, { clientId: "ha-1-reports", reconnectPeriod: 0 });
      let n = 0;
      const report = (leaf: string, body: Record<string, unknown>) => device.publishAsync(`aerie/v1/devices/ha-1/${leaf}`, JSON.stringify({ messageId: `ha-${++n}`, actionId: notice.actionId, ...body }), { qos: 1 });
      try {
        for (const progress of [10, 55, 90]) {
          await report("feedback", { status: "downloading", progress });
          await stateWith(`${progress} %`, (s) => s.in_progress === true && s.update_percentage === progress);
        }
        await report("feedback", { status: "installing" });
        await stateWith("installing", (s) => s.in_progress === true && (s.release_summary as string).endsWith("installing"));
        await report("health", { bootedSlot: "B", runningVersion: "2.0.0", healthy: true, checks: {} });
        await report("feedback", { status: "success" });
      } finally {
        await device.endAsync();
      }
      const final = await stateWith("installed 2.0.0", (s) => s.installed_version === "2.0.0" && s.in_progress === false);
      expect(final).to.include({ installed_version: "2.0.0", latest_version: "2.0.0", update_percentage: null });
      for (const s of statesOf(stateTopic)) expect(updateStateErrors(s), JSON.stringify(s)).to.deep.equal([]);
      await waitFor("campaign finished", async () => ((await test.api.campaign(campaign.id)).status === "finished" ? true : undefined), 60_000);
      // The device block follows the installed version too.
      await waitFor("config with sw_version 2.0.0", async () => ((configOf("ha-1")!.config.device as { sw_version: string }).sw_version === "2.0.0" ? true : undefined), 10_000);
      expect(updateConfigErrors(configOf("ha-1")!.config)).to.deep.equal([]);
      // The other device was not targeted.
      const other = statesOf(configOf("ha.2:x")!.config.state_topic).at(-1)!;
      expect(other).to.include({ installed_version: "1.0.0", latest_version: "1.0.0", in_progress: false });
    });

    it("removes a device deleted from the registry: empty retained config, state cleared", async () => {
      const { topic, config } = configOf("ha.2:x")!;
      await devices[1]!.stop();
      const client = new pg.Client({ connectionString: test.stack.databaseUrl });
      await client.connect();
      try {
        expect((await client.query("DELETE FROM devices WHERE controller_id = 'ha.2:x'")).rowCount).to.equal(1);
      } finally {
        await client.end();
      }
      await waitFor("empty config", async () => (watcher.last(topic) === "" ? true : undefined), 40_000);
      await waitFor("cleared state", async () => (watcher.last(config.state_topic) === "" ? true : undefined), 10_000);
      // Nothing retained is left for a Home Assistant that connects now.
      const late = await watch(test.stack.endpoints.mqtt, [topic, config.state_topic, configOf("ha-1")!.topic]);
      await waitFor("ha-1's config", async () => (late.last(configOf("ha-1")!.topic) ? true : undefined), 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(late.messages.filter((m) => m.topic === topic || m.topic === config.state_topic)).to.deep.equal([]);
      await late.client.endAsync();
    });
  });

  describe("Home Assistant's own MQTT login (AERIE_HOMEASSISTANT_MQTT_PASSWORD)", () => {
    let test: TestStack;
    let device: SimulatedDevice | undefined;
    const password = randomBytes(12).toString("hex");

    before(async () => {
      // Device authentication on (the default): only provisioned devices, the bridge and this account get in.
      test = await startTestStack({ AERIE_HOMEASSISTANT: "true", AERIE_HOMEASSISTANT_MQTT_PASSWORD: password });
    });

    after(async () => {
      await device?.stop().catch(() => undefined);
      await test?.stop();
    });

    it("reads the discovery prefix, the states and device availability, and nothing a device is sent", async () => {
      expect(test.config.homeAssistantPrefix).to.equal("homeassistant");
      device = new SimulatedDevice({ controllerId: "ha-auth-1", mqttUrl: test.stack.endpoints.mqtt, keyring: await test.keyring(), hardware: "board-a", version: "1.0.0", token: await test.deviceToken("ha-auth-1") });
      await device.start();
      const refused = await mqtt.connectAsync(test.stack.endpoints.mqtt, { username: "homeassistant", password: "wrong", reconnectPeriod: 0 }).then(() => "connected", (e: Error) => e.message);
      expect(refused).to.not.equal("connected");
      const ha = await mqtt.connectAsync(test.stack.endpoints.mqtt, { username: "homeassistant", password, clientId: "home-assistant-1", reconnectPeriod: 0 });
      try {
        const messages: { topic: string; payload: string }[] = [];
        ha.on("message", (topic, payload) => messages.push({ topic, payload: payload.toString() }));
        const granted = await ha.subscribeAsync(["homeassistant/#", "aerie/v1/operators/#", "aerie/v1/devices/+/availability"], { qos: 1 });
        expect(granted.map((g) => g.qos)).to.deep.equal([1, 1, 1]);
        // A device's download URLs (deployment) and everything else stay out of reach (SUBACK failure).
        for (const filter of ["aerie/v1/devices/+/deployment", "#", "aerie/v1/devices/ha-auth-1/hello"]) {
          const answer = await ha.subscribeAsync(filter, { qos: 1 }).then((g) => JSON.stringify(g), (e: Error) => e.message);
          expect(answer, filter).to.contain("error");
        }
        const config = await waitFor("the config", async () => messages.find((m) => m.topic === "homeassistant/update/aerie_v1/ha-auth-1/config"), 30_000);
        expect(updateConfigErrors(JSON.parse(config.payload))).to.deep.equal([]);
        await waitFor("the state", async () => messages.find((m) => m.topic === "aerie/v1/operators/homeassistant/ha-auth-1"), 10_000);
        await waitFor("the availability", async () => messages.find((m) => m.topic === "aerie/v1/devices/ha-auth-1/availability"), 10_000);
        // Its birth message is allowed; the connection stays.
        await ha.publishAsync("homeassistant/status", "online", { qos: 1 });
        expect(ha.connected).to.equal(true);
      } finally {
        await ha.endAsync();
      }
    });

    it("is written into the generated mosquitto ACL with the same grants", () => {
      const login = homeAssistantAccount("homeassistant", "x", "homeassistant");
      const acl = mosquittoAcl("aerie/v1", ["aerie-bridge"], Object.keys(login.operators), [], login.operatorGrants);
      const block = acl.slice(acl.indexOf("user homeassistant"), acl.indexOf("\n\n", acl.indexOf("user homeassistant")));
      expect(block.split("\n")).to.deep.equal([
        "user homeassistant", "topic read aerie/v1/devices/+/availability", "topic read aerie/v1/devices/+/telemetry", "topic read aerie/v1/operators/#",
        "topic read homeassistant/#", "topic write homeassistant/status",
      ]);
    });
  });

  describe("off by default", () => {
    let test: TestStack;
    let device: SimulatedDevice | undefined;

    before(async () => {
      test = await startTestStack({ AERIE_DEVICE_AUTH: "off" });
    });

    after(async () => {
      await device?.stop().catch(() => undefined);
      await test?.stop();
    });

    it("publishes nothing under the discovery prefix or the state topics", async () => {
      expect(test.config.homeAssistant).to.equal(false);
      const watcher = await watch(test.stack.endpoints.mqtt, ["homeassistant/#", "aerie/v1/operators/#"]);
      device = new SimulatedDevice({ controllerId: "quiet-1", mqttUrl: test.stack.endpoints.mqtt, keyring: await test.keyring(), hardware: "board-a", version: "1.0.0" });
      await device.start();
      await waitFor("registration", async () => ((await test.api.request<{ total: number }>("GET", "/api/v1/devices")).total === 1 ? true : undefined), 30_000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(watcher.messages).to.deep.equal([]);
      await watcher.client.endAsync();
    });

    it("once turned on, publishes the devices already registered at start", async () => {
      await device!.stop();
      device = undefined;
      await test.stack.stop();
      // The same data (PostgreSQL keeps quiet-1), a new embedded broker that holds nothing retained.
      let again: AerieStack | undefined;
      try {
        again = await startAerie({ ...test.config, homeAssistant: true });
        const watcher = await watch(again.endpoints.mqtt, ["homeassistant/#"]);
        const config = await waitFor("quiet-1's config", async () => watcher.last("homeassistant/update/aerie_v1/quiet-1/config"), 30_000);
        expect(updateConfigErrors(JSON.parse(config))).to.deep.equal([]);
        await watcher.client.endAsync();
      } finally {
        await again?.stop();
      }
    });
  });
});
