// Runs the real Debian verifiers. Each swupdate check gets a private TMPDIR so checks can run in
// parallel; a non-zero exit without an [ERROR] line is a known swupdate race and is retried, and so
// is a check that hangs (seen once in a full run), which is killed after 30 s.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ToolResult {
  ok: boolean;
  output: string;
}

function exec(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, maxBuffer: 64 * 1024 * 1024, timeout: 30_000, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

export async function swupdateCheck(swu: string, trustPem: string, hardware = "aerie-board:1.0"): Promise<ToolResult> {
  let last = { code: 1, output: "" };
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = await mkdtemp(join(tmpdir(), "aerie-swupdate-"));
    try {
      last = await exec("swupdate", ["-c", "-v", "-i", swu, "-k", trustPem, "-H", hardware], { ...process.env, TMPDIR: tmp });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    if (/\[ERROR\]/.test(last.output)) return { ok: false, output: last.output };
    if (last.code === 0) return { ok: true, output: last.output };
  }
  return { ok: false, output: last.output };
}

export async function raucInfo(bundle: string, keyring: string): Promise<ToolResult> {
  const result = await exec("rauc", ["info", `--keyring=${keyring}`, bundle]);
  return { ok: result.code === 0, output: result.output };
}

export async function raucExtract(bundle: string, keyring: string, into: string): Promise<ToolResult> {
  const result = await exec("rauc", ["extract", `--keyring=${keyring}`, bundle, into]);
  return { ok: result.code === 0, output: result.output };
}

export async function run(command: string, args: string[]): Promise<ToolResult> {
  const result = await exec(command, args);
  return { ok: result.code === 0, output: result.output };
}
