// Transit keys of the stand-in: one JSON file per key under dataDir/transit (0600, folder 0700).
// The private PEMs live only there and in memory; nothing that leaves this module exposes them
// except `privateKey()`, which the sign/CSR handlers use in-process.
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

export const KEY_TYPES = ["rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256", "ed25519"] as const;
export type KeyType = (typeof KEY_TYPES)[number];

interface StoredVersion {
  privateKeyPem: string;
  creationTime: string;
  certificateChain: string;
}

export interface StoredKey {
  name: string;
  type: KeyType;
  latestVersion: number;
  minDecryptionVersion: number;
  minEncryptionVersion: number;
  versions: Record<string, StoredVersion>;
}

/** Vault's GenericNameRegex: word characters, with '-', '.', '@' allowed inside. */
const NAME_PATTERN = /^\w(?:[\w.@-]*\w)?$/;

const generate = promisify(generateKeyPair);

async function newPrivateKey(type: KeyType): Promise<KeyObject> {
  if (type === "ecdsa-p256") return (await generate("ec", { namedCurve: "P-256" })).privateKey;
  if (type === "ed25519") return (await generate("ed25519")).privateKey;
  return (await generate("rsa", { modulusLength: Number(type.slice(4)) })).privateKey;
}

export class StandinError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class KeyStore {
  private readonly cache = new Map<string, StoredKey>();
  private readonly privateKeys = new Map<string, KeyObject>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly folder: string;

  constructor(dataDir: string) {
    this.folder = join(dataDir, "transit");
  }

  async init(): Promise<void> {
    await mkdir(this.folder, { recursive: true, mode: 0o700 });
    await chmod(this.folder, 0o700);
  }

  static validName(name: string): boolean {
    return NAME_PATTERN.test(name);
  }

  async get(name: string): Promise<StoredKey | undefined> {
    if (!KeyStore.validName(name)) throw new StandinError(400, `invalid key name '${name}'`);
    const cached = this.cache.get(name);
    if (cached) return cached;
    try {
      const stored = JSON.parse(await readFile(this.file(name), "utf8")) as StoredKey;
      this.cache.set(name, stored);
      return stored;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async require(name: string): Promise<StoredKey> {
    const key = await this.get(name);
    if (!key) throw new StandinError(400, "signing key not found");
    return key;
  }

  /** Vault's create is an upsert: an existing key is returned unchanged, whatever type was asked. */
  create(name: string, type: KeyType): Promise<StoredKey> {
    return this.serialised(name, async () => {
      const existing = await this.get(name);
      if (existing) return existing;
      const key: StoredKey = { name, type, latestVersion: 0, minDecryptionVersion: 1, minEncryptionVersion: 0, versions: {} };
      await this.addVersion(key);
      return key;
    });
  }

  rotate(name: string): Promise<StoredKey> {
    return this.serialised(name, async () => {
      const key = await this.require(name);
      await this.addVersion(key);
      return key;
    });
  }

  setCertificateChain(name: string, version: number, chainPem: string): Promise<void> {
    return this.serialised(name, async () => {
      const key = await this.require(name);
      key.versions[version].certificateChain = chainPem;
      await this.persist(key);
    });
  }

  /** Resolves 0/undefined to the latest version and checks the version may sign. */
  signingVersion(key: StoredKey, requested: number | undefined): number {
    const version = requested && requested > 0 ? requested : key.latestVersion;
    if (!key.versions[version]) throw new StandinError(400, `invalid key version ${version}: no such version`);
    if (key.minEncryptionVersion > 0 && version < key.minEncryptionVersion) {
      throw new StandinError(400, "requested version for signing is less than the minimum encryption key version");
    }
    return version;
  }

  verifyingVersion(key: StoredKey, version: number): number {
    if (!key.versions[version]) throw new StandinError(400, `invalid key version ${version}: no such version`);
    if (version < key.minDecryptionVersion) throw new StandinError(400, "key version is too old to be used for verification");
    return version;
  }

  privateKey(key: StoredKey, version: number): KeyObject {
    const id = `${key.name}/${version}`;
    let privateKey = this.privateKeys.get(id);
    if (!privateKey) {
      privateKey = createPrivateKey(key.versions[version].privateKeyPem);
      this.privateKeys.set(id, privateKey);
    }
    return privateKey;
  }

  publicKey(key: StoredKey, version: number): KeyObject {
    return createPublicKey(this.privateKey(key, version));
  }

  /** The read-key response body, shaped like Vault's for asymmetric keys. */
  describe(key: StoredKey): Record<string, unknown> {
    const keys: Record<string, unknown> = {};
    for (const version of Object.keys(key.versions)) {
      const publicKey = this.publicKey(key, Number(version));
      keys[version] = {
        certificate_chain: key.versions[version].certificateChain,
        creation_time: key.versions[version].creationTime,
        name: key.type === "ecdsa-p256" ? "P-256" : key.type,
        public_key:
          key.type === "ed25519"
            ? Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url").toString("base64")
            : publicKey.export({ format: "pem", type: "spki" }).toString(),
      };
    }
    return {
      allow_plaintext_backup: false,
      auto_rotate_period: 0,
      deletion_allowed: false,
      derived: false,
      exportable: false,
      imported_key: false,
      keys,
      latest_version: key.latestVersion,
      min_available_version: 0,
      min_decryption_version: key.minDecryptionVersion,
      min_encryption_version: key.minEncryptionVersion,
      name: key.name,
      supports_decryption: key.type.startsWith("rsa"),
      supports_derivation: key.type === "ed25519",
      supports_encryption: key.type.startsWith("rsa"),
      supports_signing: true,
      type: key.type,
    };
  }

  private async addVersion(key: StoredKey): Promise<void> {
    const privateKey = await newPrivateKey(key.type);
    const version = key.latestVersion + 1;
    key.versions[version] = {
      privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
      creationTime: new Date().toISOString(),
      certificateChain: "",
    };
    key.latestVersion = version;
    this.privateKeys.set(`${key.name}/${version}`, privateKey);
    await this.persist(key);
    this.cache.set(key.name, key);
  }

  private file(name: string): string {
    return join(this.folder, `${name}.json`);
  }

  private async persist(key: StoredKey): Promise<void> {
    const temporary = `${this.file(key.name)}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(key), { mode: 0o600 });
    await rename(temporary, this.file(key.name));
  }

  /** One writer per key at a time, so a rotate cannot race a create or another rotate. */
  private serialised<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.queues.set(name, next);
    return next;
  }
}
