// Verifies a detached signature over a sha256 digest, the way a device (or Aerie before publishing)
// checks what Vault returned: the artifact is hashed once, only the digest travels.
import { X509Certificate, createPublicKey, type KeyObject } from "node:crypto";
import { decodeEcdsaDer, verifyDigestP256 } from "./crypto/p256.js";
import { verifyPkcs1v15, verifyPss } from "./crypto/rsa.js";

export type SignatureAlgorithm = "rsa-pkcs1v15" | "rsa-pss" | "ecdsa-p256";

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = ["rsa-pkcs1v15", "rsa-pss", "ecdsa-p256"];

/** A public key as a KeyObject, an X509Certificate, or PEM/DER text of a public key or certificate. */
export type PublicKeyInput = KeyObject | X509Certificate | string | Buffer;

export function toPublicKey(input: PublicKeyInput): KeyObject {
  if (input instanceof X509Certificate) return input.publicKey;
  if (typeof input !== "string" && !Buffer.isBuffer(input)) {
    if (input.type === "public") return input;
    throw new Error("expected a public key, got a private or secret key");
  }
  const text = typeof input === "string" ? input : input.toString("latin1");
  if (text.includes("-----BEGIN CERTIFICATE-----")) return new X509Certificate(text).publicKey;
  if (text.includes("-----BEGIN")) return createPublicKey(text);
  const der = Buffer.isBuffer(input) ? input : Buffer.from(input, "base64");
  try {
    return new X509Certificate(der).publicKey;
  } catch {
    return createPublicKey({ key: der, format: "der", type: "spki" });
  }
}

export function checkKeyFitsAlgorithm(key: KeyObject, algorithm: SignatureAlgorithm): void {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const fits = algorithm === "ecdsa-p256" ? type === "ec" && curve === "prime256v1" : type === "rsa";
  if (!fits) throw new Error(`a ${type}${curve ? ` (${curve})` : ""} key cannot make ${algorithm} signatures`);
}

export interface DigestSignature {
  /** sha256 of the signed bytes. */
  digest: Buffer;
  signature: Buffer;
  algorithm: SignatureAlgorithm;
  /** RSA-PSS only; any salt length is accepted when absent. */
  pssSaltLength?: number;
}

/** True when `signature` is a valid `algorithm` signature over the sha256 `digest` by `publicKey`. */
export function verifyDigestSignature(publicKey: PublicKeyInput, sig: DigestSignature): boolean {
  const key = toPublicKey(publicKey);
  checkKeyFitsAlgorithm(key, sig.algorithm);
  if (sig.digest.length !== 32) throw new Error(`a sha256 digest is 32 bytes, got ${sig.digest.length}`);
  switch (sig.algorithm) {
    case "rsa-pkcs1v15":
      return verifyPkcs1v15(key, sig.digest, sig.signature, "sha256");
    case "rsa-pss":
      return verifyPss(key, sig.digest, sig.signature, "sha256", sig.pssSaltLength ?? "auto");
    case "ecdsa-p256": {
      const rs = decodeEcdsaDer(sig.signature);
      return rs !== undefined && verifyDigestP256(key, sig.digest, rs);
    }
  }
}
