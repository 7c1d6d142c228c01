// How a stored signature record is presented to devices. Aerie keeps one record per signature it made
// (api/services/artifacts.ts: a detached signature over the artifact's sha256; api/services/signing.ts:
// the signature a built .swu or RAUC bundle carries inside); a device must be told the real format and
// which bytes it covers, or it checks the wrong thing (a CMS shown as "raw" with an empty value, as before).
import type { SignatureAlgorithm } from "./verify.js";

/** The format as the device's verifier knows it (swupdate CONFIG_SIGALG_*, rauc: always CMS). */
export type SignatureFormat = "cms" | "raw-rsa" | "rsa-pss" | "ecdsa";
export const SIGNATURE_FORMATS: readonly SignatureFormat[] = ["cms", "raw-rsa", "rsa-pss", "ecdsa"];

/**
 * What the signature is over:
 * - `artifact`: the sha256 digest of the whole artifact (a detached signature; check with the key of `keyVersion`);
 * - `sw-description`: the .swu's sw-description (the signature is also the archive's sw-description.sig);
 * - `rauc-bundle`: the bundle's own CMS (plain: over the payload; verity: the signed manifest).
 */
export type SignatureCovers = "artifact" | "sw-description" | "rauc-bundle";
export const SIGNATURE_COVERS: readonly SignatureCovers[] = ["artifact", "sw-description", "rauc-bundle"];

export interface StoredSignature {
  /** Record format: `raw` (detached), `swu-cms`, `swu-raw-rsa`, `swu-rsa-pss`, `rauc-plain`, `rauc-verity`. */
  format: string;
  algorithm: string;
  keyName: string;
  keyVersion: number;
  value: string;
}

export interface PresentedSignature {
  format: SignatureFormat;
  covers: SignatureCovers;
  /** The key's algorithm: rsa-pkcs1v15, rsa-pss or ecdsa-p256 (for CMS: the signer's). */
  algorithm: SignatureAlgorithm;
  keyName: string;
  keyVersion: number;
  /** base64: the raw signature (DER for ECDSA) or the DER CMS SignedData. */
  value: string;
}

/** Older records name the algorithm with a `-sha256` suffix (`rsa-pkcs1v15-sha256`). */
export function keyAlgorithm(algorithm: string): SignatureAlgorithm | undefined {
  const bare = algorithm.replace(/-sha256$/, "");
  return bare === "rsa-pkcs1v15" || bare === "rsa-pss" || bare === "ecdsa-p256" ? bare : undefined;
}

const DETACHED: Record<SignatureAlgorithm, SignatureFormat> = { "rsa-pkcs1v15": "raw-rsa", "rsa-pss": "rsa-pss", "ecdsa-p256": "ecdsa" };

/** The record as devices see it; undefined when it cannot be checked by anyone (no value, unknown kind). */
export function presentSignature(record: StoredSignature): PresentedSignature | undefined {
  const algorithm = keyAlgorithm(record.algorithm);
  if (!algorithm || !record.value) return undefined;
  const common = { algorithm, keyName: record.keyName, keyVersion: record.keyVersion, value: record.value };
  switch (record.format) {
    case "raw":
      return { format: DETACHED[algorithm], covers: "artifact", ...common };
    case "swu-cms":
      return { format: "cms", covers: "sw-description", ...common };
    case "swu-raw-rsa":
      return { format: "raw-rsa", covers: "sw-description", ...common };
    case "swu-rsa-pss":
      return { format: "rsa-pss", covers: "sw-description", ...common };
    case "rauc-plain":
    case "rauc-verity":
      return { format: "cms", covers: "rauc-bundle", ...common };
    default:
      return undefined;
  }
}
