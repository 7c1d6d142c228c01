// Runs a device command (health check, consent hook, reboot, fw_setenv, rauc/swupdate) without a
// shell, with a timeout that kills the whole process group, and keeps the tail of its output for
// reports (feedback details are limited to 1 KiB per line).
import { spawn } from "node:child_process";

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** stdout then stderr, trimmed. */
  output: string;
  error?: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Called with each output line as it arrives (progress parsing). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  signal?: AbortSignal;
  cwd?: string;
}

const KEEP = 256 * 1024;

export function runCommand(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const child = spawn(argv[0], argv.slice(1), { env: options.env ?? process.env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"], detached: true });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const timer = options.timeoutMs ? setTimeout(() => { timedOut = true; killGroup(); }, options.timeoutMs) : undefined;
    const onAbort = () => killGroup();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const collect = (stream: "stdout" | "stderr") => {
      let partial = "";
      return (chunk: Buffer) => {
        const text = chunk.toString("utf8");
        if (stream === "stdout") stdout = (stdout + text).slice(-KEEP);
        else stderr = (stderr + text).slice(-KEEP);
        if (options.onLine) {
          const lines = (partial + text).split(/\r?\n|\r/);
          partial = lines.pop() ?? "";
          for (const line of lines) if (line.trim()) options.onLine(line, stream);
        }
      };
    };
    child.stdout.on("data", collect("stdout"));
    child.stderr.on("data", collect("stderr"));
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
    const finish = (result: Omit<RunResult, "stdout" | "stderr" | "output" | "timedOut">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve({ ...result, timedOut, stdout, stderr, output: `${stdout}${stdout && stderr ? "\n" : ""}${stderr}`.trim() });
    };
    child.on("error", (error) => finish({ code: null, signal: null, error: error.message }));
    child.on("close", (code, signal) => finish({ code, signal }));
  });
}

/** A short, single-line-per-entry account of a command's failure for feedback details. */
export function describeFailure(argv: string[], result: RunResult, maxLines = 12): string[] {
  const head = result.error
    ? `${argv[0]}: ${result.error}`
    : result.timedOut
      ? `${argv[0]}: timed out`
      : `${argv[0]}: exit ${result.code ?? result.signal}`;
  const lines = result.output.split("\n").map((l) => l.trim()).filter(Boolean).slice(-maxLines).map((l) => l.slice(0, 1000));
  return [head, ...lines];
}
