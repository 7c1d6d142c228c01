// Embedded S3 endpoint (s3rver) for development and tests. Aerie itself only speaks S3 through the
// AWS SDK (core/storage), so the same code runs against MinIO or AWS; the bucket is created by
// Aerie through the SDK, not by s3rver's own bucket option.
import type { Server } from "node:http";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { logger } from "../../core/log.js";

const log = logger("s3rver");

export interface EmbeddedS3 {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startEmbeddedS3(options: { dataDir: string; host: string; port: number }): Promise<EmbeddedS3> {
  const { default: S3rver } = await import("s3rver");
  const directory = join(options.dataDir, "s3");
  await mkdir(directory, { recursive: true });
  const server = new S3rver({ address: options.host, port: options.port, directory, silent: true });
  const address = (await server.run()) as { port: number };
  const http = (server as unknown as { httpServer: Server }).httpServer;
  log.info({ port: address.port }, "embedded S3 (s3rver) ready");
  return {
    endpoint: `http://${options.host}:${address.port}`,
    async stop() {
      http.closeAllConnections();
      await server.close();
    },
  };
}
