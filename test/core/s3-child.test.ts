// The embedded S3 endpoint as an attacker on loopback meets it: in its own process, restarted when it
// ends, refusing anonymous and wrongly signed requests, and harmless to the multipart request that
// crashed busboy/dicer (CVE-2022-24434) and with it the whole of Aerie.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { SignatureV4 } from "@smithy/signature-v4";
import { ArtifactStore } from "../../core/storage/artifact-store.js";
import { startEmbeddedS3, type EmbeddedS3 } from "../../infrastructure/embedded/s3.js";
import { Sha256 } from "../../infrastructure/embedded/s3-sigv4.js";
import { tempDir } from "../helpers/env.js";

const credentials = { accessKeyId: "AERIETESTKEY", secretAccessKey: "test-secret-0123456789" };
const BUCKET = "artifacts";
const BOUNDARY = "----WebKitFormBoundaryoo6vortfDzBsDiro";
// The published proof of concept: a part header line starting with a space made dicer throw.
const CRASH_BODY = `--${BOUNDARY}\r\n Content-Disposition: form-data; name="bildbeschreibung"\r\n\r\n\r\n--${BOUNDARY}--`;

describe("embedded S3 in a child process", function () {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let s3: EmbeddedS3;
  let client: S3Client;
  let store: ArtifactStore;
  const logged: Array<{ level: string; obj: unknown; msg?: string }> = [];
  const log = {
    info: (obj: unknown, msg?: string) => logged.push({ level: "info", obj, msg }),
    warn: (obj: unknown, msg?: string) => logged.push({ level: "warn", obj, msg }),
    error: (obj: unknown, msg?: string) => logged.push({ level: "error", obj, msg }),
  };

  before(async () => {
    dir = await tempDir();
    s3 = await startEmbeddedS3({ dataDir: dir.path, host: "127.0.0.1", port: 0, credentials, log: log as never });
    client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials, requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" });
    store = new ArtifactStore({ endpoint: s3.endpoint, region: "us-east-1", bucket: BUCKET, ...credentials });
    await store.ensureBucket();
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "a/image.bin", Body: "firmware bytes" }));
  });

  after(async () => {
    client?.destroy();
    store?.destroy();
    await s3?.stop();
    await dir?.remove();
  });

  it("runs s3rver in another process and serves correctly signed requests", async () => {
    expect(s3.pid).to.be.a("number").and.not.equal(process.pid);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "a/image.bin" }));
    expect(await got.Body!.transformToString()).to.equal("firmware bytes");
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(listed.Contents?.map((c) => c.Key)).to.deep.equal(["a/image.bin"]);
  });

  it("refuses anonymous reads, lists and writes", async () => {
    const read = await fetch(`${s3.endpoint}/${BUCKET}/a/image.bin`);
    expect(read.status).to.equal(403);
    expect(await read.text()).to.contain("AccessDenied").and.not.contain("firmware bytes");
    expect((await fetch(`${s3.endpoint}/${BUCKET}`)).status).to.equal(403);
    expect((await fetch(`${s3.endpoint}/`)).status).to.equal(403);
    const write = await fetch(`${s3.endpoint}/${BUCKET}/a/image.bin`, { method: "PUT", body: "overwritten" });
    expect(write.status).to.equal(403);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "a/image.bin" }));
    expect(await got.Body!.transformToString()).to.equal("firmware bytes");
  });

  it("refuses requests signed with another key", async () => {
    const other = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: "wrong" } });
    const error = await other.send(new GetObjectCommand({ Bucket: BUCKET, Key: "a/image.bin" })).catch((e: unknown) => e as { name: string; $metadata: { httpStatusCode: number } });
    other.destroy();
    expect(error).to.have.property("name", "SignatureDoesNotMatch");
    const legacy = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    const refused = await legacy.send(new ListObjectsV2Command({ Bucket: BUCKET })).catch((e: unknown) => e as { name: string });
    legacy.destroy();
    expect(refused).to.have.property("name", "InvalidAccessKeyId");
  });

  it("accepts a presigned URL and refuses it with an all-zero, altered or expired signature", async () => {
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: "a/image.bin" }), { expiresIn: 600 });
    const ok = await fetch(url);
    expect(ok.status).to.equal(200);
    expect(await ok.text()).to.equal("firmware bytes");

    const zero = url.replace(/X-Amz-Signature=[0-9a-f]{64}/, `X-Amz-Signature=${"0".repeat(64)}`);
    expect(zero).to.not.equal(url);
    const zeroResponse = await fetch(zero);
    expect(zeroResponse.status).to.equal(403);
    expect(await zeroResponse.text()).to.contain("SignatureDoesNotMatch");

    // The signature of one object does not open another.
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "a/other.bin", Body: "other" }));
    expect((await fetch(url.replace("/a/image.bin?", "/a/other.bin?"))).status).to.equal(403);
    // Nor a longer lifetime than signed.
    expect((await fetch(url.replace("X-Amz-Expires=600", "X-Amz-Expires=6000"))).status).to.equal(403);

    const expiredUrl = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: "a/image.bin" }), { expiresIn: 1, signingDate: new Date(Date.now() - 60_000) });
    const expired = await fetch(expiredUrl);
    expect(expired.status).to.equal(403);
    expect(await expired.text()).to.contain("expired");
  });

  it("is not harmed by the CVE-2022-24434 multipart request, anonymous or signed", async () => {
    const pid = s3.pid;
    const anonymous = await fetch(`${s3.endpoint}/${BUCKET}`, { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` }, body: CRASH_BODY });
    expect(anonymous.status).to.equal(403);

    // Signed with Aerie's key, so it reaches s3rver's multipart parser (busboy 1.x by npm override).
    const signer = new SignatureV4({ credentials, region: "us-east-1", service: "s3", sha256: Sha256, uriEscapePath: false });
    const host = new URL(s3.endpoint).host;
    const signed = await signer.sign({
      method: "POST", protocol: "http:", hostname: host.split(":")[0]!, port: Number(host.split(":")[1]), path: `/${BUCKET}`, query: {},
      headers: { host, "content-type": `multipart/form-data; boundary=${BOUNDARY}`, "x-amz-content-sha256": createHash("sha256").update(CRASH_BODY).digest("hex") },
      body: CRASH_BODY,
    });
    const response = await fetch(`${s3.endpoint}/${BUCKET}`, { method: "POST", headers: signed.headers as Record<string, string>, body: CRASH_BODY });
    // Past the signature check (not 403): s3rver answers with an error, and its process lives on.
    expect(response.status, await response.text()).to.be.oneOf([400, 500]);
    await sleep(300);
    expect(s3.pid).to.equal(pid);
    expect(s3.restarts).to.equal(0);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "a/image.bin" }));
    expect(await got.Body!.transformToString()).to.equal("firmware bytes");
  });

  it("starts the child again on the same endpoint when it dies, and logs it", async () => {
    const pid = s3.pid!;
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 300 && (s3.restarts < 1 || s3.pid === undefined); i++) await sleep(100);
    expect(s3.restarts).to.equal(1);
    expect(s3.pid).to.be.a("number").and.not.equal(pid);
    expect(logged.some((l) => l.level === "error" && /ended/.test(l.msg ?? "") && (l.obj as { signal?: string }).signal === "SIGKILL")).to.equal(true);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "a/image.bin" }));
    expect(await got.Body!.transformToString()).to.equal("firmware bytes");
    // The multipart upload path the SDK uses for artifacts still works after the restart.
    const stored = await store.put("b/large.bin", Readable.from([Buffer.alloc(6 * 1024 * 1024, 7)]));
    expect(stored.size).to.equal(6 * 1024 * 1024);
  });

  it("stops the child with stop()", async () => {
    const pid = s3.pid!;
    await s3.stop();
    expect(() => process.kill(pid, 0)).to.throw();
  });
});
