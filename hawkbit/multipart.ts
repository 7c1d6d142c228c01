// A streaming multipart/form-data body with a single file part, so large artifacts never sit in memory.
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";

export interface MultipartBody {
  stream: Readable;
  contentType: string;
  /** Known only when the file size is. */
  contentLength?: number;
}

export function singleFileMultipart(field: string, filename: string, content: Readable | Buffer, size?: number): MultipartBody {
  const boundary = `----aerie${randomBytes(12).toString("hex")}`;
  const safeName = filename.replace(/["\r\n]/g, "_");
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${safeName}"\r\n` +
      "Content-Type: application/octet-stream\r\n\r\n",
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const fileSize = Buffer.isBuffer(content) ? content.length : size;
  async function* parts() {
    yield head;
    if (Buffer.isBuffer(content)) yield content;
    else for await (const chunk of content) yield chunk as Buffer;
    yield tail;
  }
  return {
    stream: Readable.from(parts(), { objectMode: false }),
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: fileSize === undefined ? undefined : head.length + fileSize + tail.length,
  };
}
