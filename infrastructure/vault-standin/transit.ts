// The transit operations Aerie uses, with Vault's parameter names, defaults and error texts.
import { createHash, sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import { decodeEcdsaDer, encodeEcdsaDer, signDigestP256, verifyDigestP256 } from "../../signing/crypto/p256.js";
import { isLeafCertificate, parseCertificate, spkiOf, splitPemChain } from "../../signing/x509/certificate.js";
import { buildCsr, csrParts, localCsrSigner, type CsrParts } from "../../signing/x509/csr.js";
import { derToPem } from "../../signing/x509/der.js";
import { maxPssSaltLength, signPkcs1v15, signPss, verifyPkcs1v15, verifyPss, type HashName } from "../../signing/crypto/rsa.js";
import { KEY_TYPES, KeyStore, StandinError, type KeyType, type StoredKey } from "./keystore.js";

type Body = Record<string, unknown>;

const HASHES: Record<string, HashName> = {
  sha1: "sha1", "sha2-224": "sha224", "sha2-256": "sha256", "sha2-384": "sha384", "sha2-512": "sha512",
};

const bad = (message: string): StandinError => new StandinError(400, message);

function bool(value: unknown): boolean {
  return value === true || value === "true" || value === 1 || value === "1";
}

function int(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const parsed = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(parsed)) throw bad(`error converting input ${String(value)} for field "${field}"`);
  return parsed;
}

function base64Input(value: unknown): Buffer {
  const text = value === undefined ? "" : value;
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw bad("unable to decode input as base64: illegal base64 data");
  }
  return Buffer.from(text, "base64");
}

function hashOf(body: Body, fromUrl: string | undefined): HashName {
  const name = String(fromUrl ?? body.hash_algorithm ?? "sha2-256");
  const hash = HASHES[name];
  if (!hash) throw bad(`unsupported hash algorithm ${name}`);
  return hash;
}

function rsaSaltLength(body: Body, key: KeyObject, hash: HashName): number | "auto" {
  const requested = body.salt_length ?? "auto";
  if (requested === "auto") return "auto";
  if (requested === "hash") return createHash(hash).digest().length;
  const parsed = int(requested, "salt_length");
  if (parsed === undefined || parsed < 0 || parsed > maxPssSaltLength(key, hash)) throw bad(`invalid salt length ${String(requested)}`);
  return parsed;
}

function signatureAlgorithm(body: Body): "pss" | "pkcs1v15" {
  const value = body.signature_algorithm ?? "pss";
  if (value !== "pss" && value !== "pkcs1v15") throw bad(`unsupported rsa signature algorithm ${String(value)}`);
  return value;
}

function marshaling(body: Body): "asn1" | "jws" {
  const value = body.marshaling_algorithm ?? "asn1";
  if (value !== "asn1" && value !== "jws") throw bad(`invalid marshaling type ${String(value)}`);
  return value;
}

/** What gets signed: the input itself when prehashed, its hash otherwise. */
function digestOf(type: KeyType, body: Body, hash: HashName, input: Buffer): Buffer {
  if (!bool(body.prehashed)) return createHash(hash).update(input).digest();
  if (type.startsWith("rsa") && input.length !== createHash(hash).digest().length) {
    throw bad("crypto/rsa: input must be hashed message");
  }
  return input;
}

export function signRequest(store: KeyStore, key: StoredKey, body: Body, urlHash?: string): Record<string, unknown> {
  const version = store.signingVersion(key, int(body.key_version, "key_version"));
  const privateKey = store.privateKey(key, version);
  const input = base64Input(body.input);
  let signature: Buffer;
  let encoded: string | undefined;
  if (key.type === "ed25519") {
    if (bool(body.prehashed)) throw bad("prehashed input is not supported for ed25519 keys in this stand-in");
    signature = edSign(null, input, privateKey);
  } else {
    const hash = hashOf(body, urlHash);
    const digest = digestOf(key.type, body, hash, input);
    if (key.type === "ecdsa-p256") {
      const rs = signDigestP256(privateKey, digest);
      if (marshaling(body) === "jws") encoded = Buffer.concat([rs.r, rs.s]).toString("base64url");
      signature = encodeEcdsaDer(rs);
    } else if (signatureAlgorithm(body) === "pkcs1v15") {
      signature = signPkcs1v15(privateKey, digest, hash);
    } else {
      const salt = rsaSaltLength(body, privateKey, hash);
      signature = signPss(privateKey, digest, hash, salt === "auto" ? maxPssSaltLength(privateKey, hash) : salt);
    }
  }
  return { signature: `vault:v${version}:${encoded ?? signature.toString("base64")}`, key_version: version };
}

export function verifyRequest(store: KeyStore, key: StoredKey, body: Body, urlHash?: string): Record<string, unknown> {
  const match = /^vault:v(\d+):(.*)$/s.exec(String(body.signature ?? ""));
  if (!match) throw bad("invalid signature: missing or malformed 'vault:vN:' prefix");
  const version = store.verifyingVersion(key, Number(match[1]));
  const publicKey = store.publicKey(key, version);
  const input = base64Input(body.input);
  const jws = key.type === "ecdsa-p256" && marshaling(body) === "jws";
  const signature = Buffer.from(match[2], jws ? "base64url" : "base64");
  if (key.type === "ed25519") return { valid: edVerify(null, input, publicKey, signature) };
  const hash = hashOf(body, urlHash);
  const digest = digestOf(key.type, body, hash, input);
  if (key.type === "ecdsa-p256") {
    const rs = jws ? (signature.length === 64 ? { r: signature.subarray(0, 32), s: signature.subarray(32) } : undefined) : decodeEcdsaDer(signature);
    return { valid: rs !== undefined && verifyDigestP256(publicKey, digest, rs) };
  }
  if (signatureAlgorithm(body) === "pkcs1v15") return { valid: verifyPkcs1v15(publicKey, digest, signature, hash) };
  return { valid: verifyPss(publicKey, digest, signature, hash, rsaSaltLength(body, publicKey, hash)) };
}

export function keyType(value: unknown): KeyType {
  const type = String(value ?? "aes256-gcm96");
  if (!(KEY_TYPES as readonly string[]).includes(type)) throw bad(`unknown key type "${type}" (this stand-in serves ${KEY_TYPES.join(", ")})`);
  return type as KeyType;
}

/** PKCS#10 request for the key version, taking subject and attributes from the optional template. */
export async function csrRequest(store: KeyStore, key: StoredKey, body: Body): Promise<Record<string, unknown>> {
  const version = store.signingVersion(key, int(body.version, "version"));
  let template: CsrParts = { subject: Buffer.from([0x30, 0]), attributes: Buffer.from([0xa0, 0]) };
  if (body.csr) {
    try {
      template = csrParts(String(body.csr));
    } catch {
      throw bad("failed to decode PEM Certificate Request");
    }
  }
  const der = await buildCsr({
    ...template,
    publicKey: store.publicKey(key, version),
    ...localCsrSigner(store.privateKey(key, version)),
  });
  return { name: key.name, type: key.type, csr: derToPem(der, "CERTIFICATE REQUEST") };
}

export async function setCertificateRequest(store: KeyStore, key: StoredKey, body: Body): Promise<void> {
  const chainPem = String(body.certificate_chain ?? "");
  const ders = splitPemChain(chainPem);
  if (ders.length === 0) throw bad("no certificates provided in `certificate_chain` parameter");
  let leaves: number;
  try {
    leaves = ders.filter((der) => isLeafCertificate(parseCertificate(der))).length;
  } catch {
    throw bad("failed to parse certificate in certificate chain");
  }
  if (leaves !== 1) throw bad("expected a single leaf certificate in the certificate chain");
  const version = store.signingVersion(key, int(body.version, "version"));
  const transitSpki = store.publicKey(key, version).export({ format: "der", type: "spki" });
  if (!spkiOf(ders[0]).equals(transitSpki)) {
    throw bad("leaf certificate public key does not match the transit key's public key");
  }
  await store.setCertificateChain(key.name, version, ders.map((der) => derToPem(der, "CERTIFICATE")).join(""));
}
