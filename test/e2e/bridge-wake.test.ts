// A campaign start reaches devices at once even when the bridge polls hawkBit only every 10 minutes:
// the campaign monitor wakes the bridge (NOTIFY) when it starts or resumes a rollout.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

describe("bridge wake-up on campaign start", function () {
  this.timeout(120_000);
  let test: TestStack;
  let device: SimulatedDevice | undefined;

  before(async () => {
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "600000", AERIE_BRIDGE_IDLE_SYNC_MS: "600000" });
  });

  after(async () => {
    await device?.stop();
    await test?.stop();
  });

  it("notifies the device within seconds of the start, not after the polling interval", async () => {
    const { api, stack } = test;
    device = new SimulatedDevice({ controllerId: "wake-1", mqttUrl: stack.endpoints.mqtt, keyring: await test.keyring(), holdDeployments: true, token: await test.deviceToken("wake-1") });
    await device.start();
    await waitFor("registration", async () => ((await api.devices()).total === 1 ? true : undefined), 20_000);
    // Let the bridge's first (start-up) pass over hawkBit finish, so only a wake-up can find the action.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const image = randomBytes(2048);
    const artifact = await api.uploadArtifact("wake.swu", image, image.length);
    await api.signArtifact(artifact.id);
    const release = await api.createRelease({ name: "wake-os", version: "1.0.1", artifacts: [artifact.id] });
    await api.createCampaign({ name: "wake", releaseId: release.id, targetFilter: "controllerId==wake-*", groups: 1, start: true });
    const notice = await waitFor("the deployment notice", async () => device!.notices[0], 30_000);
    expect(notice.release.version).to.equal("1.0.1");
  });
});
