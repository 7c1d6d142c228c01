// Builds signed update artifacts from uploaded images — SWUpdate .swu (CMS, raw RSA or RSA-PSS) and
// RAUC .raucb (plain or verity) — through the Vault transit key, and keeps the device keyring.
// Images are streamed from S3 into a private temp folder, the artifact is built there (hashing is
// streamed, nothing is held in memory whole), stored in S3 with its signature metadata in
// Postgres, and the folder is removed whatever happens.
import { X509Certificate } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Database } from "../../core/db/prisma.js";
import type { ArtifactStore } from "../../core/storage/artifact-store.js";
import { transitCmsSigner } from "../../signing/cms/transit-cms-signer.js";
import { buildRaucBundle, readBundleSignature, type RaucFormat } from "../../signing/rauc/bundle.js";
import { buildSwu, type SwuSignatureMode } from "../../signing/swu/build.js";
import { readSwuHead, SWU_HEAD_BYTES } from "../../signing/swu/read.js";
import { VaultTransitError } from "../../signing/vault/errors.js";
import type { TransitSigner } from "../../signing/vault/transit-signer.js";
import type { SignatureAlgorithm } from "../../signing/verify.js";
import { splitPemChain } from "../../signing/x509/certificate.js";
import { audit } from "../audit.js";
import { LIVE_STATUSES } from "./campaigns.js";
import type { SignatureVerifier } from "./release-signatures.js";
import type { ArtifactService } from "./artifacts.js";
import { distinguishedName } from "../../signing/x509/csr.js";
import { badRequest, conflict, HttpError, notFound } from "../http-error.js";
import { compile, parseBody } from "../validation.js";

const ALGORITHMS = ["rsa-pkcs1v15", "rsa-pss", "ecdsa-p256"] as const;
// Not "." or "..": the build writes its output to out/<filename>, which must stay inside the build folder.
const FILENAME = { type: "string", pattern: "^(?!\\.{1,2}$)[A-Za-z0-9._+-]{1,200}$" } as const;
const UUID = { type: "string", format: "uuid" } as const;
const TEXT = { type: "string", minLength: 1, maxLength: 256, pattern: "^[^\\n\\r]*$" } as const;

export interface BuildSwu {
  filename: string;
  mode: SwuSignatureMode;
  algorithm: SignatureAlgorithm;
  version?: string;
  description?: string;
  hardwareCompatibility?: string[];
  swDescription?: string;
  images: { artifactId: string; type?: string; device?: string; volume?: string; path?: string; installedDirectly?: boolean }[];
}

export const buildSwuSchema = {
  type: "object",
  required: ["filename", "images"],
  additionalProperties: false,
  properties: {
    filename: FILENAME,
    mode: { enum: ["cms", "raw-rsa", "rsa-pss"], default: "cms" },
    algorithm: { enum: ALGORITHMS, default: "rsa-pkcs1v15" },
    version: TEXT,
    description: TEXT,
    hardwareCompatibility: { type: "array", minItems: 1, maxItems: 32, items: TEXT },
    swDescription: { type: "string", minLength: 1, maxLength: 65536 },
    images: {
      type: "array",
      minItems: 1,
      maxItems: 32,
      items: {
        type: "object",
        required: ["artifactId"],
        additionalProperties: false,
        properties: { artifactId: UUID, type: TEXT, device: TEXT, volume: TEXT, path: TEXT, installedDirectly: { type: "boolean" } },
      },
    },
  },
  // Either a typed description or a given sw-description, not both.
  oneOf: [{ required: ["swDescription"], not: { anyOf: [{ required: ["version"] }, { required: ["hardwareCompatibility"] }] } }, { required: ["version", "hardwareCompatibility"], not: { required: ["swDescription"] } }],
} as const;

const validateBuildSwu = compile<BuildSwu>(buildSwuSchema);

export interface BuildRauc {
  filename: string;
  format: RaucFormat;
  algorithm: SignatureAlgorithm;
  compatible: string;
  version: string;
  description?: string;
  images: { artifactId: string; slotClass: string }[];
}

export const buildRaucSchema = {
  type: "object",
  required: ["filename", "compatible", "version", "images"],
  additionalProperties: false,
  properties: {
    filename: FILENAME,
    format: { enum: ["plain", "verity"], default: "verity" },
    algorithm: { enum: ALGORITHMS, default: "rsa-pkcs1v15" },
    compatible: TEXT,
    version: TEXT,
    description: TEXT,
    images: {
      type: "array",
      minItems: 1,
      maxItems: 32,
      items: { type: "object", required: ["artifactId", "slotClass"], additionalProperties: false, properties: { artifactId: UUID, slotClass: { type: "string", pattern: "^[\\w.-]{1,64}$" } } },
    },
  },
} as const;

const validateBuildRauc = compile<BuildRauc>(buildRaucSchema);

/** The sw-description.sig of a built .swu. */
async function swuSignature(path: string): Promise<Buffer> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(SWU_HEAD_BYTES);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return readSwuHead(head.subarray(0, bytesRead)).signature;
  } finally {
    await file.close();
  }
}

/** A CA bundle as caBundle() serves it: roots, then intermediates, each once. */
const bundleOf = (roots: string[], intermediates: string[]): string => `${[...new Set([...roots, ...intermediates])].join("\n")}\n`;

const TRUST_ANCHORS_KEY = "keyring/trust-anchors.pem";

/** The certificates of a PEM text, each normalised to its own PEM block. */
const certificatesOf = (text: string): string[] => splitPemChain(text).map((der) => new X509Certificate(der).toString().trim());

/** Signing failures caused by the request or the key's set-up are the caller's to fix. */
function asHttpError(error: unknown): never {
  const message = (error as Error).message ?? String(error);
  // Vault refusing the input (a chain for another key, a bad subject) is a bad request; a 403 is
  // Aerie's own token and stays a server error.
  if (error instanceof VaultTransitError && error.status && error.status < 500 && error.status !== 403) throw badRequest(message);
  if (/has no certificate/.test(message)) throw conflict(message);
  if (/cannot make|refused|does not fit|not among the images|share a file name|lists .* which is not/.test(message)) throw badRequest(message);
  throw error;
}

export class SigningService {
  private verifier: SignatureVerifier | undefined;

  constructor(
    private readonly db: Database,
    private readonly store: ArtifactStore,
    private readonly transit: TransitSigner,
    private readonly artifacts: ArtifactService,
  ) {}

  /** The release signature check, used to refuse a chain change that would strand live releases. */
  useVerifier(verifier: SignatureVerifier): void {
    this.verifier = verifier;
  }

  async buildSwu(body: unknown, actor: string) {
    const input = parseBody(validateBuildSwu, body);
    return this.withWorkspace(input.images.map((i) => i.artifactId), async (dir, files) => {
      const output = join(dir, "out", input.filename);
      let signatureValue = "";
      let keyVersion = 0;
      let certificate: string | undefined;
      const images = files.map((f) => f.path);
      const description = input.swDescription
        ? { text: input.swDescription }
        : {
            version: input.version!,
            description: input.description,
            hardwareCompatibility: input.hardwareCompatibility!,
            images: input.images.map((image, index) => ({ filename: files[index]!.filename, type: image.type, device: image.device, volume: image.volume, path: image.path, installedDirectly: image.installedDirectly })),
          };
      if (input.mode === "cms") {
        const signer = await transitCmsSigner(this.transit, { algorithm: input.algorithm });
        keyVersion = signer.keyVersion;
        certificate = (await this.transit.publicKey(keyVersion)).certificateChain;
        await buildSwu({ output, images, description, mode: "cms", cmsSigner: signer });
        // The record keeps the CMS itself (devices are told it with its format), as for RAUC bundles.
        signatureValue = (await swuSignature(output)).toString("base64");
      } else {
        const algorithm: SignatureAlgorithm = input.mode === "rsa-pss" ? "rsa-pss" : "rsa-pkcs1v15";
        await buildSwu({
          output,
          images,
          description,
          mode: input.mode,
          digestSigner: {
            sign: async (digest) => {
              const signed = await this.transit.sign(digest, { algorithm });
              keyVersion = signed.keyVersion;
              signatureValue = signed.signature.toString("base64");
              return signed;
            },
          },
        });
      }
      const signatureAlgorithm = input.mode === "cms" ? input.algorithm : input.mode === "rsa-pss" ? "rsa-pss" : "rsa-pkcs1v15";
      return this.store_(output, input.filename, actor, { format: `swu-${input.mode}`, keyVersion, algorithm: signatureAlgorithm, certificate, value: signatureValue || undefined });
    });
  }

  async buildRauc(body: unknown, actor: string) {
    const input = parseBody(validateBuildRauc, body);
    return this.withWorkspace(input.images.map((i) => i.artifactId), async (dir, files) => {
      const output = join(dir, "out", input.filename);
      const signer = await transitCmsSigner(this.transit, { algorithm: input.algorithm });
      await buildRaucBundle({
        output,
        format: input.format,
        signer,
        source: {
          directory: join(dir, "in"),
          manifest: {
            compatible: input.compatible,
            version: input.version,
            description: input.description,
            images: input.images.map((image, index) => ({ slotClass: image.slotClass, filename: files[index]!.filename })),
          },
        },
      });
      const { cms } = await readBundleSignature(output);
      const certificate = (await this.transit.publicKey(signer.keyVersion)).certificateChain;
      return this.store_(output, input.filename, actor, { format: `rauc-${input.format}`, keyVersion: signer.keyVersion, algorithm: input.algorithm, certificate, value: cms.toString("base64") });
    });
  }

  /** Downloads the images into a private folder (in/), runs `build`, and always removes the folder. */
  private async withWorkspace<T>(artifactIds: string[], build: (dir: string, files: { path: string; filename: string }[]) => Promise<T>): Promise<T> {
    const artifacts = await this.db.artifact.findMany({ where: { id: { in: artifactIds } } });
    const missing = artifactIds.filter((id) => !artifacts.some((a) => a.id === id));
    if (missing.length > 0) throw notFound(`artifact ${missing.join(", ")}`);
    const ordered = artifactIds.map((id) => artifacts.find((a) => a.id === id)!);
    if (new Set(ordered.map((a) => a.filename)).size !== ordered.length) throw badRequest("two images have the same filename");
    const dir = await mkdtemp(join(tmpdir(), "aerie-build-"));
    try {
      await chmod(dir, 0o700);
      await mkdir(join(dir, "in"));
      await mkdir(join(dir, "out"));
      const files = [];
      for (const artifact of ordered) {
        const path = join(dir, "in", artifact.filename);
        await pipeline(await this.store.get(artifact.s3Key), createWriteStream(path));
        files.push({ path, filename: artifact.filename });
      }
      return await build(dir, files).catch(asHttpError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Stores the built file as a new artifact (like an upload) with its signature record. */
  private async store_(path: string, filename: string, actor: string, signature: { format: string; keyVersion: number; algorithm: string; certificate?: string; value?: string }) {
    const artifact = await this.artifacts.upload({ filename, body: createReadStream(path), actor });
    await this.db.signature.create({
      data: {
        artifactId: artifact.id,
        format: signature.format,
        keyName: this.transit.keyName,
        keyVersion: signature.keyVersion,
        algorithm: signature.algorithm,
        digest: artifact.sha256,
        value: signature.value ?? "",
        certificate: signature.certificate || null,
      },
    });
    await audit(this.db, actor, "artifact.build", `artifact:${artifact.id}`, { filename, format: signature.format, keyVersion: signature.keyVersion, sha256: artifact.sha256 });
    return this.artifacts.get(artifact.id);
  }

  /** Roots the operator trusts plus every intermediate of the key's chains: swupdate's -k file, rauc's keyring. */
  async caBundle(): Promise<string> {
    const roots = await this.trustAnchors();
    const info = await this.transit.keyInfo();
    const intermediates = Object.values(info.versions).flatMap((version) => certificatesOf(version.certificateChain).slice(1));
    const unique = [...new Set([...roots, ...intermediates])];
    if (unique.length === 0) throw new HttpError(404, "not_found", "no trust anchors yet: PUT /api/v1/keyring/trust-anchors with the root CA certificate(s)");
    return `${unique.join("\n")}\n`;
  }

  async setTrustAnchors(pem: string, actor: string): Promise<number> {
    let certificates: string[];
    try {
      certificates = certificatesOf(pem);
    } catch {
      throw badRequest("a certificate could not be parsed");
    }
    if (certificates.length === 0) throw badRequest("expected one or more PEM certificates");
    for (const certificate of certificates) {
      const parsed = new X509Certificate(certificate);
      if (!parsed.ca) throw badRequest(`${parsed.subject.replace(/\n/g, ", ")} is not a CA certificate`);
    }
    const info = await this.transit.keyInfo();
    const intermediates = Object.values(info.versions).flatMap((version) => certificatesOf(version.certificateChain).slice(1));
    await this.refuseIfStranding(bundleOf(certificates, intermediates), "replacing the trust anchors");
    await this.store.put(TRUST_ANCHORS_KEY, Readable.from([Buffer.from(certificates.join("\n"))]), "application/x-pem-file");
    await audit(this.db, actor, "keyring.trust-anchors", "keyring", { certificates: certificates.length });
    return certificates.length;
  }

  /**
   * Refuses (409, naming them) a change of chain under which a signature that verifies today would no longer
   * verify, for the releases of campaigns still under way: their devices would refuse what they are being sent.
   */
  private async refuseIfStranding(newBundle: string, what: string): Promise<void> {
    const verifier = this.verifier;
    if (!verifier) return;
    const campaigns = await this.db.campaign.findMany({
      where: { status: { in: LIVE_STATUSES } },
      select: { id: true, name: true, release: { include: { artifacts: { include: { signatures: true } } } } },
    });
    const stranded: { releaseId: string; release: string; campaigns: string[]; artifact: string; problem: string }[] = [];
    const checked = new Map<string, { artifact: string; problem: string } | null>();
    for (const campaign of campaigns) {
      const release = campaign.release;
      if (!checked.has(release.id)) {
        let found: { artifact: string; problem: string } | null = null;
        for (const artifact of release.artifacts) {
          if ((await verifier.problem(artifact)) !== undefined) continue; // not verifying today: this change is not what breaks it
          const problem = await verifier.problem(artifact, { trustPem: newBundle });
          if (problem) {
            found = { artifact: `${artifact.filename} (${artifact.id})`, problem };
            break;
          }
        }
        checked.set(release.id, found);
      }
      const found = checked.get(release.id);
      if (!found) continue;
      const entry = stranded.find((s) => s.releaseId === release.id);
      if (entry) entry.campaigns.push(campaign.name);
      else stranded.push({ releaseId: release.id, release: `${release.name} ${release.version}`, campaigns: [campaign.name], ...found });
    }
    if (stranded.length === 0) return;
    const names = stranded.map((s) => `${s.release} (campaign ${s.campaigns.join(", ")})`).join("; ");
    throw new HttpError(409, "conflict", `${what} would stop the signatures of releases still being deployed from verifying: ${names}; finish or stop those campaigns first`, { releases: stranded });
  }

  private async trustAnchors(): Promise<string[]> {
    if ((await this.store.size(TRUST_ANCHORS_KEY)) === undefined) return [];
    const chunks: Buffer[] = [];
    for await (const chunk of await this.store.get(TRUST_ANCHORS_KEY)) chunks.push(chunk as Buffer);
    return certificatesOf(Buffer.concat(chunks).toString("utf8"));
  }

  createCsr(subject: unknown): Promise<string> {
    if (typeof subject !== "string" || !/^[^\n\r]{1,256}$/.test(subject)) throw badRequest("subject is required, e.g. \"CN=Aerie release signing, O=Example\"");
    try {
      distinguishedName(subject);
    } catch (error) {
      throw badRequest(`subject is not a distinguished name Aerie can encode: ${(error as Error).message}`);
    }
    return this.transit.createCsr(subject).catch(asHttpError);
  }

  async setCertificate(chainPem: unknown, actor: string): Promise<number> {
    if (typeof chainPem !== "string" || splitPemChain(chainPem).length === 0) throw badRequest("expected the certificate chain as PEM, leaf first");
    const info = await this.transit.keyInfo();
    const version = info.latestVersion;
    let newChain: string[];
    try {
      newChain = certificatesOf(chainPem);
    } catch {
      throw badRequest("a certificate of the chain could not be parsed");
    }
    // The CA bundle as it would be: the other versions' intermediates and this chain's.
    const intermediates = Object.entries(info.versions).flatMap(([v, entry]) => (Number(v) === version ? newChain : certificatesOf(entry.certificateChain)).slice(1));
    await this.refuseIfStranding(bundleOf(await this.trustAnchors(), intermediates), "replacing the key's certificate");
    await this.transit.setCertificate(chainPem, { keyVersion: version }).catch(asHttpError);
    await audit(this.db, actor, "keyring.certificate", "keyring", { keyVersion: version });
    return version;
  }
}
