// Deployment notices: what a device needs to install an action, with ranked download offers (Aerie's
// presigned S3 copy first, hawkBit's own DDI link second).
//
// A rollout gives thousands of devices the same distribution set, so the notice is built once per rollout
// and distribution set from one DDI call and reused for a short while: each device gets a copy with its own
// action id and hawkBit's per-target links re-pointed at it. Presigned URLs are shared for half their
// lifetime. That keeps a 10,000-device fan-out at one DDI call and one presign per artifact instead of
// 10,000 of each. Actions outside a rollout (a direct assignment can set its own type and maintenance
// window) are built one by one.
import type { Database } from "../core/db/prisma.js";
import type { ArtifactStore } from "../core/storage/artifact-store.js";
import type { DdiDeployment, HawkbitDeviceChannel } from "../hawkbit/channel.js";
import { presentSignature, type PresentedSignature } from "../signing/formats.js";
import type { Deployment, DeploymentArtifact } from "./protocol/schemas.js";

export interface ActionRef {
  actionId: number;
  controllerId: string;
  /** With rolloutId: lets the notice be shared across the devices of a rollout (same type, same window). */
  distributionSetId?: number;
  rolloutId?: number;
  /** Shares the notice among actions with the same key (a pushed action's, see PushedAction.shareKey). */
  shareKey?: string;
  consentRequired: boolean;
}

interface OurArtifact {
  s3Key: string;
  size: bigint;
  /** Set when the archive fits one hardware type only (a release with archives per hardware type). */
  hardwareType: string | null;
  release: { name: string; version: string } | null;
  /** The newest signature record of this artifact, as devices see it (none: it cannot be announced). */
  signature?: PresentedSignature;
}

/** Signed-only deployments: an artifact without a signature a device can check is never announced. */
export class UnsignedArtifactError extends Error {}

const DDI_CACHE_MS = 30_000;

/**
 * hawkBit's per-target DDI link pointed at another device. Not only the template's own device can be named in it:
 * a DMF batch message carries the first target's links for every target of the batch.
 */
function retarget(url: string, to: string): string {
  return url.replace(/\/controller\/v1\/[^/]+\//, `/controller/v1/${encodeURIComponent(to)}/`);
}

interface NoticeTemplate {
  notice: Deployment;
  hardwareTypes: (string | null)[];
  until: number;
  /** The notice's JSON cut where each device's values go, made on first use (see payload); null: not possible. */
  text?: NoticeText | null;
}

/**
 * A shared notice's JSON text with holes for a device's own values: its action id, the time, and hawkBit's link of each
 * artifact. Notices carry signatures and several URLs, kilobytes each: serialising the whole object for each of
 * 10,000 devices of a rollout start was the largest part of the bridge's CPU in it.
 */
interface NoticeText {
  /** Text between the holes: one more piece than holes. */
  pieces: string[];
  /** What fills each hole, in order. */
  holes: ({ kind: "actionId" } | { kind: "issuedAt" } | { kind: "ddiLink"; url: string })[];
}

/** Marks a hole in the text; JSON escapes the NUL characters, so no real value can contain the escaped form. */
const hole = (index: number) => `\u0000hole${index}\u0000`;
const HOLE_IN_TEXT = /"\\u0000hole(\d+)\\u0000"/g;

function compileText(notice: Deployment, forDevice: (actionId: number, link: (url: string) => string, issuedAt: string) => Deployment): NoticeText | undefined {
  const holes: NoticeText["holes"] = [{ kind: "actionId" }, { kind: "issuedAt" }];
  const marked = forDevice(hole(0) as unknown as number, (url) => hole(holes.push({ kind: "ddiLink", url }) - 1), hole(1));
  const text = JSON.stringify(marked);
  const pieces: string[] = [];
  const order: NoticeText["holes"] = [];
  let last = 0;
  for (const match of text.matchAll(HOLE_IN_TEXT)) {
    pieces.push(text.slice(last, match.index));
    order.push(holes[Number(match[1])]!);
    last = match.index! + match[0].length;
  }
  pieces.push(text.slice(last));
  // Each hole exactly once, or a value from hawkBit happened to look like one: then the notice is serialised whole.
  if (order.length !== holes.length || new Set(order).size !== holes.length) return undefined;
  return { pieces, holes: order };
}

function renderText(text: NoticeText, actionId: number, controllerId: string, issuedAt: string): string {
  let out = text.pieces[0]!;
  for (let i = 0; i < text.holes.length; i++) {
    const filler = text.holes[i]!;
    out += filler.kind === "actionId" ? String(actionId) : JSON.stringify(filler.kind === "issuedAt" ? issuedAt : retarget(filler.url, controllerId));
    out += text.pieces[i + 1]!;
  }
  return out;
}

export class NoticeBuilder {
  private readonly templates = new Map<string, NoticeTemplate>();
  private readonly building = new Map<string, Promise<NoticeTemplate>>();
  private readonly presigned = new Map<string, { url: string; expiresAt: string; until: number }>();
  private readonly artifacts = new Map<string, { artifact: OurArtifact | null; until: number }>();

  constructor(private readonly deps: { db: Database; store: ArtifactStore; channel: HawkbitDeviceChannel; presignTtlSeconds: number }) {}

  /**
   * The notice as its MQTT payload: the same text as JSON.stringify(await build(ref)), filled into the shared
   * notice's text rather than serialised whole.
   */
  async payload(ref: ActionRef): Promise<string> {
    // An unshared notice is used once: nothing to gain from cutting its text.
    if (this.shareKey(ref) === undefined) return JSON.stringify(await this.build(ref));
    const template = await this.template(ref);
    // Typed releases filter artifacts per device (see build).
    if (template.hardwareTypes.some((type) => type !== null)) return JSON.stringify(await this.build(ref));
    template.text ??= compileText(template.notice, (actionId, link, issuedAt) => this.forDevice(template, actionId, link, issuedAt)) ?? null;
    if (template.text === null) return JSON.stringify(await this.build(ref));
    return renderText(template.text, ref.actionId, ref.controllerId, new Date().toISOString());
  }

  async build(ref: ActionRef): Promise<Deployment> {
    const template = await this.template(ref);
    const notice = this.forDevice(template, ref.actionId, (url) => retarget(url, ref.controllerId), new Date().toISOString());
    const { hardwareTypes } = template;
    // hawkBit ships every archive of the distribution set to every device; a device gets only the
    // archives for its own hardware (and the untyped ones). The lookup happens only for typed releases.
    if (hardwareTypes.some((type) => type !== null)) {
      const device = await this.deps.db.device.findUnique({ where: { controllerId: ref.controllerId }, select: { hardware: true } });
      notice.artifacts = notice.artifacts.filter((_, index) => hardwareTypes[index] === null || hardwareTypes[index] === device?.hardware);
    }
    return notice;
  }

  /**
   * Builds (and caches) the notice the devices of `ref`'s rollout will share, without a device's copy: a caller about
   * to register a burst of actions can have the template ready by the time the registration is done.
   */
  async prepare(ref: ActionRef): Promise<void> {
    await this.template(ref);
  }

  private shareKey(ref: ActionRef): string | undefined {
    if (ref.shareKey !== undefined) return `${ref.shareKey}:${ref.consentRequired}`;
    return ref.distributionSetId === undefined || ref.rolloutId === undefined ? undefined : `${ref.rolloutId}:${ref.distributionSetId}:${ref.consentRequired}`;
  }

  private async template(ref: ActionRef): Promise<NoticeTemplate> {
    const key = this.shareKey(ref);
    if (key === undefined) return this.fresh(ref);
    const cached = this.templates.get(key);
    if (cached && cached.until > Date.now()) return cached;
    // One build per key at a time: a notice prepared ahead and the first device's notice share it.
    let building = this.building.get(key);
    if (!building) {
      building = this.fresh(ref).then((template) => {
        this.templates.set(key, template);
        return template;
      }).finally(() => this.building.delete(key));
      this.building.set(key, building);
    }
    return building;
  }

  private async fresh(ref: ActionRef): Promise<NoticeTemplate> {
    const { channel } = this.deps;
    const ddi = ref.consentRequired ? await channel.getConfirmation(ref.controllerId, ref.actionId) : await channel.getDeployment(ref.controllerId, ref.actionId);
    const { notice, hardwareTypes, presignedUntil } = await this.fromDdi(ddi);
    return { notice, hardwareTypes, until: Math.min(Date.now() + DDI_CACHE_MS, presignedUntil) };
  }

  /** The template's notice for one device: its action, its hawkBit links. */
  private forDevice(template: NoticeTemplate, actionId: number, link: (url: string) => string, issuedAt: string): Deployment {
    return {
      ...template.notice,
      actionId,
      artifacts: template.notice.artifacts.map((artifact) => ({
        ...artifact,
        offers: artifact.offers.map((offer) => (offer.scheme !== "hawkbit-ddi" ? offer : { ...offer, url: link(offer.url) })),
      })),
      issuedAt,
    };
  }

  /**
   * Aerie's record of an artifact of the release hawkBit is deploying. The same bytes may have been uploaded
   * more than once (A1 signed and bound to this release, A2 an unsigned re-upload): the record is the one
   * bound to the release the chunk belongs to (Aerie names the software module after its release), never
   * merely the newest upload with that sha256, which once gave devices A2's missing signature.
   */
  private async ours(sha256: string, release: { name: string; version: string }): Promise<OurArtifact | null> {
    const cacheKey = `${release.name}\0${release.version}\0${sha256}`;
    const hit = this.artifacts.get(cacheKey);
    if (hit && hit.until > Date.now()) return hit.artifact;
    const row = await this.deps.db.artifact.findFirst({
      where: { sha256, release: { name: release.name, version: release.version } },
      include: { release: true, signatures: { orderBy: { createdAt: "desc" }, take: 1 } },
      orderBy: { createdAt: "desc" },
    });
    const record = row?.signatures[0];
    const signature = record ? presentSignature(record) : undefined;
    const artifact: OurArtifact | null = row
      ? { s3Key: row.s3Key, size: row.size, hardwareType: row.hardwareType, release: row.release ? { name: row.release.name, version: row.release.version } : null, signature }
      : null;
    this.artifacts.set(cacheKey, { artifact, until: Date.now() + DDI_CACHE_MS });
    return artifact;
  }

  private async presign(s3Key: string, filename: string): Promise<{ url: string; expiresAt: string; until: number }> {
    const hit = this.presigned.get(s3Key);
    if (hit && hit.until > Date.now()) return hit;
    const ttl = this.deps.presignTtlSeconds;
    const url = await this.deps.store.presignDownload(s3Key, ttl, filename);
    const entry = { url, expiresAt: new Date(Date.now() + ttl * 1000).toISOString(), until: Date.now() + (ttl * 1000) / 2 };
    this.presigned.set(s3Key, entry);
    return entry;
  }

  private async fromDdi(ddi: DdiDeployment): Promise<{ notice: Deployment; hardwareTypes: (string | null)[]; presignedUntil: number }> {
    let presignedUntil = Number.POSITIVE_INFINITY;
    const artifacts: DeploymentArtifact[] = [];
    const hardwareTypes: (string | null)[] = [];
    let release: { name: string; version: string } | undefined;
    for (const chunk of ddi.chunks) {
      release ??= { name: chunk.name, version: chunk.version };
      for (const artifact of chunk.artifacts) {
        const ours = artifact.hashes.sha256 ? await this.ours(artifact.hashes.sha256, { name: chunk.name, version: chunk.version }) : null;
        const signature = ours?.signature;
        if (!signature) {
          throw new UnsignedArtifactError(`${artifact.filename} of ${chunk.name} ${chunk.version} has no signature Aerie knows of: not announced (devices take signed artifacts only)`);
        }
        if (ours?.release) release = ours.release;
        const offers: DeploymentArtifact["offers"] = [];
        if (ours) {
          const { url, expiresAt, until } = await this.presign(ours.s3Key, artifact.filename);
          presignedUntil = Math.min(presignedUntil, until);
          offers.push({ url, scheme: "s3-presigned", metric: 0, expiresAt });
        }
        const hawkbitLink = artifact.links.downloadHttps ?? artifact.links.downloadHttp;
        if (hawkbitLink) offers.push({ url: hawkbitLink, scheme: "hawkbit-ddi", metric: 10 });
        hardwareTypes.push(ours?.hardwareType ?? null);
        artifacts.push({
          filename: artifact.filename,
          size: artifact.size ?? Number(ours?.size ?? 0),
          hashes: artifact.hashes as DeploymentArtifact["hashes"],
          signature,
          offers,
        });
      }
    }
    const notice: Deployment = {
      actionId: ddi.actionId,
      type: ddi.type,
      release: release ?? { name: "unknown", version: "unknown" },
      artifacts,
      ...(ddi.maintenanceWindow ? { maintenanceWindow: { available: ddi.maintenanceWindow === "available" } } : {}),
      consentRequired: ddi.confirmationRequired ?? false,
      issuedAt: new Date().toISOString(),
    };
    return { notice, hardwareTypes, presignedUntil };
  }
}
