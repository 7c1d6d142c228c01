// hawkBit actions → deployment notices on each device's MQTT topic.
//
// The bridge does not poll DDI per device. It asks the Management API for the open actions in bulk
// (`status==pending`), and calls DDI only for an action it has not announced yet. A notice is
// published QoS1 and retained, and published again (with fresh presigned URLs) whenever the device
// registers, so nothing depends on the broker having kept it: hawkBit and Postgres are the truth.
import type { MgmtAction } from "../../api/hawkbit/types.js";
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { DdiDeployment } from "../hawkbit/channel.js";
import type { Deployment, DeploymentArtifact, Feedback } from "../protocol/schemas.js";
import { FINAL_STATUSES, type DeviceActionStatus } from "./action-status.js";

const OPEN_ACTIONS_QUERY = "status==pending";

function lastPathSegment(href: string | undefined): string | undefined {
  if (!href) return undefined;
  const path = new URL(href, "http://x").pathname;
  return decodeURIComponent(path.slice(path.lastIndexOf("/") + 1));
}

export class DeploymentsExtension implements Extension {
  readonly name = "deployments";
  /** Open actions already announced, by hawkBit action id; re-read from Postgres at start. */
  private readonly announced = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly onRegistered = (event: { controllerId: string; deviceId: string }) => void this.reannounce(event.controllerId, event.deviceId);
  private readonly onFeedback = (event: DeviceEvent<Feedback>) => {
    if (FINAL_STATUSES.has(event.payload.status as DeviceActionStatus)) this.announced.delete(event.payload.actionId);
  };

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    const open = await this.ctx.db.deviceAction.findMany({ where: { status: { notIn: [...FINAL_STATUSES] } }, select: { hawkbitActionId: true, device: { select: { controllerId: true } } } });
    for (const action of open) this.announced.set(action.hawkbitActionId, action.device.controllerId);
    this.ctx.bus.on("deviceRegistered", this.onRegistered);
    this.ctx.bus.on("feedback", this.onFeedback);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ctx.bus.off("deviceRegistered", this.onRegistered);
    this.ctx.bus.off("feedback", this.onFeedback);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sync()
        .catch((error) => this.ctx.log.warn({ err: (error as Error).message }, "action sync failed; retrying"))
        .finally(() => this.schedule(this.ctx.syncIntervalMs));
    }, delay);
  }

  /** One pass over hawkBit's open actions; announces those not announced yet. */
  async sync(): Promise<void> {
    const stillOpen = new Set<number>();
    for await (const action of this.ctx.hawkbit.iterateActions({ q: OPEN_ACTIONS_QUERY, sort: "id:ASC" })) {
      if (this.stopped) return;
      stillOpen.add(action.id);
      if (!this.announced.has(action.id)) await this.announceNew(action);
    }
    // Closed in hawkBit without a final report through us (cancelled, or finished over DDI directly).
    for (const [actionId, controllerId] of this.announced) {
      if (stillOpen.has(actionId)) continue;
      this.announced.delete(actionId);
      await this.ctx.db.deviceAction.updateMany({ where: { hawkbitActionId: actionId, status: { notIn: [...FINAL_STATUSES] } }, data: { status: "closed", detail: "closed in hawkBit" } });
      this.clearNotice(controllerId);
    }
  }

  private async announceNew(action: MgmtAction): Promise<void> {
    const controllerId = action._links?.target?.name ?? lastPathSegment(action._links?.target?.href);
    if (!controllerId) return;
    const device = await this.ctx.db.device.findUnique({ where: { controllerId } });
    // A target that never said hello over MQTT is not ours to serve (it may poll DDI itself).
    if (!device) return;
    const campaign = action.rollout ? await this.ctx.db.campaign.findFirst({ where: { hawkbitRolloutId: action.rollout } }) : null;
    await this.ctx.db.deviceAction.upsert({
      where: { hawkbitActionId: action.id },
      create: { hawkbitActionId: action.id, deviceId: device.id, campaignId: campaign?.id, status: "notified" },
      update: {},
    });
    await this.publish(controllerId, action.id);
    this.announced.set(action.id, controllerId);
  }

  private async reannounce(controllerId: string, deviceId: string): Promise<void> {
    const open = await this.ctx.db.deviceAction.findMany({ where: { deviceId, status: { notIn: [...FINAL_STATUSES] } } });
    for (const action of open) {
      await this.publish(controllerId, action.hawkbitActionId).catch((error) =>
        this.ctx.log.warn({ controllerId, actionId: action.hawkbitActionId, err: (error as Error).message }, "could not re-announce a deployment"),
      );
    }
  }

  private async publish(controllerId: string, actionId: number): Promise<void> {
    const ddi = await this.ctx.channel.getDeployment(controllerId, actionId);
    const notice = await this.buildNotice(ddi);
    await this.ctx.mqtt.publishAsync(this.ctx.topics.device(controllerId, "deployment"), JSON.stringify(notice), { qos: 1, retain: true });
    this.ctx.metrics.deploymentsSent.inc();
  }

  private clearNotice(controllerId: string): void {
    this.ctx.mqtt.publish(this.ctx.topics.device(controllerId, "deployment"), "", { qos: 1, retain: true });
  }

  /** Ranked offers per artifact: Aerie's presigned S3 copy first, hawkBit's own link second. */
  private async buildNotice(ddi: DdiDeployment): Promise<Deployment> {
    const artifacts: DeploymentArtifact[] = [];
    let release: { name: string; version: string } | undefined;
    for (const chunk of ddi.chunks) {
      release ??= { name: chunk.name, version: chunk.version };
      for (const artifact of chunk.artifacts) {
        const ours = artifact.hashes.sha256
          ? await this.ctx.db.artifact.findFirst({
              where: { sha256: artifact.hashes.sha256 },
              include: { release: true, signatures: { orderBy: { createdAt: "desc" }, take: 1 } },
              orderBy: { createdAt: "desc" },
            })
          : null;
        if (ours?.release) release = { name: ours.release.name, version: ours.release.version };
        const offers: DeploymentArtifact["offers"] = [];
        if (ours) {
          const expiresAt = new Date(Date.now() + this.ctx.presignTtlSeconds * 1000).toISOString();
          offers.push({ url: await this.ctx.store.presignDownload(ours.s3Key, this.ctx.presignTtlSeconds, artifact.filename), scheme: "s3-presigned", metric: 0, expiresAt });
        }
        const hawkbitLink = artifact.links.downloadHttps ?? artifact.links.downloadHttp;
        if (hawkbitLink) offers.push({ url: hawkbitLink, scheme: "hawkbit-ddi", metric: 10 });
        const signature = ours?.signatures[0];
        artifacts.push({
          filename: artifact.filename,
          size: artifact.size ?? Number(ours?.size ?? 0),
          hashes: artifact.hashes as DeploymentArtifact["hashes"],
          signature: signature
            ? { format: "raw", algorithm: signature.algorithm, keyName: signature.keyName, keyVersion: signature.keyVersion, value: signature.value }
            : undefined,
          offers,
        });
      }
    }
    return {
      actionId: ddi.actionId,
      type: ddi.type === "forced" ? "forced" : ddi.type === "downloadonly" ? "downloadonly" : "soft",
      release: release ?? { name: "unknown", version: "unknown" },
      artifacts,
      maintenanceWindow: ddi.maintenanceWindow ? { available: ddi.maintenanceWindow === "available" } : undefined,
      consentRequired: ddi.confirmationRequired ?? false,
      issuedAt: new Date().toISOString(),
    };
  }
}
