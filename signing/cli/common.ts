// Shared pieces of `aerie sign` and `aerie keyring`: Vault credentials come from the environment
// (VAULT_TOKEN, or VAULT_ROLE_ID + VAULT_SECRET_ID) so they never appear in argv or shell history.
import { stat } from "node:fs/promises";
import cliProgress from "cli-progress";
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from "../verify.js";
import { TransitSigner } from "../vault/transit-signer.js";

export const VAULT_OPTIONS = {
  "vault-addr": { type: "string" },
  mount: { type: "string" },
  key: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const VAULT_HELP = `Vault options:
  --vault-addr URL   Vault address (default: $VAULT_ADDR, else http://127.0.0.1:8200)
  --mount PATH       transit mount (default: transit)
  --key NAME         transit key name (required)
Credentials: $VAULT_TOKEN, or $VAULT_ROLE_ID and $VAULT_SECRET_ID for AppRole.`;

export class UsageError extends Error {}

export function transitFromOptions(values: { "vault-addr"?: string; mount?: string; key?: string }): TransitSigner {
  if (!values.key) throw new UsageError("--key is required");
  const roleId = process.env.VAULT_ROLE_ID;
  const secretId = process.env.VAULT_SECRET_ID;
  const token = process.env.VAULT_TOKEN;
  if (!token && !(roleId && secretId)) throw new UsageError("set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID");
  return new TransitSigner({
    endpoint: values["vault-addr"] ?? process.env.VAULT_ADDR ?? "http://127.0.0.1:8200",
    token: token || undefined,
    appRole: roleId && secretId ? { roleId, secretId } : undefined,
    mount: values.mount,
    keyName: values.key,
  });
}

export function algorithmOption(value: string | undefined, fallback: SignatureAlgorithm): SignatureAlgorithm {
  const algorithm = value ?? fallback;
  if (!(SIGNATURE_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new UsageError(`--algorithm must be one of ${SIGNATURE_ALGORITHMS.join(", ")}`);
  }
  return algorithm as SignatureAlgorithm;
}

/** The algorithm asked for, or the natural one for the key's type (RSA: PKCS#1 v1.5, EC: ECDSA P-256). */
export async function algorithmFor(value: string | undefined, transit: TransitSigner): Promise<SignatureAlgorithm> {
  if (value !== undefined) return algorithmOption(value, "rsa-pkcs1v15");
  const { type } = await transit.keyInfo();
  return type.startsWith("ecdsa") ? "ecdsa-p256" : "rsa-pkcs1v15";
}

export function integerOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new UsageError(`${name} must be a positive integer`);
  return parsed;
}

/** Inputs from 64 MiB up get a progress bar on stderr (only drawn on a terminal). */
const PROGRESS_THRESHOLD = 64 * 1024 * 1024;

export async function progressFor(paths: string[], passes = 1): Promise<{ onProgress?: (bytes: number) => void; stop(): void }> {
  let total = 0;
  for (const path of paths) total += (await stat(path)).size;
  if (total < PROGRESS_THRESHOLD) return { stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: "{bar} {percentage}% | {value}/{total} MiB | ETA {eta}s", hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const mib = (bytes: number): number => Math.floor(bytes / (1024 * 1024));
  bar.start(mib(total * passes), 0);
  return { onProgress: (bytes) => bar.update(mib(bytes)), stop: () => bar.stop() };
}
