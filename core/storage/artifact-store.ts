// Artifacts in S3: streamed uploads with the sha256 computed on the way, reads, and presigned
// download URLs for devices. Checksum settings are WHEN_REQUIRED because the SDK's default
// aws-chunked framing is stored verbatim by some S3 implementations (s3rver), corrupting objects.
import { createHash } from "node:crypto";
import { PassThrough, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

export interface ArtifactStoreOptions {
  endpoint?: string;
  /** The endpoint as devices reach it; presigned URLs are signed for this host. */
  publicEndpoint?: string;
  region: string;
  bucket: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
  md5: string;
}

export class ArtifactStore {
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly presignClient: S3Client;

  constructor(options: ArtifactStoreOptions) {
    this.bucket = options.bucket;
    this.client = ArtifactStore.client(options, options.endpoint);
    // A presigned URL's signature covers its host, so it must be made for the host devices use.
    this.presignClient = options.publicEndpoint && options.publicEndpoint !== options.endpoint ? ArtifactStore.client(options, options.publicEndpoint) : this.client;
  }

  private static client(options: ArtifactStoreOptions, endpoint: string | undefined): S3Client {
    return new S3Client({
      endpoint,
      region: options.region,
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      credentials:
        options.accessKeyId && options.secretAccessKey
          ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
          : undefined,
    });
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) throw error;
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
  }

  /** Streams `body` to S3 under `key` while hashing it; nothing is buffered whole. */
  async put(key: string, body: Readable, contentType = "application/octet-stream", onProgress?: (bytes: number) => void): Promise<StoredObject> {
    const sha256 = createHash("sha256");
    const md5 = createHash("md5");
    let size = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sha256.update(chunk);
        md5.update(chunk);
        size += chunk.length;
        onProgress?.(size);
        callback(null, chunk);
      },
    });
    const upstream = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: upstream, ContentType: contentType },
      queueSize: 2,
      partSize: 8 * 1024 * 1024,
    });
    await Promise.all([pipeline(body, hashing, upstream), upload.done()]);
    return { key, size, sha256: sha256.digest("hex"), md5: md5.digest("hex") };
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const result = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
    );
    return result.Body as Readable;
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.ContentLength;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  presignDownload(key: string, ttlSeconds: number, filename?: string): Promise<string> {
    return getSignedUrl(
      this.presignClient,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ResponseContentDisposition: filename ? `attachment; filename="${filename.replace(/"/g, "")}"` : undefined,
      }),
      { expiresIn: ttlSeconds },
    );
  }

  destroy(): void {
    this.client.destroy();
    if (this.presignClient !== this.client) this.presignClient.destroy();
  }
}
