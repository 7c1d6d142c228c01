// A campaign start reaches devices at once even when the bridge polls hawkBit only every 10 minutes:
// the campaign monitor wakes the bridge (NOTIFY) when it starts or resumes a rollout.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { loadConfig } from "../../core/config.js";
import { startAerie, type AerieStack } from "../../core/stack.js";
import { AerieClient, waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { freePort, tempDir } from "../helpers/env.js";

describe("bridge wake-up on campaign start", function () {
  this.timeout(120_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let stack: AerieStack;
  let device: SimulatedDevice | undefined;

  before(async () => {
    dir = await tempDir();
    stack = await startAerie(
      loadConfig({
        AERIE_DATA_DIR: dir.path,
        AERIE_BRIDGE_SYNC_MS: "600000",
        AERIE_BRIDGE_IDLE_SYNC_MS: "600000",
        AERIE_POSTGRES_PORT: String(await freePort()),
        AERIE_API_PORT: "0",
        AERIE_MQTT_PORT: "0",
        AERIE_S3_PORT: "0",
        AERIE_HAWKBIT_PORT: "0",
        AERIE_VAULT_PORT: "0",
      }),
    );
  });

  after(async () => {
    await device?.stop();
    await stack?.stop();
    await dir?.remove();
  });

  it("notifies the device within seconds of the start, not after the polling interval", async () => {
    const api = new AerieClient(stack.endpoints.api);
    const keyring = new Map((await api.keyring()).keys.map((k) => [k.version, k.pem] as const));
    device = new SimulatedDevice({ controllerId: "wake-1", mqttUrl: stack.endpoints.mqtt, keyring, holdDeployments: true });
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
