// The signature a device receives with its deployment notice, on the real embedded stack: the record of
// the release's own artifact, presented in its real format, and checked by the simulated device.
import { expect } from "chai";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { describeErrors, downstreamValidators } from "../../bridge/protocol/schemas.js";
import { verifyDownloadedArtifact } from "../../scripts/simulator/verify-artifact.js";
import { readSwu } from "../../signing/swu/read.js";
import { createTestPki } from "../helpers/pki.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import { hasTool } from "./fixtures.js";
import { raucExtract, raucInfo, run, swupdateCheck, type ToolResult } from "./tools.js";

describe("signing: signatures in deployment notices", function () {
  this.timeout(180_000);
  let test: TestStack;
  const devices: SimulatedDevice[] = [];

  before(async () => {
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
  });

  after(async () => {
    for (const device of devices) await device.stop().catch(() => undefined);
    await test?.stop();
  });

  async function device(controllerId: string): Promise<SimulatedDevice> {
    const d = new SimulatedDevice({ controllerId, mqttUrl: test.stack.endpoints.mqtt, keyring: await test.keyring(), token: await test.deviceToken(controllerId) });
    await d.start();
    devices.push(d);
    await waitFor(`${controllerId} registered`, async () => ((await test.api.devices()).devices.some((x) => x.controllerId === controllerId) ? true : undefined), 20_000);
    return d;
  }

  it("gives devices the signature of the release's own artifact when the same bytes were uploaded again unsigned (A1/A2)", async () => {
    const { api } = test;
    const d = await device("a1a2-1");
    const image = randomBytes(64 * 1024);
    const a1 = await api.uploadArtifact("rootfs-a1.swu", image, image.length);
    const signature = await api.signArtifact(a1.id);
    // The same bytes again, later and unsigned: the newest record with that sha256.
    const a2 = await api.uploadArtifact("rootfs-a2.swu", image, image.length);
    expect(a2.sha256).to.equal(a1.sha256);
    const release = await api.createRelease({ name: "a1a2-os", version: "1.0.0", artifacts: [a1.id] });
    await api.createCampaign({ name: "a1a2", releaseId: release.id, targetFilter: "controllerId==a1a2-*", groups: 1, start: true });

    const outcome = await waitFor("the device's outcome", async () => d.outcomes[0], 60_000);
    const notice = d.notices.find((n) => n.artifacts.length > 0)!;
    expect(downstreamValidators.deployment(notice), describeErrors(downstreamValidators.deployment)).to.equal(true);
    expect(notice.artifacts[0]!.signature).to.deep.include({ format: "raw-rsa", covers: "artifact", keyVersion: signature.keyVersion, value: signature.value });
    expect(outcome).to.deep.include({ status: "success", version: "1.0.0" });
  });
});

describe("signing: every signature format, from build to the device", function () {
  this.timeout(400_000);
  let test: TestStack;
  let caBundle: string;
  let caFile: string;
  let work: string;
  let imageId: string;
  const devices: SimulatedDevice[] = [];

  before(async function () {
    for (const tool of ["openssl", "swupdate", "rauc", "mksquashfs"]) {
      if (!(await hasTool(tool))) this.skip();
    }
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
    work = await mkdtemp(join(test.dataDir, "formats-"));
    const pki = await createTestPki(work, { intermediate: true });
    const csr = (await test.api.send("POST", "/api/v1/keyring/csr", JSON.stringify({ subject: "CN=Aerie release signing" }), "application/json")).text;
    expect((await test.api.send("PUT", "/api/v1/keyring/certificate", await pki.issue(csr), "application/x-pem-file")).status).to.equal(200);
    expect((await test.api.send("PUT", "/api/v1/keyring/trust-anchors", pki.rootPem, "application/x-pem-file")).status).to.equal(200);
    caBundle = (await test.api.send("GET", "/api/v1/keyring/ca.pem", undefined)).text;
    caFile = join(work, "ca.pem");
    await writeFile(caFile, caBundle);
    const image = randomBytes(300 * 1024);
    imageId = (await test.api.uploadArtifact("rootfs.ext4", image, image.length)).id;
  });

  after(async () => {
    for (const device of devices) await device.stop().catch(() => undefined);
    await test?.stop();
  });

  // Bodies are made when the case runs: the image is uploaded in before().
  const build = (path: string, body: () => object) => async () => (await test.api.request<{ id: string }>("POST", path, body())).id;
  const swu = (name: string, extra: object) => build("/api/v1/builds/swu", () => ({ filename: `${name}.swu`, version: "2.0.0", hardwareCompatibility: ["1.0"], images: [{ artifactId: imageId, type: "raw", device: "/dev/null" }], ...extra }));
  const rauc = (format: string) => build("/api/v1/builds/rauc", () => ({ filename: `${format}.raucb`, format, compatible: "aerie-board", version: "2.0.0", images: [{ artifactId: imageId, slotClass: "rootfs" }] }));
  const publicKeyFile = async () => {
    const file = join(work, "key-v1.pem");
    await writeFile(file, (await test.keyring()).get(1)!);
    return file;
  };
  const opensslDgst = async (signed: Buffer, signature: Buffer, pss: boolean) => {
    const data = join(work, `signed-${randomBytes(4).toString("hex")}`);
    await writeFile(data, signed);
    await writeFile(`${data}.sig`, signature);
    return run("openssl", ["dgst", "-sha256", "-verify", await publicKeyFile(), "-signature", `${data}.sig`, ...(pss ? ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:auto"] : []), data]);
  };

  type Case = { name: string; make: () => Promise<string>; expected: { format: string; covers: string; algorithm: string }; tool: (file: string, bytes: Buffer, value: Buffer) => Promise<ToolResult>; flipAt: (bytes: Buffer) => number };
  const cases: Case[] = [
    {
      name: "detached-raw-rsa",
      make: async () => {
        const bytes = randomBytes(64 * 1024);
        const artifact = await test.api.uploadArtifact("detached.bin", bytes, bytes.length);
        await test.api.signArtifact(artifact.id);
        return artifact.id;
      },
      expected: { format: "raw-rsa", covers: "artifact", algorithm: "rsa-pkcs1v15" },
      tool: (_file, bytes, value) => opensslDgst(bytes, value, false),
      flipAt: (bytes) => bytes.length - 100,
    },
    { name: "swu-cms", make: swu("cms", { mode: "cms" }), expected: { format: "cms", covers: "sw-description", algorithm: "rsa-pkcs1v15" }, tool: (file) => swupdateCheck(file, caFile, "aerie-board:1.0"), flipAt: (b) => b.length - 1024 },
    { name: "swu-cms-pss", make: swu("cms-pss", { mode: "cms", algorithm: "rsa-pss" }), expected: { format: "cms", covers: "sw-description", algorithm: "rsa-pss" }, tool: (file) => swupdateCheck(file, caFile, "aerie-board:1.0"), flipAt: (b) => b.length - 1024 },
    { name: "swu-raw-rsa", make: swu("raw-rsa", { mode: "raw-rsa" }), expected: { format: "raw-rsa", covers: "sw-description", algorithm: "rsa-pkcs1v15" }, tool: (_f, bytes, value) => opensslDgst(readSwu(bytes).swDescription, value, false), flipAt: (b) => b.length - 1024 },
    { name: "swu-rsa-pss", make: swu("rsa-pss", { mode: "rsa-pss" }), expected: { format: "rsa-pss", covers: "sw-description", algorithm: "rsa-pss" }, tool: (_f, bytes, value) => opensslDgst(readSwu(bytes).swDescription, value, true), flipAt: (b) => b.length - 1024 },
    { name: "rauc-plain", make: rauc("plain"), expected: { format: "cms", covers: "rauc-bundle", algorithm: "rsa-pkcs1v15" }, tool: (file) => raucInfo(file, caFile), flipAt: () => 5000 },
    { name: "rauc-verity", make: rauc("verity"), expected: { format: "cms", covers: "rauc-bundle", algorithm: "rsa-pkcs1v15" }, tool: (file) => raucExtract(file, caFile, join(work, "verity-extract")), flipAt: () => 5000 },
  ];

  for (const c of cases) {
    it(`${c.name}: released, announced as ${c.expected.format} over ${c.expected.covers}, installed by the device, accepted by the real tool, refused tampered`, async () => {
      const artifactId = await c.make();
      const release = await test.api.createRelease({ name: `fmt-${c.name}`, version: "2.0.0", artifacts: [artifactId] });
      const device = new SimulatedDevice({ controllerId: `fmt-${c.name}`, mqttUrl: test.stack.endpoints.mqtt, keyring: await test.keyring(), caBundle, token: await test.deviceToken(`fmt-${c.name}`) });
      await device.start();
      devices.push(device);
      await waitFor("registration", async () => ((await test.api.devices()).devices.some((d) => d.controllerId === device.controllerId) ? true : undefined), 20_000);
      await test.api.createCampaign({ name: `fmt-${c.name}`, releaseId: release.id, targetFilter: `controllerId==fmt-${c.name}`, groups: 1, start: true });
      const outcome = await waitFor("the device's outcome", async () => device.outcomes[0], 60_000);
      expect(outcome, outcome.detail).to.include({ status: "success" });

      const notice = device.notices.find((n) => n.artifacts.length > 0)!;
      expect(downstreamValidators.deployment(notice), describeErrors(downstreamValidators.deployment)).to.equal(true);
      const announced = notice.artifacts[0]!;
      expect(announced.signature).to.include({ ...c.expected, keyName: "aerie-signing", keyVersion: 1 });
      const bytes = Buffer.from(await (await fetch(announced.offers.find((o) => o.scheme === "s3-presigned")!.url)).arrayBuffer());
      const file = join(work, announced.filename);
      await writeFile(file, bytes);
      const value = Buffer.from(announced.signature.value, "base64");
      const tool = await c.tool(file, bytes, value);
      expect(tool.ok, tool.output).to.equal(true);

      // An attacker who can change bytes and notice alike (sha256 and size to match) still fails the signature.
      const tampered = Buffer.from(bytes);
      tampered[c.flipAt(tampered)]! ^= 0x01;
      const forged = { ...announced, size: tampered.length, hashes: { sha256: createHash("sha256").update(tampered).digest("hex") } };
      const refused = await verifyDownloadedArtifact(forged, tampered, { keyring: await test.keyring(), caBundle }).then(() => undefined, (e: Error) => e.message);
      expect(refused, "a flipped byte must be refused").to.be.a("string");
      const tamperedFile = `${file}.tampered`;
      await writeFile(tamperedFile, tampered);
      const toolOnTampered = await c.tool(tamperedFile, tampered, value);
      // openssl over sw-description alone does not see a flipped image byte (the device's image hash check does),
      // and a second `rauc extract` into the same folder would fail for that reason alone: those two are left out.
      if (!["swu-raw-rsa", "swu-rsa-pss", "rauc-verity"].includes(c.name)) expect(toolOnTampered.ok, "the real tool refuses it too").to.equal(false);
    });
  }

  it("ecdsa: a bare P-256 signature over the artifact's digest is checked by the device and by openssl", async () => {
    const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const bytes = randomBytes(4096);
    const value = sign("sha256", bytes, key.privateKey); // DER, as Vault's asn1 marshaling
    const artifact = {
      filename: "ec.bin", size: bytes.length, hashes: { sha256: createHash("sha256").update(bytes).digest("hex") }, offers: [],
      signature: { format: "ecdsa" as const, covers: "artifact" as const, algorithm: "ecdsa-p256" as const, keyName: "k", keyVersion: 3, value: value.toString("base64") },
    };
    await verifyDownloadedArtifact(artifact, bytes, { keyring: new Map([[3, key.publicKey]]) });
    const pub = join(work, "ec.pem");
    await writeFile(pub, key.publicKey.export({ type: "spki", format: "pem" }));
    await writeFile(join(work, "ec.bin"), bytes);
    await writeFile(join(work, "ec.sig"), value);
    const checked = await run("openssl", ["dgst", "-sha256", "-verify", pub, "-signature", join(work, "ec.sig"), join(work, "ec.bin")]);
    expect(checked.ok, checked.output).to.equal(true);
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const refused = await verifyDownloadedArtifact(artifact, bytes, { keyring: new Map([[3, other.publicKey]]) }).then(() => undefined, (e: Error) => e.message);
    expect(refused).to.contain("does not verify");
  });
});
