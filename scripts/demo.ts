// `npm run demo`: one complete over-the-air update, self-contained. It starts Aerie with every
// service embedded (or external where its variable is set) in a throw-away data folder, brings up
// simulated devices, and drives the API: upload → sign → release → campaign with 2 groups → every
// device downloads, verifies and installs → campaign finished. Exits 0 only if it finished.
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../core/config.js";
import { setLogLevel } from "../core/log.js";
import { freePort } from "../core/ports.js";
import { startAerie, type AerieStack } from "../core/stack.js";
import { AerieClient, waitFor, type CampaignView } from "./lib/aerie-client.js";
import { SimulatedDevice } from "./simulator/device.js";

const DEVICES = Number(process.env.DEMO_DEVICES ?? 6);
const IMAGE_BYTES = 4 * 1024 * 1024;

function step(message: string): void {
  console.log(`▸ ${message}`);
}

function progressLine(campaign: CampaignView): string {
  const done = (campaign.progress.byStatus.success ?? 0) + (campaign.progress.byStatus.failure ?? 0);
  const width = 30;
  const filled = Math.round((done / DEVICES) * width);
  const counts = Object.entries(campaign.progress.byStatus).map(([s, n]) => `${s} ${n}`).join(", ") || "waiting for the first group";
  return `  [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${DEVICES} done · campaign ${campaign.status} · ${counts}`;
}

async function main(): Promise<number> {
  setLogLevel(process.env.AERIE_LOG_LEVEL ?? "warn");
  const dataDir = await mkdtemp(join(tmpdir(), "aerie-demo-"));
  await chmod(dataDir, 0o755);
  const devices: SimulatedDevice[] = [];
  let stack: AerieStack | undefined;
  const started = Date.now();
  try {
    step(`starting Aerie (data in ${dataDir})`);
    const config = loadConfig({
      ...process.env,
      AERIE_DATA_DIR: dataDir,
      AERIE_POSTGRES_PORT: String(await freePort()),
      AERIE_API_PORT: "0",
      AERIE_MQTT_PORT: "0",
      AERIE_S3_PORT: "0",
      AERIE_HAWKBIT_PORT: "0",
      AERIE_VAULT_PORT: "0",
      AERIE_BRIDGE_SYNC_MS: "500",
    });
    stack = await startAerie(config);
    const api = new AerieClient(stack.endpoints.api, stack.adminToken);
    console.log(`  API ${stack.endpoints.api} · MQTT ${stack.endpoints.mqtt} · hawkBit ${stack.endpoints.hawkbit}`);

    const keyring = new Map((await api.keyring()).keys.map((k) => [k.version, k.pem] as const));
    step(`connecting ${DEVICES} simulated devices`);
    for (let i = 1; i <= DEVICES; i++) {
      const controllerId = `demo-${String(i).padStart(2, "0")}`;
      const device = new SimulatedDevice({
        controllerId,
        // Each device logs in with its own token (the embedded broker admits no anonymous client).
        token: await api.issueDeviceToken(controllerId),
        mqttUrl: stack.endpoints.mqtt,
        baseTopic: config.mqttBaseTopic,
        keyring,
        version: "1.0.0",
        telemetryIntervalMs: 500,
        secondaryIds: { serial: `SN-${1000 + i}` },
      });
      await device.start();
      devices.push(device);
    }
    await waitFor("devices to register", async () => ((await api.devices()).total >= DEVICES ? true : undefined), 30_000);
    console.log(`  ${DEVICES} devices registered in Aerie and hawkBit`);

    step(`uploading a ${IMAGE_BYTES / 1024 / 1024} MiB rootfs image`);
    const image = randomBytes(IMAGE_BYTES);
    const artifact = await api.uploadArtifact("rootfs-2.0.0.swu", image, image.length);
    console.log(`  artifact ${artifact.id} sha256 ${artifact.sha256.slice(0, 16)}…`);

    step("signing it through Vault transit");
    const signature = await api.signArtifact(artifact.id);
    console.log(`  ${signature.algorithm} with ${signature.keyName} v${signature.keyVersion}`);

    step("creating release demo-os 2.0.0 (hawkBit software module + distribution set)");
    const release = await api.createRelease({ name: "demo-os", version: "2.0.0", artifacts: [artifact.id] });

    step("creating and starting a campaign over controllerId==demo-* in 2 groups");
    const created = await api.createCampaign({ name: "demo-rollout", releaseId: release.id, targetFilter: "controllerId==demo-*", groups: 2, start: true });

    let last = "";
    const finished = await waitFor(
      "the campaign to finish",
      async () => {
        const campaign = await api.campaign(created.id);
        const line = progressLine(campaign);
        if (line !== last) console.log((last = line));
        return ["finished", "stopped", "paused"].includes(campaign.status) ? campaign : undefined;
      },
      120_000,
      300,
    );

    step("summary");
    for (const device of finished.devices) console.log(`  ${device.controllerId}  action ${device.actionId}  ${device.status}${device.detail ? `  (${device.detail})` : ""}`);
    const metrics = await api.metrics();
    const telemetryRows = /^aerie_telemetry_rows_total (\d+)/m.exec(metrics)?.[1] ?? "0";
    const succeeded = finished.devices.filter((d) => d.status === "success").length;
    console.log(`  campaign ${finished.status}: ${succeeded}/${DEVICES} devices updated to 2.0.0 in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`  telemetry rows stored in PostgreSQL: ${telemetryRows} (see ${stack.endpoints.api}/metrics)`);
    return finished.status === "finished" && succeeded === DEVICES ? 0 : 1;
  } finally {
    for (const device of devices) await device.stop().catch(() => undefined);
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`demo failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  },
);
