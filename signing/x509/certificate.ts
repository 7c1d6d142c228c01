// Certificate facts the signers need: chain splitting, leaf detection, issuer and serial for CMS.
import { X509Certificate } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { BasicConstraints, Certificate, id_ce_basicConstraints } from "@peculiar/asn1-x509";
import { pemToDer } from "./der.js";

export function splitPemChain(chainPem: string): Buffer[] {
  const blocks = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => pemToDer(block, "CERTIFICATE"));
}

export function parseCertificate(der: Buffer): Certificate {
  return AsnConvert.parse(der, Certificate);
}

/** Leaf as Go's x509 sees it: a basicConstraints extension that says CA:FALSE. */
export function isLeafCertificate(cert: Certificate): boolean {
  const extension = cert.tbsCertificate.extensions?.find((ext) => ext.extnID === id_ce_basicConstraints);
  if (!extension) return false;
  return !AsnConvert.parse(extension.extnValue, BasicConstraints).cA;
}

export function spkiOf(der: Buffer): Buffer {
  return new X509Certificate(der).publicKey.export({ format: "der", type: "spki" });
}
