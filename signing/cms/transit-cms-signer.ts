// Adapts a TransitSigner with a certificate into a CmsSigner: the key version is pinned to the one
// whose certificate goes into the CMS, so a rotation between reading the cert and signing cannot
// produce a CMS whose certificate does not match its signature.
import type { SignatureAlgorithm } from "../verify.js";
import { splitPemChain } from "../x509/certificate.js";
import type { TransitSigner } from "../vault/transit-signer.js";
import type { CmsSigner } from "./signed-data.js";

export interface TransitCmsOptions {
  algorithm: SignatureAlgorithm;
  keyVersion?: number;
  /** PEM chain (leaf first) to use instead of the one stored in Vault with the key version. */
  certificateChainPem?: string;
}

export async function transitCmsSigner(transit: TransitSigner, options: TransitCmsOptions): Promise<CmsSigner & { keyVersion: number }> {
  const publicKey = await transit.publicKey(options.keyVersion);
  const chain = splitPemChain(options.certificateChainPem ?? publicKey.certificateChain);
  if (chain.length === 0) {
    throw new Error(`transit key '${transit.keyName}' version ${publicKey.keyVersion} has no certificate: run \`aerie keyring csr\`, have it signed, then \`aerie keyring set-certificate\``);
  }
  return {
    keyVersion: publicKey.keyVersion,
    certificate: chain[0],
    extraCertificates: chain.slice(1),
    algorithm: options.algorithm,
    sign: (digest) => transit.sign(digest, { algorithm: options.algorithm, keyVersion: publicKey.keyVersion }),
  };
}
