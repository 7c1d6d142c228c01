// Listing and deleting artifacts and releases. A release goes only when no active campaign uses it: hawkBit's
// DistributionSetManagement.delete keeps a set that was ever assigned as soft-deleted for its actions' history,
// and Aerie does the same: a release that ended campaigns refer to stays as status "deleted" (campaign history
// keeps its release), one never rolled out is removed. Its hawkBit set and module are deleted either way.
import type { Database } from "../../core/db/prisma.js";
import type { ArtifactStore } from "../../core/storage/artifact-store.js";
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { HawkbitError } from "../../hawkbit/errors.js";
import { audit } from "../audit.js";
import { conflict, notFound } from "../http-error.js";
import { LIVE_STATUSES } from "./campaigns.js";

const ignoreNotFound = (error: unknown) => {
  if (!(error instanceof HawkbitError && error.kind === "not-found")) throw error;
};

export class CatalogService {
  constructor(private readonly db: Database, private readonly hawkbit: HawkbitManagementClient, private readonly store: ArtifactStore) {}

  /** Every artifact, newest first, with its signatures and the release it belongs to. */
  async listArtifacts(filter: { releaseId?: string; unbound?: boolean } = {}) {
    return this.db.artifact.findMany({
      where: filter.unbound ? { releaseId: null } : filter.releaseId ? { releaseId: filter.releaseId } : {},
      orderBy: { createdAt: "desc" },
      include: { signatures: true, release: { select: { id: true, name: true, version: true, status: true } } },
      take: 1000,
    });
  }

  /** Devices that installed the release: their latest successful action belongs to one of its campaigns. */
  async releaseDevices(releaseId: string) {
    if (!(await this.db.release.findUnique({ where: { id: releaseId }, select: { id: true } }))) throw notFound(`release ${releaseId}`);
    return this.db.$queryRaw<{ controllerId: string; campaign: string; installedAt: Date }[]>`
      SELECT DISTINCT ON (d.controller_id) d.controller_id AS "controllerId", c.name AS campaign, a.updated_at AS "installedAt"
      FROM device_actions a JOIN campaigns c ON c.id = a.campaign_id JOIN devices d ON d.id = a.device_id
      WHERE c.release_id = ${releaseId}::uuid AND a.status = 'success'
      ORDER BY d.controller_id, a.updated_at DESC LIMIT 1000`;
  }

  async deleteRelease(id: string, actor: string): Promise<{ id: string; removed: boolean; status: string }> {
    const release = await this.db.release.findUnique({ where: { id }, include: { campaigns: { select: { id: true, name: true, status: true } } } });
    if (!release) throw notFound(`release ${id}`);
    const active = release.campaigns.filter((c) => (LIVE_STATUSES as string[]).includes(c.status));
    if (active.length > 0) throw conflict(`release ${release.name} ${release.version} is used by active campaigns: ${active.map((c) => `${c.name} (${c.status})`).join(", ")}`);
    if (release.status === "provisioning") throw conflict(`release ${release.name} ${release.version} is still provisioning`);
    if (release.hawkbitDistributionSetId) await this.hawkbit.deleteDistributionSet(release.hawkbitDistributionSetId).catch(ignoreNotFound);
    if (release.hawkbitSoftwareModuleId) await this.hawkbit.deleteSoftwareModule(release.hawkbitSoftwareModuleId).catch(ignoreNotFound);
    const keep = release.campaigns.length > 0;
    if (keep) {
      await this.db.release.update({ where: { id }, data: { status: "deleted", statusReason: `deleted by ${actor}`, hawkbitDistributionSetId: null, hawkbitSoftwareModuleId: null } });
    } else {
      await this.db.$transaction([
        this.db.artifact.updateMany({ where: { releaseId: id }, data: { releaseId: null, hawkbitArtifactId: null } }),
        this.db.release.delete({ where: { id } }),
      ]);
    }
    await audit(this.db, actor, "release.delete", `release:${id}`, { name: release.name, version: release.version, kept: keep });
    return { id, removed: !keep, status: keep ? "deleted" : "removed" };
  }

  /** An artifact of a release that still exists (not deleted) is refused: the release would lose its file. */
  async deleteArtifact(id: string, actor: string): Promise<void> {
    const artifact = await this.db.artifact.findUnique({ where: { id }, include: { release: { select: { id: true, name: true, version: true, status: true } } } });
    if (!artifact) throw notFound(`artifact ${id}`);
    if (artifact.release && artifact.release.status !== "deleted" && artifact.release.status !== "failed") {
      throw conflict(`artifact ${id} belongs to release ${artifact.release.name} ${artifact.release.version} (${artifact.release.id}); delete the release first`);
    }
    await this.db.artifact.delete({ where: { id } });
    // The row goes first: an S3 failure then leaves an unreferenced object, never a row without its file.
    await this.store.delete(artifact.s3Key);
    await audit(this.db, actor, "artifact.delete", `artifact:${id}`, { filename: artifact.filename, sha256: artifact.sha256 });
  }
}
