// RSA signatures over a digest the caller already computed (Vault's `prehashed=true`). node:crypto
// hashes whatever it signs, so PKCS#1 v1.5 goes through the DigestInfo + private-key primitive and
// PSS through EMSA-PSS (RFC 8017 §9.1) on top of the raw RSA operation.
import { constants, createHash, privateEncrypt, publicDecrypt, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";

export type HashName = "sha1" | "sha224" | "sha256" | "sha384" | "sha512";

const HASH_LENGTH: Record<HashName, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

// DER of DigestInfo{AlgorithmIdentifier{oid, NULL}, OCTET STRING(hLen)} without the digest itself.
const DIGEST_INFO_PREFIX: Record<HashName, Buffer> = {
  sha1: Buffer.from("3021300906052b0e03021a05000414", "hex"),
  sha224: Buffer.from("302d300d06096086480165030402040500041c", "hex"),
  sha256: Buffer.from("3031300d060960864801650304020105000420", "hex"),
  sha384: Buffer.from("3041300d060960864801650304020205000430", "hex"),
  sha512: Buffer.from("3051300d060960864801650304020305000440", "hex"),
};

function checkDigest(digest: Buffer, hash: HashName): void {
  if (digest.length !== HASH_LENGTH[hash]) {
    throw new Error(`a ${hash} digest is ${HASH_LENGTH[hash]} bytes, got ${digest.length}`);
  }
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== "rsa" || !bits) throw new Error("not an RSA key");
  return bits;
}

export function signPkcs1v15(privateKey: KeyObject, digest: Buffer, hash: HashName): Buffer {
  checkDigest(digest, hash);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]));
}

export function verifyPkcs1v15(publicKey: KeyObject, digest: Buffer, signature: Buffer, hash: HashName): boolean {
  checkDigest(digest, hash);
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
  const expected = Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
  return recovered.length === expected.length && timingSafeEqual(recovered, expected);
}

/** The largest PSS salt for this key and hash: what Vault (and Go's PSSSaltLengthAuto) uses. */
export function maxPssSaltLength(key: KeyObject, hash: HashName = "sha256"): number {
  return Math.ceil((modulusBits(key) - 1) / 8) - HASH_LENGTH[hash] - 2;
}

function mgf1(seed: Buffer, length: number, hash: HashName): Buffer {
  const chunks: Buffer[] = [];
  for (let counter = 0, produced = 0; produced < length; counter++) {
    const block = createHash(hash).update(seed).update(Buffer.from([counter >>> 24, (counter >>> 16) & 255, (counter >>> 8) & 255, counter & 255])).digest();
    chunks.push(block);
    produced += block.length;
  }
  return Buffer.concat(chunks).subarray(0, length);
}

function pssHash(digest: Buffer, salt: Buffer, hash: HashName): Buffer {
  return createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
}

export function signPss(privateKey: KeyObject, digest: Buffer, hash: HashName, saltLength: number): Buffer {
  checkDigest(digest, hash);
  const bits = modulusBits(privateKey);
  const k = Math.ceil(bits / 8);
  const emBits = bits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = HASH_LENGTH[hash];
  if (saltLength < 0 || emLen < hLen + saltLength + 2) throw new Error(`PSS salt length ${saltLength} too large for this key`);
  const salt = randomBytes(saltLength);
  const h = pssHash(digest, salt, hash);
  const db = Buffer.alloc(emLen - hLen - 1);
  db[emLen - saltLength - hLen - 2] = 0x01;
  salt.copy(db, db.length - saltLength);
  const mask = mgf1(h, db.length, hash);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= 0xff >> (8 * emLen - emBits);
  const em = Buffer.concat([Buffer.alloc(k - emLen), db, h, Buffer.from([0xbc])]);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, em);
}

/** The salt length of a valid RSA-PSS signature over `digest`, or undefined when it is not valid. */
export function pssSaltLengthOf(publicKey: KeyObject, digest: Buffer, signature: Buffer, hash: HashName): number | undefined {
  checkDigest(digest, hash);
  const bits = modulusBits(publicKey);
  const k = Math.ceil(bits / 8);
  const emBits = bits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = HASH_LENGTH[hash];
  if (signature.length !== k) return undefined;
  let raw: Buffer;
  try {
    raw = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    return undefined;
  }
  if (raw.subarray(0, k - emLen).some((byte) => byte !== 0)) return undefined;
  const em = raw.subarray(k - emLen);
  if (em[emLen - 1] !== 0xbc || emLen < hLen + 2) return undefined;
  const topMask = 0xff >> (8 * emLen - emBits);
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  if ((db[0] & ~topMask) !== 0) return undefined;
  const mask = mgf1(h, db.length, hash);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= topMask;
  const separator = db.indexOf(0x01);
  if (separator < 0 || db.subarray(0, separator).some((byte) => byte !== 0)) return undefined;
  const salt = db.subarray(separator + 1);
  return timingSafeEqual(pssHash(digest, salt, hash), h) ? salt.length : undefined;
}

/** Verifies RSA-PSS over `digest`; `saltLength` "auto" accepts any salt length. */
export function verifyPss(publicKey: KeyObject, digest: Buffer, signature: Buffer, hash: HashName, saltLength: number | "auto"): boolean {
  const found = pssSaltLengthOf(publicKey, digest, signature, hash);
  return found !== undefined && (saltLength === "auto" || found === saltLength);
}
