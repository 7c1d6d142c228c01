// Signs sha256 digests with a key that never leaves Vault's transit engine. Every signature pins a
// key version, records it, and is checked against that version's public key before it is returned,
// so a wrong key, a rotated key or an unexpected PSS salt cannot slip into an artifact.
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import vault from "node-vault";
import { logger } from "../../core/log.js";
import { pssSaltLengthOf } from "../crypto/rsa.js";
import { checkKeyFitsAlgorithm, verifyDigestSignature, type SignatureAlgorithm } from "../verify.js";
import { buildCsr, distinguishedName, localCsrSigner } from "../x509/csr.js";
import { derToPem } from "../x509/der.js";
import { VaultTransitError, describeVaultError, isTransient, statusOf } from "./errors.js";

export type TransitKeyType = "rsa-2048" | "rsa-3072" | "rsa-4096" | "ecdsa-p256" | "ed25519";

export interface TransitSignerOptions {
  endpoint: string;
  token?: string;
  appRole?: { roleId: string; secretId: string };
  /** Mount path of the transit engine. */
  mount?: string;
  keyName: string;
  /** Further attempts after a 5xx or a connection failure. */
  retries?: number;
  retryDelayMs?: number;
  timeoutMs?: number;
}

export interface TransitKeyVersion {
  publicKeyPem: string;
  creationTime: string;
  certificateChain: string;
}

export interface TransitKeyInfo {
  name: string;
  type: string;
  latestVersion: number;
  minDecryptionVersion: number;
  minEncryptionVersion: number;
  versions: Record<number, TransitKeyVersion>;
}

export interface SignOptions {
  algorithm: SignatureAlgorithm;
  /** Defaults to the latest version at the time of signing. */
  keyVersion?: number;
}

export interface TransitSignature {
  signature: Buffer;
  keyVersion: number;
  algorithm: SignatureAlgorithm;
  /** RSA-PSS only: the salt length Vault used (its default is the maximum). */
  pssSaltLength?: number;
}

export interface TransitPublicKey {
  keyVersion: number;
  pem: string;
  key: KeyObject;
  /** PEM chain stored with set-certificate, leaf first; empty when none was stored. */
  certificateChain: string;
}

const ED25519_REFUSAL =
  "Ed25519 transit keys are refused: OpenSSL 3.0, which swupdate and rauc verify with, cannot verify Ed25519 CMS signatures; use rsa-2048/3072/4096 or ecdsa-p256";

const log = logger("transit-signer");

type Data = Record<string, unknown>;

export class TransitSigner {
  private readonly client: vault.client;
  private readonly mount: string;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly publicKeys = new Map<number, TransitPublicKey>();

  constructor(private readonly options: TransitSignerOptions) {
    if (!options.token && !options.appRole) throw new VaultTransitError("a Vault token or AppRole credentials are required");
    if (!/^\w(?:[\w.@-]*\w)?$/.test(options.keyName)) throw new VaultTransitError(`invalid transit key name '${options.keyName}'`);
    this.client = vault({
      endpoint: options.endpoint,
      token: options.token,
      // node-vault's default debug logger prints request bodies (AppRole secret IDs among them).
      debug: () => undefined,
      requestOptions: { timeout: options.timeoutMs ?? 15_000 },
    });
    this.mount = (options.mount ?? "transit").replace(/^\/+|\/+$/g, "");
    this.retries = options.retries ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? 200;
  }

  get keyName(): string {
    return this.options.keyName;
  }

  /** Creates the key when it does not exist; fails when it exists with another type. */
  async ensureKey(type: TransitKeyType): Promise<TransitKeyInfo> {
    if (type === "ed25519") throw new VaultTransitError(ED25519_REFUSAL);
    await this.call("create key", () => this.client.write(this.path("keys"), { type }));
    const info = await this.keyInfo();
    if (info.type !== type) {
      throw new VaultTransitError(`transit key '${this.keyName}' already exists with type ${info.type}, not ${type}`);
    }
    return info;
  }

  async keyInfo(): Promise<TransitKeyInfo> {
    const response = (await this.call("read key", () => this.client.read(this.path("keys")))) as { data: Data };
    const data = response.data;
    const versions: Record<number, TransitKeyVersion> = {};
    for (const [version, entry] of Object.entries((data.keys ?? {}) as Record<string, Data>)) {
      versions[Number(version)] = {
        publicKeyPem: String(entry.public_key ?? ""),
        creationTime: String(entry.creation_time ?? ""),
        certificateChain: String(entry.certificate_chain ?? ""),
      };
    }
    return {
      name: String(data.name),
      type: String(data.type),
      latestVersion: Number(data.latest_version),
      minDecryptionVersion: Number(data.min_decryption_version ?? 1),
      minEncryptionVersion: Number(data.min_encryption_version ?? 0),
      versions,
    };
  }

  async publicKey(version?: number): Promise<TransitPublicKey> {
    const cached = version !== undefined ? this.publicKeys.get(version) : undefined;
    if (cached) return cached;
    const info = await this.keyInfo();
    if (info.type === "ed25519") throw new VaultTransitError(ED25519_REFUSAL);
    const keyVersion = version ?? info.latestVersion;
    const entry = info.versions[keyVersion];
    if (!entry?.publicKeyPem) throw new VaultTransitError(`transit key '${this.keyName}' has no version ${keyVersion}`);
    const result = { keyVersion, pem: entry.publicKeyPem, key: createPublicKey(entry.publicKeyPem), certificateChain: entry.certificateChain };
    this.publicKeys.set(keyVersion, result);
    return result;
  }

  /** Signs a sha256 digest (Vault prehashed mode) with a pinned key version. */
  async sign(digest: Buffer, options: SignOptions): Promise<TransitSignature> {
    if (digest.length !== 32) throw new VaultTransitError(`expected a 32-byte sha256 digest, got ${digest.length} bytes`);
    const { keyVersion, key } = await this.publicKey(options.keyVersion);
    checkKeyFitsAlgorithm(key, options.algorithm);
    const body: Data = { input: digest.toString("base64"), prehashed: true, hash_algorithm: "sha2-256", key_version: keyVersion };
    if (options.algorithm === "ecdsa-p256") body.marshaling_algorithm = "asn1";
    else body.signature_algorithm = options.algorithm === "rsa-pss" ? "pss" : "pkcs1v15";
    const response = (await this.call("sign", () => this.client.write(this.path("sign"), body))) as { data: Data };
    const match = /^vault:v(\d+):([A-Za-z0-9+/=]+)$/.exec(String(response.data?.signature ?? ""));
    if (!match) throw new VaultTransitError("Vault sign returned no signature in the expected 'vault:vN:base64' form");
    if (Number(match[1]) !== keyVersion) {
      throw new VaultTransitError(`Vault signed with key version ${match[1]} although version ${keyVersion} was pinned`);
    }
    const signature = Buffer.from(match[2], "base64");
    const result: TransitSignature = { signature, keyVersion, algorithm: options.algorithm };
    if (options.algorithm === "rsa-pss") result.pssSaltLength = pssSaltLengthOf(key, digest, signature, "sha256");
    if (!verifyDigestSignature(key, { digest, ...result })) {
      throw new VaultTransitError(`the signature from Vault does not verify against version ${keyVersion} of transit key '${this.keyName}'`);
    }
    log.debug({ key: this.keyName, keyVersion, algorithm: options.algorithm }, "digest signed");
    return result;
  }

  /** Adds a key version; returns the new latest version. */
  async rotate(): Promise<number> {
    await this.call("rotate key", () => this.client.write(this.path("keys", "rotate"), {}));
    return (await this.keyInfo()).latestVersion;
  }

  /**
   * A PKCS#10 request signed by the transit key. Vault copies subject and attributes from a
   * template request, which is signed here with a throwaway key that is never used again.
   */
  async createCsr(subject: string, options: { keyVersion?: number } = {}): Promise<string> {
    const throwaway = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const template = await buildCsr({ subject: distinguishedName(subject), publicKey: throwaway.publicKey, ...localCsrSigner(throwaway.privateKey) });
    const body: Data = { csr: derToPem(template, "CERTIFICATE REQUEST") };
    if (options.keyVersion !== undefined) body.version = options.keyVersion;
    const response = (await this.call("create CSR", () => this.client.write(this.path("keys", "csr"), body))) as { data: Data };
    const csr = String(response.data?.csr ?? "");
    if (!csr.includes("BEGIN CERTIFICATE REQUEST")) throw new VaultTransitError("Vault returned no CSR");
    return csr;
  }

  /** Stores the signed chain (leaf first) with the key version, as Vault's set-certificate does. */
  async setCertificate(chainPem: string, options: { keyVersion?: number } = {}): Promise<void> {
    const body: Data = { certificate_chain: chainPem };
    if (options.keyVersion !== undefined) body.version = options.keyVersion;
    await this.call("set certificate", () => this.client.write(this.path("keys", "set-certificate"), body));
    if (options.keyVersion !== undefined) this.publicKeys.delete(options.keyVersion);
    else this.publicKeys.clear();
  }

  private path(kind: "keys" | "sign", suffix?: string): string {
    const base = `${this.mount}/${kind}/${encodeURIComponent(this.keyName)}`;
    return suffix ? `${base}/${suffix}` : base;
  }

  private async login(): Promise<void> {
    const { roleId, secretId } = this.options.appRole!;
    await this.withRetries("AppRole login", () => this.client.approleLogin({ role_id: roleId, secret_id: secretId }));
  }

  /** Logs in first when needed, and once more when an AppRole token has expired. */
  private async call<T>(operation: string, request: () => Promise<T>): Promise<T> {
    if (this.options.appRole && !this.client.token) await this.login();
    try {
      return await this.withRetries(operation, request);
    } catch (error) {
      if (!(error instanceof VaultTransitError) || error.status !== 403 || !this.options.appRole) throw error;
      await this.login();
      return this.withRetries(operation, request);
    }
  }

  private async withRetries<T>(operation: string, request: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        if (!isTransient(error) || attempt >= this.retries) throw describeVaultError(operation, this.options.endpoint, error);
        const delay = this.retryDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
        log.warn({ operation, status: statusOf(error), attempt: attempt + 1, delayMs: Math.round(delay) }, "Vault request failed, retrying");
        await sleep(delay);
      }
    }
  }
}
