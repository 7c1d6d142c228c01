// Debian's `swupdate` in suricatta mode (its hawkBit DDI client) as a test device, and releases it accepts: a .swu of
// one raw image for a file-backed slot, CMS-signed by Aerie's builder with a code-signing certificate from a test CA.
// Shared by the suricatta conformance test (test/hawkbit/suricatta.test.ts) and the mixed-fleet campaign
// (test/e2e/mixed-fleet.test.ts).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { signPkcs1v15 } from "../../signing/crypto/rsa.js";
import type { CmsSigner } from "../../signing/cms/signed-data.js";
import { buildSwu } from "../../signing/swu/build.js";
import { pemToDer } from "../../signing/x509/der.js";
import { CREDENTIALS } from "./hawkbit-conformance.js";
import type { createTestPki } from "./pki.js";

const run = promisify(execFile);
export const SURICATTA_HARDWARE = "aerie-board:1.0";

export async function available(command: string): Promise<boolean> {
  try {
    await run("sh", ["-c", `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/** One swupdate process in suricatta mode; its output is kept for the failure message. */
export class Suricatta {
  private child: ChildProcess | undefined;
  output = "";

  constructor(private readonly dir: string, private readonly url: string, private readonly trustFile: string,
    private readonly device: string, private readonly token: string) {}

  start(extra: string[] = []): void {
    const suricatta = ["-t", CREDENTIALS.tenant, "-u", this.url, "-i", this.device, "-k", this.token, "-p", "1", "-r", "2", "-w", "1", ...extra];
    this.child = spawn("swupdate", ["-v", "-k", this.trustFile, "-H", SURICATTA_HARDWARE, "-u", suricatta.join(" ")], {
      cwd: this.dir, env: { ...process.env, TMPDIR: this.dir }, stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /** SIGTERM, as a reboot would end it; waits for the process to be gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(timer);
  }
}

/** A CMS signer: an RSA key with a code-signing certificate from `pki` (as Aerie's release signer would have). */
export async function localSigner(pki: Awaited<ReturnType<typeof createTestPki>>, dir: string): Promise<CmsSigner> {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await writeFile(join(dir, "signer.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
  const { stdout: csr } = await run("openssl", ["req", "-new", "-key", join(dir, "signer.key"), "-subj", "/CN=Aerie release signer"]);
  const chain = await pki.issue(csr);
  return {
    certificate: pemToDer(chain, "CERTIFICATE"),
    algorithm: "rsa-pkcs1v15",
    sign: async (digest) => ({ signature: signPkcs1v15(privateKey, digest, "sha256") }),
  };
}

/** A .swu of one raw image for `slot`, built and signed by Aerie's builder. */
export async function suricattaRelease(dir: string, version: string, slot: string, signer: CmsSigner): Promise<{ swu: Buffer; image: Buffer }> {
  const stage = join(dir, `stage-${version}`);
  await mkdir(stage);
  const image = Buffer.alloc(64 * 1024, 0x5a);
  image.write(`AERIE-VERSION=${version}\n`);
  await writeFile(join(stage, "rootfs.img"), image);
  const output = join(dir, `release-${version}.swu`);
  const description = `software =\n{\n\tversion = "${version}";\n\thardware-compatibility = [ "1.0" ];\n\timages: (\n\t\t{ filename = "rootfs.img"; device = "${slot}"; type = "raw"; sha256 = "$swupdate_get_sha256(rootfs.img)"; }\n\t);\n};\n`;
  await buildSwu({ output, images: [join(stage, "rootfs.img")], description: { text: description }, mode: "cms", cmsSigner: signer });
  return { swu: await readFile(output), image };
}
