import { createHash, randomBytes, verify, constants } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { buildSwu, type SwuBuildOptions } from "../../signing/swu/build.js";
import { tempDir } from "../helpers/env.js";
import { hasTool, standinFixture, type StandinFixture } from "./fixtures.js";
import { ALGORITHMS, signingSetup, type SigningSetup } from "./keys.js";
import { run, swupdateCheck } from "./tools.js";

/** Offsets of each cpio entry's data, to flip bytes in exactly one part. */
function cpioEntries(archive: Buffer): Map<string, { offset: number; size: number }> {
  const entries = new Map<string, { offset: number; size: number }>();
  let offset = 0;
  for (;;) {
    const field = (index: number): number => parseInt(archive.toString("ascii", offset + 6 + index * 8, offset + 14 + index * 8), 16);
    const size = field(6);
    const nameSize = field(11);
    const name = archive.toString("utf8", offset + 110, offset + 110 + nameSize - 1);
    const dataOffset = offset + 110 + nameSize + ((4 - ((110 + nameSize) % 4)) % 4);
    if (name === "TRAILER!!!") return entries;
    entries.set(name, { offset: dataOffset, size });
    offset = dataOffset + size + ((4 - (size % 4)) % 4);
  }
}

describe("SWUpdate .swu signing", function () {
  this.timeout(120_000);
  let vault: StandinFixture;
  let dir: { path: string; remove: () => Promise<void> };
  let setup: SigningSetup;
  let rootfs: string;
  let appImage: string;

  before(async function () {
    if (!(await hasTool("openssl"))) this.skip();
    vault = await standinFixture();
    dir = await tempDir("aerie-swu-");
    setup = await signingSetup(vault, dir.path);
    rootfs = join(dir.path, "rootfs.ext4");
    appImage = join(dir.path, "app.tar");
    await writeFile(rootfs, randomBytes(3 * 1024 * 1024 + 5));
    await writeFile(appImage, randomBytes(70_001));
  });
  after(async () => {
    await vault?.remove();
    await dir?.remove();
  });

  const description: SwuBuildOptions["description"] = {
    version: "1.2.3",
    description: "Aerie \"test\" update",
    hardwareCompatibility: ["1.0"],
    images: [
      { filename: "rootfs.ext4", type: "raw", device: "/dev/null" },
      { filename: "app.tar", type: "raw", device: "/dev/null" },
    ],
  };

  it("writes a cpio newc archive that GNU cpio lists in swupdate's order", async function () {
    if (!(await hasTool("cpio"))) this.skip();
    const output = join(dir.path, "order.swu");
    await buildSwu({ output, images: [rootfs, appImage], description, mode: "cms", cmsSigner: await setup.cmsSigner("ecdsa-p256") });
    const listed = await run("sh", ["-c", `cpio -it --quiet < '${output}'`]);
    expect(listed.output.trim().split("\n")).to.deep.equal(["sw-description", "sw-description.sig", "rootfs.ext4", "app.tar"]);
    const entries = cpioEntries(await readFile(output));
    expect(entries.get("rootfs.ext4")?.size).to.equal(3 * 1024 * 1024 + 5);
  });

  for (const { algorithm } of ALGORITHMS) {
    it(`is accepted by swupdate -c in CMS mode (${algorithm}) and rejects one flipped byte anywhere`, async function () {
      if (!(await hasTool("swupdate"))) {
        console.log("      swupdate is not installed: apt-get install -y swupdate");
        this.skip();
      }
      const output = join(dir.path, `${algorithm}.swu`);
      const built = await buildSwu({ output, images: [rootfs, appImage], description, mode: "cms", cmsSigner: await setup.cmsSigner(algorithm) });
      expect(built.swDescription).to.include(`sha256 = "${createHash("sha256").update(await readFile(rootfs)).digest("hex")}"`);
      const accepted = await swupdateCheck(output, setup.trustFile);
      expect(accepted.ok, accepted.output).to.equal(true);

      const original = await readFile(output);
      const entries = cpioEntries(original);
      const targets: [string, number][] = [
        ["sw-description", entries.get("sw-description")!.offset + 20],
        ["sw-description.sig", entries.get("sw-description.sig")!.offset + entries.get("sw-description.sig")!.size - 3],
        ["payload", entries.get("rootfs.ext4")!.offset + 1_000_000],
      ];
      for (const [part, offset] of targets) {
        const tampered = Buffer.from(original);
        tampered[offset] ^= 0x01;
        const path = join(dir.path, `${algorithm}-${part}.swu`);
        await writeFile(path, tampered);
        const rejected = await swupdateCheck(path, setup.trustFile);
        expect(rejected.ok, `flipped byte in ${part} was accepted`).to.equal(false);
      }
    });
  }

  it("accepts a hand-written sw-description with meta-swupdate sha256 placeholders", async function () {
    if (!(await hasTool("swupdate"))) this.skip();
    const text = `software =\n{\n\tversion = "2.0";\n\thardware-compatibility = [ "1.0" ];\n\timages: (\n\t\t{\n\t\t\tfilename = "app.tar";\n\t\t\tdevice = "/dev/null";\n\t\t\tsha256 = "$swupdate_get_sha256(app.tar)";\n\t\t}\n\t);\n};\n`;
    const output = join(dir.path, "given.swu");
    await buildSwu({ output, images: [appImage], description: { text }, mode: "cms", cmsSigner: await setup.cmsSigner("rsa-pkcs1v15") });
    const result = await swupdateCheck(output, setup.trustFile);
    expect(result.ok, result.output).to.equal(true);
  });

  it("signs raw RSA and RSA-PSS sw-description signatures for SIGALG_RAWRSA/RSAPSS builds", async () => {
    const transit = setup.transit("rsa-2048");
    const publicKey = (await transit.publicKey()).key;
    for (const mode of ["raw-rsa", "rsa-pss"] as const) {
      const output = join(dir.path, `${mode}.swu`);
      const built = await buildSwu({
        output, images: [appImage], description, mode,
        digestSigner: { sign: (digest, algorithm) => transit.sign(digest, { algorithm }) },
      }).catch((error: Error) => error);
      expect(built).to.be.instanceOf(Error, "description lists rootfs.ext4 which is not packed");
      await buildSwu({
        output, images: [rootfs, appImage], description, mode,
        digestSigner: { sign: (digest, algorithm) => transit.sign(digest, { algorithm }) },
      });
      const entries = cpioEntries(await readFile(output));
      const archive = await readFile(output);
      const sw = archive.subarray(entries.get("sw-description")!.offset, entries.get("sw-description")!.offset + entries.get("sw-description")!.size);
      const sig = archive.subarray(entries.get("sw-description.sig")!.offset, entries.get("sw-description.sig")!.offset + entries.get("sw-description.sig")!.size);
      const key = mode === "raw-rsa" ? publicKey : { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO };
      expect(verify("sha256", sw, key, sig), mode).to.equal(true);
    }
  });
});
