// Verifies a CMS SignedData for real, with OpenSSL's `cms -verify` (the same library swupdate and rauc
// verify with): the signature over the signed attributes, the message digest against the content, and
// the signer's chain up to the given trust anchors. Returns the signer certificate so callers can also
// check which key made it. Files go to a private temp folder, removed whatever happens.
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CmsVerifyOptions {
  /** DER CMS SignedData. */
  cms: Buffer;
  /** The signed content of a detached CMS: bytes, or a file (large RAUC payloads); absent for an attached CMS. */
  content?: Buffer | { path: string };
  /** PEM trust anchors plus any intermediates the CMS does not carry. */
  trustPem: string;
}

export type CmsVerifyResult = { valid: true; signer: X509Certificate; content?: Buffer } | { valid: false; reason: string };

function openssl(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { maxBuffer: 4 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") reject(new Error("openssl is not installed: CMS signatures cannot be verified"));
      else resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr: String(stderr) });
    });
  });
}

export async function verifyCms(options: CmsVerifyOptions): Promise<CmsVerifyResult> {
  if (!options.trustPem.includes("-----BEGIN CERTIFICATE-----")) return { valid: false, reason: "no trust anchors to verify against" };
  const dir = await mkdtemp(join(tmpdir(), "aerie-cms-"));
  try {
    const file = (name: string) => join(dir, name);
    await writeFile(file("cms.der"), options.cms);
    await writeFile(file("trust.pem"), options.trustPem);
    // 1. The signature over the signed attributes and the message digest over the content; the signer's
    //    certificate is written out for step 2.
    const args = ["cms", "-verify", "-binary", "-inform", "DER", "-in", file("cms.der"), "-noverify", "-signer", file("signer.pem"), "-out", file("content.bin")];
    if (options.content) {
      const contentPath = Buffer.isBuffer(options.content) ? file("content.in") : options.content.path;
      if (Buffer.isBuffer(options.content)) await writeFile(contentPath, options.content);
      args.push("-content", contentPath);
    }
    const signature = await openssl(args);
    if (signature.code !== 0) return { valid: false, reason: `signature: ${firstReason(signature.stderr, signature.code)}` };
    // 2. The signer's chain from the trust bundle alone: swupdate ignores intermediates carried inside the
    //    CMS (they must be in its -k file), so a chain that needs them would pass here and fail on devices.
    const chain = await openssl(["verify", "-no-CApath", "-no-CAstore", "-purpose", "any", "-CAfile", file("trust.pem"), file("signer.pem")]);
    if (chain.code !== 0) return { valid: false, reason: `certificate chain: ${firstReason(chain.stderr, chain.code)}` };
    const signer = new X509Certificate(await readFile(file("signer.pem")));
    return { valid: true, signer, ...(options.content ? {} : { content: await readFile(file("content.bin")) }) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function firstReason(stderr: string, code: number): string {
  const line = stderr.split("\n").map((l) => l.trim()).find((l) => /verif|digest|certificate|error/i.test(l));
  return (line ?? `openssl exited ${code}`).replace(/^[0-9A-F]+:error:[0-9A-F]*:?/i, "").replace(/\/[^\s:]*aerie-cms-[^\s:]*/g, "signer").slice(0, 300);
}
