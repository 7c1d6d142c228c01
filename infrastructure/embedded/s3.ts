// Embedded S3 endpoint (s3rver) for development and tests, in a child process (./s3-child.ts) that
// this module supervises: a crash there (s3rver is no longer maintained, and one malformed request
// could once take the whole of Aerie down, CVE-2022-24434) is logged with the child's last output
// and the child is started again on the same port, with a growing delay if it keeps crashing.
// Every request must carry a valid Signature V4 made with Aerie's S3 keys (./s3-sigv4.ts).
// Aerie itself only speaks S3 through the AWS SDK (core/storage), so the same code runs against
// MinIO or AWS; the bucket is created by Aerie through the SDK, not by s3rver's own bucket option.
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { logger, type Logger } from "../../core/log.js";
import type { StartMessage } from "./s3-child.js";
import type { S3Credentials } from "./s3-sigv4.js";

export interface EmbeddedS3Options {
  dataDir: string;
  host: string;
  port: number;
  credentials: S3Credentials;
  log?: Logger;
}

export interface EmbeddedS3 {
  endpoint: string;
  /** Pid of the current child process. */
  readonly pid: number | undefined;
  /** How many times the child was started again after it ended on its own. */
  readonly restarts: number;
  stop(): Promise<void>;
}

/** A listen error of the child, e.g. EADDRINUSE, with the port it could not take. */
export class EmbeddedS3ListenError extends Error {
  constructor(readonly code: string | undefined, readonly host: string, readonly port: number, message: string) {
    super(`embedded S3 could not listen on ${host}:${port}: ${message}`);
  }
}

const CHILD = fileURLToPath(new URL("./s3-child.ts", import.meta.url));
// tsx's loader, resolved from this file so that the working directory does not matter.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const STDERR_TAIL_BYTES = 4096;

/** Starts one child and resolves with it and its port once it listens. */
function spawnChild(message: StartMessage, onStderr: (chunk: Buffer) => void): Promise<{ child: ChildProcess; port: number }> {
  // The child is TypeScript and runs through tsx's loader; --enable-source-maps keeps its stack
  // traces readable in our log.
  const child = fork(CHILD, [], {
    execArgv: ["--import", TSX_LOADER, "--enable-source-maps"],
    stdio: ["ignore", "inherit", "pipe", "ipc"],
    serialization: "json",
  });
  child.stderr!.on("data", onStderr);
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) => reject(new Error(`embedded S3 exited during start (code ${code}, signal ${signal})`));
    child.once("exit", onExit);
    child.on("message", (reply: { type: string; port?: number; code?: string; message?: string }) => {
      if (reply.type === "ready") {
        child.off("exit", onExit);
        resolve({ child, port: reply.port! });
      } else if (reply.type === "error") {
        child.off("exit", onExit);
        child.kill("SIGKILL");
        reject(new EmbeddedS3ListenError(reply.code, message.host, message.port, reply.message ?? "listen failed"));
      }
    });
    child.send(message);
  });
}

export async function startEmbeddedS3(options: EmbeddedS3Options): Promise<EmbeddedS3> {
  const log = options.log ?? logger("s3");
  const message: StartMessage = { type: "start", host: options.host, port: options.port, directory: join(options.dataDir, "s3"), credentials: options.credentials };
  let stderrTail = "";
  const onStderr = (chunk: Buffer) => {
    process.stderr.write(chunk);
    stderrTail = (stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
  };

  let stopping = false;
  let restarts = 0;
  let current = await spawnChild(message, onStderr);
  // Restarts reuse the first port, so the endpoint (and presigned URLs already handed out) stay valid.
  message.port = current.port;
  log.info({ port: current.port, pid: current.child.pid }, "embedded S3 (s3rver) ready");

  const supervise = (child: ChildProcess) => {
    child.once("exit", (code, signal) => {
      if (stopping) return;
      const startedAt = Date.now();
      log.error({ pid: child.pid, code, signal, stderr: stderrTail.trim() || undefined }, "embedded S3 process ended; starting it again");
      stderrTail = "";
      void (async () => {
        for (let attempt = 0; !stopping; attempt++) {
          await sleep(Math.min(200 * 2 ** attempt, 10_000));
          if (stopping) return;
          try {
            current = await spawnChild(message, onStderr);
            restarts++;
            if (stopping) {
              current.child.kill("SIGTERM");
              return;
            }
            log.warn({ pid: current.child.pid, port: current.port, attempt: attempt + 1, downMs: Date.now() - startedAt }, "embedded S3 process started again");
            supervise(current.child);
            return;
          } catch (error) {
            log.error({ err: (error as Error).message, attempt: attempt + 1 }, "embedded S3 did not start again; retrying");
          }
        }
      })();
    });
  };
  supervise(current.child);

  return {
    endpoint: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${current.port}`,
    get pid() {
      return current.child.exitCode === null && current.child.signalCode === null ? current.child.pid : undefined;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      stopping = true;
      const child = current.child;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const late = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(late);
      log.info("embedded S3 stopped");
    },
  };
}
