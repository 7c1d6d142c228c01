// A release with one archive per hardware type: one campaign over mixed hardware, and every device
// is offered (and installs) only the archive built for its own hardware.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

describe("archives per hardware type", function () {
  this.timeout(120_000);
  let test: TestStack;
  const devices: SimulatedDevice[] = [];

  before(async () => {
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
  });

  after(async () => {
    for (const device of devices) await device.stop();
    await test?.stop();
  });

  it("offers each device only the archive of its hardware", async () => {
    const { api, stack } = test;
    const keyring = await test.keyring();
    for (const [id, hardware] of [["hw-a", "board-a"], ["hw-b", "board-b"]] as const) {
      const device = new SimulatedDevice({ controllerId: id, hardware, mqttUrl: stack.endpoints.mqtt, keyring, token: await test.deviceToken(id) });
      await device.start();
      devices.push(device);
    }
    await waitFor("registration", async () => ((await api.devices()).total === 2 ? true : undefined), 20_000);

    const archives = [];
    for (const hardwareType of ["board-a", "board-b"]) {
      const image = randomBytes(4096);
      const artifact = await api.uploadArtifact(`rootfs-${hardwareType}.swu`, image, image.length);
      await api.signArtifact(artifact.id);
      archives.push({ hardwareType, artifactId: artifact.id });
    }
    const release = await api.request<{ id: string }>("POST", "/api/v1/releases", { name: "mixed-os", version: "3.1.0", archives });
    const campaign = await api.createCampaign({ name: "mixed", releaseId: release.id, targetFilter: "controllerId==hw-*", groups: 1, start: true });
    await waitFor("campaign finished", async () => ((await api.campaign(campaign.id)).status === "finished" ? true : undefined), 60_000);

    for (const device of devices) {
      const hardware = device.controllerId === "hw-a" ? "board-a" : "board-b";
      expect(device.notices[0]!.artifacts.map((a) => a.filename), device.controllerId).to.deep.equal([`rootfs-${hardware}.swu`]);
      expect(device.outcomes.map((o) => o.status)).to.deep.equal(["success"]);
    }
  });
});
