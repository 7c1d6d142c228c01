// A release is a hawkBit software module (with the artifacts' bytes, so hawkBit's own download link
// works too) inside a distribution set. Creation is a persisted step machine, so Aerie killed between any two
// hawkBit calls neither loses the release nor leaves a module or distribution set nobody refers to:
//
//   provisioning ──(SM ensured → artifacts uploaded → DS ensured, each step looked up before it creates)──► ready
//        └── hawkBit refused a step (4xx) ──(the DS and SM it made so far deleted)──► failed (status_reason says why)
//
// A cleanup that fails (hawkBit unreachable) leaves the release provisioning: the reconciler runs it again, hawkBit
// refuses again, and the cleanup is retried, so a refused release never leaves a module or set behind.
// The row and the artifact binding are written first; `provision` is re-run by the reconciler for every release
// still provisioning, and completes it from wherever hawkBit is.
import type { HawkbitManagementClient } from "../hawkbit/management-client.js";
import type { Database } from "../../core/db/prisma.js";
import type { ArtifactStore } from "../../core/storage/artifact-store.js";
import { HawkbitError } from "../hawkbit/errors.js";
import { audit } from "../audit.js";
import { badRequest, conflict, notFound } from "../http-error.js";
import { compile, parseBody } from "../validation.js";

export interface CreateRelease {
  name: string;
  version: string;
  description?: string;
  artifacts: string[];
}

export const validateCreateRelease = compile<CreateRelease>({
  type: "object",
  required: ["name", "version", "artifacts"],
  additionalProperties: false,
  properties: {
    name: { type: "string", pattern: "^[A-Za-z0-9._ -]{1,64}$" },
    version: { type: "string", pattern: "^[A-Za-z0-9._+-]{1,64}$" },
    description: { type: "string", maxLength: 512 },
    artifacts: { type: "array", minItems: 1, maxItems: 32, uniqueItems: true, items: { type: "string", format: "uuid" } },
  },
});

// hawkBit's default types (created with every tenant): a firmware image is an "os" module.
const SOFTWARE_MODULE_TYPE = "os";
const DISTRIBUTION_SET_TYPE = "os";

export class ReleaseService {
  constructor(private readonly db: Database, private readonly hawkbit: HawkbitManagementClient, private readonly store: ArtifactStore) {}

  async create(body: unknown, actor: string) {
    const input = parseBody(validateCreateRelease, body);
    const existing = await this.db.release.findUnique({ where: { name_version: { name: input.name, version: input.version } } });
    // A release hawkBit refused may be created again; its row goes, its artifacts become free.
    if (existing?.status === "failed") await this.db.release.delete({ where: { id: existing.id } });
    else if (existing) throw conflict(`release ${input.name} ${input.version} exists already (${existing.id})`);
    const artifacts = await this.db.artifact.findMany({ where: { id: { in: input.artifacts } } });
    const missing = input.artifacts.filter((id) => !artifacts.some((a) => a.id === id));
    if (missing.length > 0) throw notFound(`artifact ${missing.join(", ")}`);
    const bound = artifacts.find((a) => a.releaseId !== null);
    if (bound) throw conflict(`artifact ${bound.id} belongs to another release already`);
    if (new Set(artifacts.map((a) => a.filename)).size !== artifacts.length) throw badRequest("two artifacts have the same filename");

    const release = await this.db.$transaction(async (tx) => {
      const created = await tx.release.create({ data: { name: input.name, version: input.version, description: input.description, status: "provisioning" } });
      for (const artifact of artifacts) await tx.artifact.update({ where: { id: artifact.id }, data: { releaseId: created.id } });
      return created;
    });
    await audit(this.db, actor, "release.create", `release:${release.id}`, { name: input.name, version: input.version, artifacts: input.artifacts });
    await this.provision(release.id);
    return this.get(release.id);
  }

  /** Provisioning in progress in this process: the API request and the reconciler must not run it twice at once. */
  private readonly inflight = new Map<string, Promise<void>>();

  /** Brings a provisioning release to ready (or failed), from whatever hawkBit already has. Safe to repeat. */
  provision(releaseId: string): Promise<void> {
    const running = this.inflight.get(releaseId);
    if (running) return running;
    const run = this.provisionOnce(releaseId).finally(() => this.inflight.delete(releaseId));
    this.inflight.set(releaseId, run);
    return run;
  }

  private async provisionOnce(releaseId: string): Promise<void> {
    const release = await this.db.release.findUniqueOrThrow({ where: { id: releaseId }, include: { artifacts: true } });
    if (release.status !== "provisioning") return;
    try {
      await this.provisionSteps(release);
    } catch (error) {
      if (error instanceof HawkbitError && error.status !== undefined && error.status < 500 && error.status !== 429) {
        const removed = await this.removePartial(release);
        await this.db.release.update({ where: { id: release.id }, data: { status: "failed", statusReason: `hawkBit: ${error.message}`, hawkbitSoftwareModuleId: null, hawkbitDistributionSetId: null } });
        await audit(this.db, "aerie", "release.failed", `release:${release.id}`, { reason: error.message, errorCode: error.errorCode, removed });
      }
      throw error;
    }
  }

  private async provisionSteps(release: { id: string; name: string; version: string; description: string | null; artifacts: { id: string; filename: string; s3Key: string; sha256: string; size: bigint }[] }): Promise<void> {
    const input = { name: release.name, version: release.version, description: release.description ?? undefined };
    const artifacts = release.artifacts;
    const module = await this.hawkbit.ensureSoftwareModule({ name: input.name, version: input.version, type: SOFTWARE_MODULE_TYPE, description: input.description });
    await this.db.release.update({ where: { id: release.id }, data: { hawkbitSoftwareModuleId: module.id } });
    const present = new Map((await this.hawkbit.listArtifacts(module.id)).map((a) => [a.providedFilename, a]));
    const hawkbitArtifactIds = new Map<string, number>();
    for (const artifact of artifacts) {
      let uploaded = present.get(artifact.filename);
      if (!uploaded) {
        const body = await this.store.get(artifact.s3Key);
        try {
          uploaded = await this.hawkbit.uploadArtifact(module.id, body, { filename: artifact.filename, sha256: artifact.sha256, size: Number(artifact.size) });
        } catch (error) {
          // Uploaded meanwhile by another Aerie process: use theirs (its hash is checked below).
          if (!(error instanceof HawkbitError && error.kind === "conflict")) throw error;
          uploaded = (await this.hawkbit.listArtifacts(module.id)).find((a) => a.providedFilename === artifact.filename);
          if (!uploaded) throw error;
        }
      }
      if (uploaded.hashes?.sha256 && uploaded.hashes.sha256 !== artifact.sha256) {
        throw conflict(`hawkBit holds a different ${artifact.filename} in software module ${module.id}`);
      }
      hawkbitArtifactIds.set(artifact.id, uploaded.id);
    }
    const distributionSet = await this.hawkbit.ensureDistributionSet({ name: input.name, version: input.version, type: DISTRIBUTION_SET_TYPE, description: input.description, modules: [module.id] });

    await this.db.$transaction(async (tx) => {
      await tx.release.update({ where: { id: release.id }, data: { hawkbitDistributionSetId: distributionSet.id, status: "ready", statusReason: null } });
      for (const artifact of artifacts) {
        await tx.artifact.update({ where: { id: artifact.id }, data: { hawkbitArtifactId: hawkbitArtifactIds.get(artifact.id) } });
      }
    });
  }

  /**
   * Deletes what this release made in hawkBit: its name/version is unique in Aerie, so the set and module of that
   * name/version are its own. The set goes first, so the module is no longer referred to and is deleted for good.
   */
  private async removePartial(release: { name: string; version: string; hawkbitSoftwareModuleId: number | null }): Promise<{ distributionSet?: number; softwareModule?: number }> {
    const removed: { distributionSet?: number; softwareModule?: number } = {};
    const set = await this.hawkbit.findDistributionSet(release.name, release.version);
    if (set) {
      await this.hawkbit.deleteDistributionSet(set.id);
      removed.distributionSet = set.id;
    }
    const moduleId = release.hawkbitSoftwareModuleId ?? (await this.hawkbit.findSoftwareModule(release.name, release.version, SOFTWARE_MODULE_TYPE))?.id;
    if (moduleId !== undefined) {
      await this.hawkbit.deleteSoftwareModule(moduleId).catch((error) => {
        if (!(error instanceof HawkbitError && error.kind === "not-found")) throw error;
      });
      removed.softwareModule = moduleId;
    }
    return removed;
  }

  /** Releases whose provisioning was interrupted; the reconciler completes them. */
  async pending(): Promise<string[]> {
    return (await this.db.release.findMany({ where: { status: "provisioning" }, select: { id: true } })).map((r) => r.id);
  }

  async get(id: string) {
    const release = await this.db.release.findUnique({ where: { id }, include: { artifacts: { include: { signatures: true } } } });
    if (!release) throw notFound(`release ${id}`);
    return release;
  }

  list() {
    return this.db.release.findMany({ orderBy: { createdAt: "desc" }, include: { artifacts: true } });
  }
}
