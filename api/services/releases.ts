// A release is a hawkBit software module (with the artifacts' bytes, so hawkBit's own download link
// works too) inside a distribution set. Every hawkBit step looks up before it creates, so a release
// whose creation was interrupted is completed, not duplicated, by the next attempt.
import type { HawkbitManagementClient } from "../hawkbit/management-client.js";
import type { Database } from "../../core/db/prisma.js";
import type { ArtifactStore } from "../../core/storage/artifact-store.js";
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
    if (existing) throw conflict(`release ${input.name} ${input.version} exists already (${existing.id})`);
    const artifacts = await this.db.artifact.findMany({ where: { id: { in: input.artifacts } } });
    const missing = input.artifacts.filter((id) => !artifacts.some((a) => a.id === id));
    if (missing.length > 0) throw notFound(`artifact ${missing.join(", ")}`);
    const bound = artifacts.find((a) => a.releaseId !== null);
    if (bound) throw conflict(`artifact ${bound.id} belongs to another release already`);
    if (new Set(artifacts.map((a) => a.filename)).size !== artifacts.length) throw badRequest("two artifacts have the same filename");

    const module = await this.hawkbit.ensureSoftwareModule({ name: input.name, version: input.version, type: SOFTWARE_MODULE_TYPE, description: input.description });
    const present = new Map((await this.hawkbit.listArtifacts(module.id)).map((a) => [a.providedFilename, a]));
    const hawkbitArtifactIds = new Map<string, number>();
    for (const artifact of artifacts) {
      let uploaded = present.get(artifact.filename);
      if (!uploaded) {
        const body = await this.store.get(artifact.s3Key);
        uploaded = await this.hawkbit.uploadArtifact(module.id, body, { filename: artifact.filename, sha256: artifact.sha256, size: Number(artifact.size) });
      }
      if (uploaded.hashes?.sha256 && uploaded.hashes.sha256 !== artifact.sha256) {
        throw conflict(`hawkBit holds a different ${artifact.filename} in software module ${module.id}`);
      }
      hawkbitArtifactIds.set(artifact.id, uploaded.id);
    }
    const distributionSet = await this.hawkbit.ensureDistributionSet({ name: input.name, version: input.version, type: DISTRIBUTION_SET_TYPE, description: input.description, modules: [module.id] });

    const release = await this.db.$transaction(async (tx) => {
      const created = await tx.release.create({
        data: { name: input.name, version: input.version, description: input.description, hawkbitSoftwareModuleId: module.id, hawkbitDistributionSetId: distributionSet.id },
      });
      for (const artifact of artifacts) {
        await tx.artifact.update({ where: { id: artifact.id }, data: { releaseId: created.id, hawkbitArtifactId: hawkbitArtifactIds.get(artifact.id) } });
      }
      return created;
    });
    await audit(this.db, actor, "release.create", `release:${release.id}`, { name: input.name, version: input.version, artifacts: input.artifacts });
    return this.get(release.id);
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
