// ECDSA P-256 over a digest the caller already computed. node:crypto only signs and verifies whole
// messages (it always hashes), but Vault's `prehashed` mode and detached-digest checks need the raw
// primitive. Variable-time BigInt arithmetic: fine for verification and for the test stand-in,
// whose keys are throwaway; production private keys stay inside Vault.
import { randomBytes, type KeyObject } from "node:crypto";

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const G: Point = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  z: 1n,
};

interface Point { x: bigint; y: bigint; z: bigint }
const INFINITY: Point = { x: 1n, y: 1n, z: 0n };

const mod = (a: bigint, m = P): bigint => ((a % m) + m) % m;

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

const invert = (a: bigint, m: bigint): bigint => modPow(a, m - 2n, m);

// Jacobian doubling for a = -3 (dbl-2001-b).
function double(p: Point): Point {
  if (p.z === 0n || p.y === 0n) return INFINITY;
  const delta = mod(p.z * p.z);
  const gamma = mod(p.y * p.y);
  const beta = mod(p.x * gamma);
  const alpha = mod(3n * (p.x - delta) * (p.x + delta));
  const x = mod(alpha * alpha - 8n * beta);
  const z = mod((p.y + p.z) ** 2n - gamma - delta);
  const y = mod(alpha * (4n * beta - x) - 8n * gamma * gamma);
  return { x, y, z };
}

// Jacobian addition (add-2007-bl).
function add(p: Point, q: Point): Point {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  const z1z1 = mod(p.z * p.z);
  const z2z2 = mod(q.z * q.z);
  const u1 = mod(p.x * z2z2);
  const u2 = mod(q.x * z1z1);
  const s1 = mod(p.y * q.z * z2z2);
  const s2 = mod(q.y * p.z * z1z1);
  const h = mod(u2 - u1);
  const r = mod(2n * (s2 - s1));
  if (h === 0n) return r === 0n ? double(p) : INFINITY;
  const i = mod(4n * h * h);
  const j = mod(h * i);
  const v = mod(u1 * i);
  const x = mod(r * r - j - 2n * v);
  const y = mod(r * (v - x) - 2n * s1 * j);
  const z = mod(((p.z + q.z) ** 2n - z1z1 - z2z2) * h);
  return { x, y, z };
}

/** a·A + b·B in one pass (Shamir's trick). */
function mulAdd(a: bigint, pa: Point, b: bigint, pb: Point): Point {
  const both = add(pa, pb);
  let acc = INFINITY;
  for (let bit = 255n; bit >= 0n; bit--) {
    acc = double(acc);
    const hasA = (a >> bit) & 1n;
    const hasB = (b >> bit) & 1n;
    if (hasA && hasB) acc = add(acc, both);
    else if (hasA) acc = add(acc, pa);
    else if (hasB) acc = add(acc, pb);
  }
  return acc;
}

function affineX(p: Point): bigint {
  const zInv = invert(p.z, P);
  return mod(p.x * zInv * zInv);
}

const toBig = (bytes: Buffer): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString("hex")}`));
const toBytes32 = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(64, "0"), "hex");

/** FIPS 186-4 bits2int: a digest longer than the order keeps its leftmost 256 bits. */
const digestToInt = (digest: Buffer): bigint => toBig(digest.subarray(0, 32));

function jwkField(key: KeyObject, field: "x" | "y" | "d"): bigint {
  const jwk = key.export({ format: "jwk" });
  if (jwk.crv !== "P-256" || typeof jwk[field] !== "string") throw new Error("not a P-256 key");
  return toBig(Buffer.from(jwk[field] as string, "base64url"));
}

function isOnCurve(x: bigint, y: bigint): boolean {
  return mod(y * y) === mod(x * x * x - 3n * x + B);
}

/** Raw ECDSA signature (r, s as 32-byte big-endian) over `digest` with a P-256 private key. */
export function signDigestP256(privateKey: KeyObject, digest: Buffer): { r: Buffer; s: Buffer } {
  const d = jwkField(privateKey, "d");
  const e = digestToInt(digest);
  for (;;) {
    const k = toBig(randomBytes(32));
    if (k === 0n || k >= N) continue;
    const r = mod(affineX(mulAdd(k, G, 0n, INFINITY)), N);
    if (r === 0n) continue;
    const s = mod(invert(k, N) * (e + r * d), N);
    if (s === 0n) continue;
    return { r: toBytes32(r), s: toBytes32(s) };
  }
}

/** Checks a raw ECDSA (r, s) over `digest` against a P-256 public key. */
export function verifyDigestP256(publicKey: KeyObject, digest: Buffer, sig: { r: Buffer; s: Buffer }): boolean {
  const r = toBig(sig.r);
  const s = toBig(sig.s);
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const q: Point = { x: jwkField(publicKey, "x"), y: jwkField(publicKey, "y"), z: 1n };
  if (!isOnCurve(q.x, q.y)) return false;
  const w = invert(s, N);
  const point = mulAdd(mod(digestToInt(digest) * w, N), G, mod(r * w, N), q);
  if (point.z === 0n) return false;
  return mod(affineX(point), N) === r;
}

function derInteger(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const trimmed = value.subarray(start);
  const body = trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (the "asn1" marshaling of Vault and OpenSSL). */
export function encodeEcdsaDer(sig: { r: Buffer; s: Buffer }): Buffer {
  const body = Buffer.concat([derInteger(sig.r), derInteger(sig.s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** Parses a strict-DER ECDSA-Sig-Value of a P-256 signature; returns undefined when malformed. */
export function decodeEcdsaDer(der: Buffer): { r: Buffer; s: Buffer } | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const parts: Buffer[] = [];
  let offset = 2;
  for (let i = 0; i < 2; i++) {
    if (der[offset] !== 0x02) return undefined;
    const length = der[offset + 1];
    if (length === 0 || length > 33 || offset + 2 + length > der.length) return undefined;
    parts.push(der.subarray(offset + 2, offset + 2 + length));
    offset += 2 + length;
  }
  if (offset !== der.length) return undefined;
  return { r: parts[0], s: parts[1] };
}
