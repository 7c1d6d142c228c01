// Parallel-safe resources for tests: a private temp dir and free loopback ports, both cleaned up.
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export { freePort } from "../../core/ports.js";

export async function tempDir(prefix = "aerie-test-"): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  // Embedded PostgreSQL runs as user 'postgres' when tests run as root: it must be able to enter.
  await chmod(path, 0o755);
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
