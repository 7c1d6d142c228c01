// CMS SignedData (RFC 5652) whose signature comes from an external signer (Vault transit). Built
// from DER pieces rather than schema objects: the signature covers the exact signedAttrs bytes, the
// SET OF must be in DER order, and issuer/serial are copied byte for byte from the certificate.
import { createHash } from "node:crypto";
import { verifyDigestSignature, type SignatureAlgorithm } from "../verify.js";
import { children, readTlv, sequence, slice, tlv } from "../x509/der.js";

export interface CmsSigner {
  /** DER of the signer certificate; its public key must be the signing key's. */
  certificate: Buffer;
  /** Further DER certificates to carry (intermediates). */
  extraCertificates?: Buffer[];
  algorithm: SignatureAlgorithm;
  /** Signs a sha256 digest (of the DER signed attributes). */
  sign(digest: Buffer): Promise<{ signature: Buffer; pssSaltLength?: number }>;
}

export interface SignedDataOptions {
  /** sha256 of the signed content. */
  contentDigest: Buffer;
  /** Embedded as eContent (attached CMS) when given; otherwise the CMS is detached. */
  content?: Buffer;
  signer: CmsSigner;
  signingTime?: Date;
}

const OID = {
  data: "06092a864886f70d010701",
  signedData: "06092a864886f70d010702",
  contentType: "06092a864886f70d010903",
  messageDigest: "06092a864886f70d010904",
  signingTime: "06092a864886f70d010905",
};
const hex = (text: string): Buffer => Buffer.from(text, "hex");

const SHA256_ID = hex("300b0609608648016503040201");
const SHA256_ID_WITH_NULL = hex("300d06096086480165030402010500");
const RSA_ENCRYPTION_ID = hex("300d06092a864886f70d0101010500");
const ECDSA_SHA256_ID = hex("300a06082a8648ce3d040302");

function integer(value: number): Buffer {
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  if (bytes.length === 0 || bytes[0] & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

/** RSASSA-PSS-params with sha256, MGF1(sha256) and the salt length actually used. */
function pssAlgorithmId(saltLength: number): Buffer {
  const mgf1 = sequence(hex("06092a864886f70d010108"), SHA256_ID_WITH_NULL);
  return sequence(hex("06092a864886f70d01010a"), sequence(tlv(0xa0, SHA256_ID_WITH_NULL), tlv(0xa1, mgf1), tlv(0xa2, integer(saltLength))));
}

function utcTime(date: Date): Buffer {
  const pad = (n: number): string => String(n).padStart(2, "0");
  const text = `${pad(date.getUTCFullYear() % 100)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(text, "ascii"));
}

/** X.690 §11.6: SET OF elements in ascending order of their encodings, shorter ones zero-padded. */
export function derSetOfOrder(a: Buffer, b: Buffer): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

const attribute = (oid: string, value: Buffer): Buffer => sequence(hex(oid), tlv(0x31, value));

/** issuerAndSerialNumber, sliced from the certificate so it matches byte for byte. */
function issuerAndSerial(certificate: Buffer): Buffer {
  const tbs = children(certificate, readTlv(certificate))[0];
  const fields = children(certificate, tbs);
  const offset = fields[0].tag === 0xa0 ? 1 : 0;
  return sequence(slice(certificate, fields[offset + 2]), slice(certificate, fields[offset]));
}

function signatureAlgorithmId(algorithm: SignatureAlgorithm, pssSaltLength: number | undefined): Buffer {
  if (algorithm === "ecdsa-p256") return ECDSA_SHA256_ID;
  if (algorithm === "rsa-pkcs1v15") return RSA_ENCRYPTION_ID;
  if (pssSaltLength === undefined) throw new Error("an RSA-PSS signature needs its salt length for the CMS");
  return pssAlgorithmId(pssSaltLength);
}

/** DER ContentInfo(SignedData), checked against the signer certificate before it is returned. */
export async function createSignedData(options: SignedDataOptions): Promise<Buffer> {
  const { signer, contentDigest } = options;
  if (contentDigest.length !== 32) throw new Error("the content digest must be sha256 (32 bytes)");
  const attributes = [
    attribute(OID.contentType, hex(OID.data)),
    attribute(OID.signingTime, utcTime(options.signingTime ?? new Date())),
    attribute(OID.messageDigest, tlv(0x04, contentDigest)),
  ].sort(derSetOfOrder);
  // RFC 5652 §5.4: the signature covers the attributes as an explicit SET OF (tag 0x31).
  const signedAttributes = tlv(0x31, ...attributes);
  const attributesDigest = createHash("sha256").update(signedAttributes).digest();
  const { signature, pssSaltLength } = await signer.sign(attributesDigest);
  if (!verifyDigestSignature(signer.certificate, { digest: attributesDigest, signature, algorithm: signer.algorithm, pssSaltLength })) {
    throw new Error("the signature does not verify against the signer certificate (wrong key version or certificate?)");
  }
  const signerInfo = sequence(
    integer(1),
    issuerAndSerial(signer.certificate),
    SHA256_ID,
    tlv(0xa0, ...attributes),
    signatureAlgorithmId(signer.algorithm, pssSaltLength),
    tlv(0x04, signature),
  );
  const encapsulated = options.content ? sequence(hex(OID.data), tlv(0xa0, tlv(0x04, options.content))) : sequence(hex(OID.data));
  const signedData = sequence(
    integer(1),
    tlv(0x31, SHA256_ID),
    encapsulated,
    tlv(0xa0, signer.certificate, ...(signer.extraCertificates ?? [])),
    tlv(0x31, signerInfo),
  );
  return sequence(hex(OID.signedData), tlv(0xa0, signedData));
}

/** The eContent of an attached SignedData (a RAUC verity manifest), or undefined when detached. */
export function encapsulatedContent(cms: Buffer): Buffer | undefined {
  const contentInfo = readTlv(cms);
  const [, explicit] = children(cms, contentInfo);
  const signedData = children(cms, explicit)[0];
  const encap = children(cms, signedData)[2];
  const parts = children(cms, encap);
  if (parts.length < 2) return undefined;
  const octets = children(cms, parts[1])[0];
  if (octets.tag === 0x04) return cms.subarray(octets.contentStart, octets.end);
  // Constructed OCTET STRING (BER, as some tools write): concatenate the segments.
  return Buffer.concat(children(cms, octets).map((segment) => cms.subarray(segment.contentStart, segment.end)));
}
