// PKCS#10 requests for keys that sign through a callback (a Vault transit key, or the throwaway key
// of the template Vault's CSR endpoint asks for).
import { sign as nodeSign, type KeyObject } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from "@peculiar/asn1-x509";
import { children, pemToDer, readTlv, sequence, slice, tlv } from "./der.js";

const NAME_OIDS: Record<string, string> = {
  CN: "2.5.4.3", C: "2.5.4.6", L: "2.5.4.7", ST: "2.5.4.8", O: "2.5.4.10", OU: "2.5.4.11",
  SERIALNUMBER: "2.5.4.5", EMAILADDRESS: "1.2.840.113549.1.9.1",
};

/** "CN=Aerie release, O=Example, C=DE" → DER Name; values may escape ',' as '\,'. */
export function distinguishedName(subject: string): Buffer {
  const parts = subject.split(/(?<!\\),/).map((part) => part.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error("empty subject");
  const rdns = parts.map((part) => {
    const eq = part.indexOf("=");
    const attr = part.slice(0, eq).trim().toUpperCase();
    const value = part.slice(eq + 1).trim().replace(/\\,/g, ",");
    const type = NAME_OIDS[attr];
    if (eq < 1 || !type || !value) throw new Error(`unsupported subject part '${part}' (use ${Object.keys(NAME_OIDS).join(", ")})`);
    const encoded =
      attr === "C" || attr === "SERIALNUMBER" ? new AttributeValue({ printableString: value })
      : attr === "EMAILADDRESS" ? new AttributeValue({ ia5String: value })
      : new AttributeValue({ utf8String: value });
    return new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: encoded })]);
  });
  return Buffer.from(AsnConvert.serialize(new Name(rdns)));
}

export const SIGNATURE_ALGORITHM_IDS = {
  sha256WithRSAEncryption: Buffer.from("300d06092a864886f70d01010b0500", "hex"),
  ecdsaWithSHA256: Buffer.from("300a06082a8648ce3d040302", "hex"),
  ed25519: Buffer.from("300506032b6570", "hex"),
};

export interface CsrParts {
  subject: Buffer;
  /** The [0] attributes element, copied byte for byte (extension requests included). */
  attributes: Buffer;
}

export function csrParts(csrPem: string): CsrParts {
  const der = pemToDer(csrPem, "CERTIFICATE REQUEST");
  const info = children(der, readTlv(der))[0];
  const [, subject, , attributes] = children(der, info);
  if (!subject || subject.tag !== 0x30) throw new Error("malformed certificate request");
  return { subject: slice(der, subject), attributes: attributes?.tag === 0xa0 ? slice(der, attributes) : Buffer.from([0xa0, 0]) };
}

/** Builds and signs a CertificationRequest; `sign` receives the DER CertificationRequestInfo. */
export async function buildCsr(params: {
  subject: Buffer;
  attributes?: Buffer;
  publicKey: KeyObject;
  algorithmId: Buffer;
  sign: (tbs: Buffer) => Promise<Buffer> | Buffer;
}): Promise<Buffer> {
  const spki = params.publicKey.export({ format: "der", type: "spki" });
  const info = sequence(Buffer.from([2, 1, 0]), params.subject, spki, params.attributes ?? Buffer.from([0xa0, 0]));
  const signature = await params.sign(info);
  return sequence(info, params.algorithmId, tlv(0x03, Buffer.from([0]), signature));
}

/** Signs with a local key: the template for Vault's CSR endpoint, and the stand-in's own CSRs. */
export function localCsrSigner(privateKey: KeyObject): { algorithmId: Buffer; sign: (tbs: Buffer) => Buffer } {
  switch (privateKey.asymmetricKeyType) {
    case "rsa":
      return { algorithmId: SIGNATURE_ALGORITHM_IDS.sha256WithRSAEncryption, sign: (tbs) => nodeSign("sha256", tbs, privateKey) };
    case "ec":
      return { algorithmId: SIGNATURE_ALGORITHM_IDS.ecdsaWithSHA256, sign: (tbs) => nodeSign("sha256", tbs, privateKey) };
    case "ed25519":
      return { algorithmId: SIGNATURE_ALGORITHM_IDS.ed25519, sign: (tbs) => nodeSign(null, tbs, privateKey) };
    default:
      throw new Error(`cannot sign a CSR with a ${privateKey.asymmetricKeyType} key`);
  }
}
