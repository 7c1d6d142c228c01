// Artifacts: streamed into S3 with their sha256 computed on the way, then recorded in Postgres.
// A row exists only for bytes that are completely stored; a failed or mismatched upload leaves
// neither a row nor an object behind.
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { Database } from "../../core/db/prisma.js";
import type { AerieMetrics } from "../../core/metrics.js";
import type { ArtifactStore } from "../../core/storage/artifact-store.js";
import { audit } from "../audit.js";
import { badRequest, notFound } from "../http-error.js";
import type { ArtifactSigner } from "../signer.js";

// "." and ".." are no file names: as an S3 key segment or a build's output path they point elsewhere.
const FILENAME = /^(?!\.{1,2}$)[A-Za-z0-9._+-]{1,200}$/;
/** As a release's archives name them (api/services/releases.ts). */
const HARDWARE_TYPE = /^[A-Za-z0-9._:+-]{1,128}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export interface UploadRequest {
  filename: string;
  contentType?: string;
  hardwareType?: string;
  expectedSha256?: string;
  body: Readable;
  actor: string;
}

export function checkUploadParameters(filename: unknown, expectedSha256: unknown, hardwareType?: unknown): void {
  if (typeof filename !== "string" || !FILENAME.test(filename)) {
    throw badRequest("filename is required: 1-200 characters of letters, digits and . _ + - (not . or ..)");
  }
  if (hardwareType !== undefined && (typeof hardwareType !== "string" || !HARDWARE_TYPE.test(hardwareType))) {
    throw badRequest("hardwareType must be 1-128 characters of letters, digits and . _ : + -");
  }
  if (expectedSha256 !== undefined && (typeof expectedSha256 !== "string" || !SHA256.test(expectedSha256))) {
    throw badRequest("sha256 must be 64 lowercase hex digits");
  }
}

export class ArtifactService {
  constructor(
    private readonly db: Database,
    private readonly store: ArtifactStore,
    private readonly signer: ArtifactSigner,
    private readonly metrics: AerieMetrics,
  ) {}

  async upload(request: UploadRequest) {
    checkUploadParameters(request.filename, request.expectedSha256, request.hardwareType);
    const id = randomUUID();
    const key = `artifacts/${id}/${request.filename}`;
    let stored: Awaited<ReturnType<ArtifactStore["put"]>>;
    try {
      stored = await this.store.put(key, request.body, request.contentType);
    } catch (error) {
      // An upload cut short (too large, client gone) leaves no object behind.
      await this.store.delete(key).catch(() => undefined);
      throw error;
    }
    if (request.expectedSha256 && stored.sha256 !== request.expectedSha256) {
      await this.store.delete(key);
      throw badRequest(`sha256 mismatch: the upload hashed to ${stored.sha256}, expected ${request.expectedSha256}`);
    }
    if (stored.size === 0) {
      await this.store.delete(key);
      throw badRequest("the upload is empty");
    }
    this.metrics.uploadedBytes.inc(stored.size);
    const artifact = await this.db.artifact.create({
      data: { id, filename: request.filename, contentType: request.contentType ?? "application/octet-stream", hardwareType: request.hardwareType, s3Key: key, size: BigInt(stored.size), sha256: stored.sha256 },
    });
    await audit(this.db, request.actor, "artifact.upload", `artifact:${id}`, { filename: request.filename, size: stored.size, sha256: stored.sha256 });
    return artifact;
  }

  async get(id: string) {
    const artifact = await this.db.artifact.findUnique({ where: { id }, include: { signatures: true } });
    if (!artifact) throw notFound(`artifact ${id}`);
    return artifact;
  }

  /** Signs the artifact's sha256 with the transit key; the key version is recorded with it. */
  async sign(id: string, actor: string) {
    const artifact = await this.get(id);
    const signature = await this.signer.signDigest(Buffer.from(artifact.sha256, "hex"));
    const row = await this.db.signature.create({
      data: { artifactId: id, format: "raw", keyName: signature.keyName, keyVersion: signature.keyVersion, algorithm: signature.algorithm, digest: artifact.sha256, value: signature.value },
    });
    await audit(this.db, actor, "artifact.sign", `artifact:${id}`, { keyName: signature.keyName, keyVersion: signature.keyVersion, algorithm: signature.algorithm });
    return row;
  }
}
