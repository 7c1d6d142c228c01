// The signature a device receives with its deployment notice, on the real embedded stack: the record of
// the release's own artifact, presented in its real format, and checked by the simulated device.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { describeErrors, downstreamValidators } from "../../bridge/protocol/schemas.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

describe("signing: signatures in deployment notices", function () {
  this.timeout(180_000);
  let test: TestStack;
  const devices: SimulatedDevice[] = [];

  before(async () => {
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
  });

  after(async () => {
    for (const device of devices) await device.stop().catch(() => undefined);
    await test?.stop();
  });

  async function device(controllerId: string): Promise<SimulatedDevice> {
    const d = new SimulatedDevice({ controllerId, mqttUrl: test.stack.endpoints.mqtt, keyring: await test.keyring(), token: await test.deviceToken(controllerId) });
    await d.start();
    devices.push(d);
    await waitFor(`${controllerId} registered`, async () => ((await test.api.devices()).devices.some((x) => x.controllerId === controllerId) ? true : undefined), 20_000);
    return d;
  }

  it("gives devices the signature of the release's own artifact when the same bytes were uploaded again unsigned (A1/A2)", async () => {
    const { api } = test;
    const d = await device("a1a2-1");
    const image = randomBytes(64 * 1024);
    const a1 = await api.uploadArtifact("rootfs-a1.swu", image, image.length);
    const signature = await api.signArtifact(a1.id);
    // The same bytes again, later and unsigned: the newest record with that sha256.
    const a2 = await api.uploadArtifact("rootfs-a2.swu", image, image.length);
    expect(a2.sha256).to.equal(a1.sha256);
    const release = await api.createRelease({ name: "a1a2-os", version: "1.0.0", artifacts: [a1.id] });
    await api.createCampaign({ name: "a1a2", releaseId: release.id, targetFilter: "controllerId==a1a2-*", groups: 1, start: true });

    const outcome = await waitFor("the device's outcome", async () => d.outcomes[0], 60_000);
    const notice = d.notices.find((n) => n.artifacts.length > 0)!;
    expect(downstreamValidators.deployment(notice), describeErrors(downstreamValidators.deployment)).to.equal(true);
    expect(notice.artifacts[0]!.signature).to.deep.include({ format: "raw-rsa", covers: "artifact", keyVersion: signature.keyVersion, value: signature.value });
    expect(outcome).to.deep.include({ status: "success", version: "1.0.0" });
  });
});
