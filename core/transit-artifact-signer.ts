// The API's ArtifactSigner backed by a Vault transit key (RSA PKCS#1 v1.5 over sha256 by default:
// what SWUpdate's raw-RSA mode and most device-side verifiers accept).
import type { ArtifactSigner, ArtifactSignature } from "../api/signer.js";
import type { TransitSigner } from "../signing/vault/transit-signer.js";
import type { SignatureAlgorithm } from "../signing/verify.js";

export function transitArtifactSigner(signer: TransitSigner, keyName: string, algorithm: SignatureAlgorithm = "rsa-pkcs1v15"): ArtifactSigner {
  return {
    keyName,
    async signDigest(sha256: Buffer): Promise<ArtifactSignature> {
      const signed = await signer.sign(sha256, { algorithm });
      return { keyName, keyVersion: signed.keyVersion, algorithm: `${signed.algorithm}-sha256`, value: signed.signature.toString("base64") };
    },
    async publicKeys() {
      const info = await signer.keyInfo();
      return Object.entries(info.versions)
        .map(([version, v]) => ({ version: Number(version), pem: v.publicKeyPem }))
        .filter((k) => k.version >= info.minDecryptionVersion);
    },
  };
}
