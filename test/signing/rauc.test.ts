import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { buildRaucBundle, readBundleSignature, resignRaucBundle } from "../../signing/rauc/bundle.js";
import { VerityTreeBuilder } from "../../signing/rauc/verity.js";
import { tempDir } from "../helpers/env.js";
import { hasTool, standinFixture, type StandinFixture } from "./fixtures.js";
import { ALGORITHMS, signingSetup, type SigningSetup } from "./keys.js";
import { raucExtract, raucInfo, run } from "./tools.js";

describe("RAUC bundle signing", function () {
  this.timeout(180_000);
  let vault: StandinFixture;
  let dir: { path: string; remove: () => Promise<void> };
  let setup: SigningSetup;
  let images: string;
  let counter = 0;
  const manifest = { compatible: "aerie-board", version: "1.2.3", description: "Aerie test", images: [{ slotClass: "rootfs", filename: "rootfs.ext4" }, { slotClass: "appfs", filename: "app.img" }] };

  before(async function () {
    for (const tool of ["openssl", "rauc", "mksquashfs"]) {
      if (!(await hasTool(tool))) {
        console.log(`      ${tool} is not installed: apt-get install -y rauc squashfs-tools openssl`);
        this.skip();
      }
    }
    vault = await standinFixture();
    dir = await tempDir("aerie-rauc-test-");
    setup = await signingSetup(vault, dir.path);
    images = join(dir.path, "images");
    await mkdir(images);
    // Random data does not compress: the squashfs stays large enough for a multi-level verity tree.
    await writeFile(join(images, "rootfs.ext4"), randomBytes(2 * 1024 * 1024 + 333));
    await writeFile(join(images, "app.img"), randomBytes(50_000));
  });
  after(async () => {
    await vault?.remove();
    await dir?.remove();
  });

  const next = (name: string): string => join(dir.path, `${++counter}-${name}`);

  async function flipped(path: string, offset: number, label: string): Promise<string> {
    const bytes = await readFile(path);
    bytes[offset] ^= 0x01;
    const copy = next(`${label}.raucb`);
    await writeFile(copy, bytes);
    return copy;
  }

  it("builds the dm-verity tree byte for byte like veritysetup", async function () {
    if (!(await hasTool("veritysetup"))) this.skip();
    const data = randomBytes(4096 * 300);
    const salt = randomBytes(32);
    const builder = new VerityTreeBuilder(salt);
    for (let offset = 0; offset < data.length; offset += 10_000) builder.update(data.subarray(offset, offset + 10_000));
    const result = builder.finish();
    const file = next("verity.img");
    await writeFile(file, data);
    const formatted = await run("veritysetup", ["format", "--no-superblock", "--format=1", "--hash=sha256", "--data-block-size=4096", "--hash-block-size=4096",
      "--data-blocks=300", `--salt=${salt.toString("hex")}`, `--hash-offset=${data.length}`, file, file]);
    expect(formatted.ok, formatted.output).to.equal(true);
    expect(formatted.output).to.match(new RegExp(`Root hash:\\s+${result.rootHash.toString("hex")}`));
    const tree = (await readFile(file)).subarray(data.length);
    expect(tree.subarray(0, result.tree.length).equals(result.tree)).to.equal(true);
  });

  for (const { algorithm } of ALGORITHMS) {
    for (const format of ["plain", "verity"] as const) {
      it(`${format} bundle (${algorithm}) passes rauc info and rauc extract, and a flipped byte is rejected`, async () => {
        const bundle = next(`${algorithm}-${format}.raucb`);
        const built = await buildRaucBundle({ output: bundle, format, source: { directory: images, manifest }, signer: await setup.cmsSigner(algorithm) });
        const info = await raucInfo(bundle, setup.rootFile);
        expect(info.ok, info.output).to.equal(true);
        expect(info.output).to.include("aerie-board");
        expect(info.output).to.include(format === "verity" ? "Bundle Format: \tverity" : "Bundle Format: \tplain");
        const extracted = join(dir.path, `${counter}-extracted`);
        const extract = await raucExtract(bundle, setup.rootFile, extracted);
        expect(extract.ok, extract.output).to.equal(true);
        expect((await readFile(join(extracted, "app.img"))).equals(await readFile(join(images, "app.img")))).to.equal(true);

        const { cms, cmsOffset } = await readBundleSignature(bundle);
        const payload = await flipped(bundle, 1_000_000, "payload");
        const badPayload = format === "plain" ? await raucInfo(payload, setup.rootFile) : await raucExtract(payload, setup.rootFile, join(dir.path, `${counter}-x`));
        expect(badPayload.ok, "flipped payload byte accepted").to.equal(false);
        const signature = await flipped(bundle, cmsOffset + cms.length - 5, "signature");
        expect((await raucInfo(signature, setup.rootFile)).ok, "flipped signature byte accepted").to.equal(false);
        if (format === "verity") {
          const at = cms.indexOf(Buffer.from("compatible=aerie-board"));
          const manifestFlip = await flipped(bundle, cmsOffset + at + 12, "manifest");
          expect((await raucInfo(manifestFlip, setup.rootFile)).ok, "flipped manifest byte accepted").to.equal(false);
          const treeFlip = await flipped(bundle, cmsOffset - 100, "tree");
          expect((await raucExtract(treeFlip, setup.rootFile, join(dir.path, `${counter}-t`))).ok, "flipped verity tree byte accepted").to.equal(false);
          expect(built.manifest).to.match(/verity-hash=[0-9a-f]{64}/);
        } else {
          // The plain manifest lives inside the squashfs: any byte of it is covered by the detached CMS.
          expect((await raucInfo(await flipped(bundle, 100, "superblock"), setup.rootFile)).ok).to.equal(false);
        }
      });
    }
  }

  it("builds from a given squashfs and manifest, and re-signs bundles with another key", async () => {
    const squashfs = next("given.squashfs");
    const manifestText = "[update]\ncompatible=aerie-board\nversion=9.9\n\n[bundle]\nformat=verity\n";
    await writeFile(join(dir.path, "manifest.raucm"), manifestText);
    const made = await run("mksquashfs", [join(images, "app.img"), join(images, "rootfs.ext4"), join(dir.path, "manifest.raucm"), squashfs, "-all-root", "-noappend", "-no-progress"]);
    expect(made.ok, made.output).to.equal(true);
    const verity = next("given-verity.raucb");
    await buildRaucBundle({ output: verity, format: "verity", source: { squashfs, manifestText }, signer: await setup.cmsSigner("ecdsa-p256") });
    expect((await raucExtract(verity, setup.rootFile, join(dir.path, `${counter}-given`))).ok).to.equal(true);

    for (const input of [verity, next("plain-src.raucb")]) {
      if (!input.endsWith("given-verity.raucb")) {
        await buildRaucBundle({ output: input, format: "plain", source: { directory: images, manifest }, signer: await setup.cmsSigner("ecdsa-p256") });
      }
      const output = next("resigned.raucb");
      const { format } = await resignRaucBundle({ input, output, signer: await setup.cmsSigner("rsa-pss") });
      const info = await raucInfo(output, setup.rootFile);
      expect(info.ok, info.output).to.equal(true);
      expect(info.output).to.include("release rsa-2048");
      expect((await raucExtract(output, setup.rootFile, join(dir.path, `${counter}-re`))).ok, format).to.equal(true);
    }
  });
});
