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
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import type { Database } from "../../core/db/prisma.js";
import type { ArtifactStore } from "../../core/storage/artifact-store.js";
import { HawkbitError } from "../../hawkbit/errors.js";
import { audit } from "../audit.js";
import { badRequest, conflict, notFound } from "../http-error.js";
import { compile, parseBody } from "../validation.js";
import type { ArtifactToCheck, SignatureVerifier } from "./release-signatures.js";

export interface CreateRelease {
  name: string;
  version: string;
  description?: string;
  /** Archives for every hardware type, or typed by their upload's `hardwareType`. */
  artifacts?: string[];
  /** Archives by hardware type; a device of another hardware type is not offered the release. */
  archives?: { hardwareType: string; artifactId: string }[];
  upgradableFrom: string[];
  versionComponent: string;
}

const UUID = { type: "string", format: "uuid" } as const;
const HARDWARE_TYPE = { type: "string", pattern: "^[A-Za-z0-9._:+-]{1,128}$" } as const;

export const releaseInputSchema = {
  type: "object",
  required: ["name", "version"],
  additionalProperties: false,
  properties: {
    name: { type: "string", pattern: "^[A-Za-z0-9._ -]{1,64}$" },
    version: { type: "string", pattern: "^[A-Za-z0-9._+-]{1,64}$" },
    description: { type: "string", maxLength: 512 },
    artifacts: { type: "array", minItems: 1, maxItems: 32, uniqueItems: true, items: UUID, description: "Archives; typed by the hardwareType given at upload, if any." },
    archives: {
      type: "array", minItems: 1, maxItems: 32, description: "Archives per hardware type (the artifact's upload may name none or the same one).",
      items: { type: "object", required: ["hardwareType", "artifactId"], additionalProperties: false, properties: { hardwareType: HARDWARE_TYPE, artifactId: UUID } },
    },
    upgradableFrom: {
      type: "array", maxItems: 64, uniqueItems: true, default: [],
      description: "Installed versions (device attribute version.<versionComponent>, * as wildcard) this release updates from; empty: any.",
      items: { type: "string", pattern: "^[A-Za-z0-9._+*-]{1,64}$" },
    },
    versionComponent: { type: "string", pattern: "^[A-Za-z0-9_-]{1,32}$", default: "rootfs" },
  },
  anyOf: [{ required: ["artifacts"] }, { required: ["archives"] }],
} as const;

export const validateCreateRelease = compile<CreateRelease>(releaseInputSchema);

/** The hardware types a release has archives for; none when one of its archives fits every hardware. */
export function hardwareTypesOf(artifacts: { hardwareType: string | null }[]): string[] | undefined {
  if (artifacts.length === 0 || artifacts.some((a) => !a.hardwareType)) return undefined;
  return [...new Set(artifacts.map((a) => a.hardwareType!))].sort();
}

// hawkBit's default types (created with every tenant): a firmware image is an "os" module.
const SOFTWARE_MODULE_TYPE = "os";
const DISTRIBUTION_SET_TYPE = "os";

export class ReleaseService {
  constructor(
    private readonly db: Database,
    private readonly hawkbit: HawkbitManagementClient,
    private readonly store: ArtifactStore,
    private readonly signed: { verifier: SignatureVerifier; requireSigned: boolean },
  ) {}

  async create(body: unknown, actor: string) {
    const input = parseBody(validateCreateRelease, body);
    const existing = await this.db.release.findUnique({ where: { name_version: { name: input.name, version: input.version } } });
    // A release hawkBit refused may be created again; its row goes, its artifacts become free.
    if (existing?.status === "failed") await this.db.release.delete({ where: { id: existing.id } });
    else if (existing) throw conflict(`release ${input.name} ${input.version} exists already (${existing.id})`);
    const typed = new Map((input.archives ?? []).map((a) => [a.artifactId, a.hardwareType]));
    if (typed.size !== (input.archives ?? []).length) throw badRequest("an artifact is named twice in archives");
    const ids = [...new Set([...(input.artifacts ?? []), ...typed.keys()])];
    const artifacts = await this.db.artifact.findMany({ where: { id: { in: ids } }, include: { signatures: true } });
    const missing = ids.filter((id) => !artifacts.some((a) => a.id === id));
    if (missing.length > 0) throw notFound(`artifact ${missing.join(", ")}`);
    const bound = artifacts.find((a) => a.releaseId !== null);
    if (bound) throw conflict(`artifact ${bound.id} belongs to another release already`);
    if (new Set(artifacts.map((a) => a.filename)).size !== artifacts.length) throw badRequest("two artifacts have the same filename");
    for (const artifact of artifacts) {
      const declared = typed.get(artifact.id);
      if (declared && artifact.hardwareType && declared !== artifact.hardwareType) {
        throw badRequest(`archives names ${declared} for artifact ${artifact.id}, which was uploaded for ${artifact.hardwareType}`);
      }
    }
    if (this.signed.requireSigned) await this.checkSignatures(artifacts);

    const release = await this.db.$transaction(async (tx) => {
      const created = await tx.release.create({
        data: { name: input.name, version: input.version, description: input.description, status: "provisioning", upgradableFrom: input.upgradableFrom, versionComponent: input.versionComponent },
      });
      for (const artifact of artifacts) {
        await tx.artifact.update({ where: { id: artifact.id }, data: { releaseId: created.id, hardwareType: typed.get(artifact.id) ?? artifact.hardwareType } });
      }
      return created;
    });
    await audit(this.db, actor, "release.create", `release:${release.id}`, { name: input.name, version: input.version, artifacts: ids, upgradableFrom: input.upgradableFrom });
    await this.provision(release.id);
    return this.get(release.id);
  }

  /** Signed-only releases: refused, before anything is written, unless each artifact's signature verifies. */
  private async checkSignatures(artifacts: ArtifactToCheck[]): Promise<void> {
    const problems: { artifactId: string; filename: string; problem: string }[] = [];
    for (const artifact of artifacts) {
      const problem = await this.signed.verifier.problem(artifact);
      if (problem) problems.push({ artifactId: artifact.id, filename: artifact.filename, problem });
    }
    if (problems.length === 0) return;
    const first = problems[0]!;
    throw badRequest(
      `artifacts: artifact ${first.artifactId} (${first.filename}) ${first.problem}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}; releases take signed artifacts only (AERIE_REQUIRE_SIGNED)`,
      { artifacts: problems },
    );
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
    return { ...release, hardwareTypes: hardwareTypesOf(release.artifacts) ?? null };
  }

  async list() {
    const releases = await this.db.release.findMany({ orderBy: { createdAt: "desc" }, include: { artifacts: true } });
    return releases.map((r) => ({ ...r, hardwareTypes: hardwareTypesOf(r.artifacts) ?? null }));
  }
}
