// Credentials for the embedded services, generated once and kept in DATA_DIR/secrets.json (0600) so
// that a restart finds the same database password, tokens and keys.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface EmbeddedSecrets {
  postgresPassword: string;
  hawkbitPassword: string;
  hawkbitGatewayToken: string;
  vaultToken: string;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
}

const generate = (): string => randomBytes(24).toString("base64url");

export async function loadEmbeddedSecrets(dataDir: string): Promise<EmbeddedSecrets> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, "secrets.json");
  const stored: Partial<EmbeddedSecrets> = existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : {};
  const secrets: EmbeddedSecrets = {
    // Keys other parts keep here (the bootstrap admin token, api/auth/bootstrap.ts) are left as they are.
    ...stored,
    postgresPassword: stored.postgresPassword ?? generate(),
    hawkbitPassword: stored.hawkbitPassword ?? generate(),
    hawkbitGatewayToken: stored.hawkbitGatewayToken ?? generate(),
    vaultToken: stored.vaultToken ?? `hvs.${generate()}`,
    // The embedded S3 endpoint checks every request's signature against these. s3rver's well-known
    // S3RVER/S3RVER pair, which earlier versions stored here, is replaced.
    s3AccessKeyId: stored.s3AccessKeyId && stored.s3AccessKeyId !== "S3RVER" ? stored.s3AccessKeyId : `AERIE${randomBytes(8).toString("hex").toUpperCase()}`,
    s3SecretAccessKey: stored.s3SecretAccessKey && stored.s3SecretAccessKey !== "S3RVER" ? stored.s3SecretAccessKey : generate(),
  };
  if (JSON.stringify(stored) !== JSON.stringify(secrets)) {
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    await rename(temp, file);
  }
  await chmod(file, 0o600);
  return secrets;
}
