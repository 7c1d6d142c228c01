// Transit keys with CA-issued certificates, one per signature algorithm under test.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { transitCmsSigner } from "../../signing/cms/transit-cms-signer.js";
import type { CmsSigner } from "../../signing/cms/signed-data.js";
import type { SignatureAlgorithm } from "../../signing/verify.js";
import { TransitSigner, type TransitKeyType } from "../../signing/vault/transit-signer.js";
import { createTestPki } from "../helpers/pki.js";
import type { StandinFixture } from "./fixtures.js";

export const ALGORITHMS: { algorithm: SignatureAlgorithm; keyType: TransitKeyType }[] = [
  { algorithm: "rsa-pkcs1v15", keyType: "rsa-2048" },
  { algorithm: "rsa-pss", keyType: "rsa-2048" },
  { algorithm: "ecdsa-p256", keyType: "ecdsa-p256" },
];

export interface SigningSetup {
  /** Root + intermediate (swupdate -k). */
  trustFile: string;
  /** Root only (rauc --keyring). */
  rootFile: string;
  transit(keyType: TransitKeyType): TransitSigner;
  cmsSigner(algorithm: SignatureAlgorithm): Promise<CmsSigner>;
}

export async function signingSetup(vault: StandinFixture, dir: string): Promise<SigningSetup> {
  const pki = await createTestPki(dir, { intermediate: true });
  const trustFile = join(dir, "trust.pem");
  const rootFile = join(dir, "root.pem");
  await writeFile(trustFile, pki.trustPem);
  const signers = new Map<TransitKeyType, TransitSigner>();
  for (const keyType of new Set(ALGORITHMS.map((entry) => entry.keyType))) {
    const transit = new TransitSigner({ endpoint: vault.url, token: vault.rootToken, keyName: `release-${keyType}` });
    await transit.ensureKey(keyType);
    await transit.setCertificate(await pki.issue(await transit.createCsr(`CN=Aerie release ${keyType}, O=Aerie Test`)));
    signers.set(keyType, transit);
  }
  const transit = (keyType: TransitKeyType): TransitSigner => signers.get(keyType)!;
  return {
    trustFile,
    rootFile,
    transit,
    cmsSigner: (algorithm) => transitCmsSigner(transit(ALGORITHMS.find((entry) => entry.algorithm === algorithm)!.keyType), { algorithm }),
  };
}
