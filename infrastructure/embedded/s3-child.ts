// The embedded S3 endpoint's own process (forked by ./s3.ts): s3rver behind a Signature V4 check.
// It lives apart from Aerie so that a request that crashes s3rver or its parsers ends this process
// only; the parent logs that and starts a new one on the same port.
//
// Protocol with the parent (IPC): the parent sends { type: "start", ... } once; this process answers
// { type: "ready", port } or { type: "error", code, message } and exits on a listen error. It exits
// as soon as the parent goes away (the IPC channel closes), so it never outlives Aerie.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { mkdir } from "node:fs/promises";
import { verifyS3Request, type S3Credentials } from "./s3-sigv4.js";

export interface StartMessage {
  type: "start";
  host: string;
  port: number;
  directory: string;
  credentials: S3Credentials;
}

const require = createRequire(import.meta.url);

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  // The request body (if any) is not read: close the connection instead of draining an upload.
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body), connection: "close" });
  res.end(body);
}

async function start(message: StartMessage): Promise<void> {
  const { default: S3rver } = await import("s3rver");
  // s3rver keeps its accounts in a registry; its well-known S3RVER/S3RVER pair is replaced by Aerie's.
  const { DUMMY_ACCOUNT } = require("s3rver/lib/models/account.js") as {
    DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void };
  };
  DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
  DUMMY_ACCOUNT.createKeyPair(message.credentials.accessKeyId, message.credentials.secretAccessKey);

  await mkdir(message.directory, { recursive: true });
  const s3rver = new S3rver({ directory: message.directory, silent: true });
  const handle = (s3rver as unknown as { callback(): (req: IncomingMessage, res: ServerResponse) => void }).callback();
  const server = createServer((req, res) => {
    verifyS3Request(req, message.credentials).then(
      (verdict) => (verdict.ok ? handle(req, res) : refuse(res, verdict.status, verdict.code, verdict.message)),
      () => refuse(res, 400, "InvalidRequest", "The request could not be checked."),
    );
  });
  server.on("error", (error: NodeJS.ErrnoException) => {
    process.send?.({ type: "error", code: error.code, message: error.message }, () => process.exit(1));
  });
  server.listen(message.port, message.host, () => {
    const address = server.address();
    process.send?.({ type: "ready", port: typeof address === "object" && address ? address.port : message.port });
  });
}

process.once("message", (message: StartMessage) => {
  if (message?.type === "start") void start(message);
});
process.on("disconnect", () => process.exit(0));
