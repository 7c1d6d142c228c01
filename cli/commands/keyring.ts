// `aerie keyring`: manage the transit signing keys (create, inspect, rotate, certify). Private
// keys stay in Vault; only public keys, CSRs and certificate chains pass through here.
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { UsageError, VAULT_HELP, VAULT_OPTIONS, integerOption, transitFromOptions } from "../../signing/cli/common.js";
import type { TransitKeyType } from "../../signing/vault/transit-signer.js";

export const summary = "Manage Vault transit signing keys: create, info, public-key, rotate, csr, set-certificate";

const KEY_TYPES: TransitKeyType[] = ["rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256"];

const HELP = `Usage: aerie keyring <action> --key NAME [options]

Actions:
  create            --type rsa-2048|rsa-3072|rsa-4096|ecdsa-p256 (Ed25519 is refused: OpenSSL 3.0 cannot verify it in CMS)
  info              key type, versions and which versions have a certificate
  public-key        [--version N] [--out FILE]  PEM public key
  rotate            add a key version; prints the new version
  csr               --subject "CN=...,O=..." [--version N] [--out FILE]  PKCS#10 request signed in Vault
  set-certificate   --chain FILE [--version N]  store the CA-signed chain (leaf first)

${VAULT_HELP}`;

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { ...VAULT_OPTIONS, type: { type: "string" }, version: { type: "string" }, out: { type: "string" }, subject: { type: "string" }, chain: { type: "string" } },
    });
  } catch (error) {
    console.error(`aerie keyring: ${(error as Error).message}\nRun \`aerie keyring --help\` for usage.`);
    return 2;
  }
  const { values, positionals } = parsed;
  const action = positionals[0];
  if (values.help || !action) {
    (values.help ? console.log : console.error)(HELP);
    return values.help ? 0 : 2;
  }
  try {
    const transit = transitFromOptions(values);
    const version = integerOption(values.version, "--version");
    const emit = async (text: string): Promise<void> => {
      if (values.out) await writeFile(values.out, text);
      else process.stdout.write(text);
    };
    switch (action) {
      case "create": {
        if (!values.type || !(KEY_TYPES as string[]).includes(values.type)) throw new UsageError(`--type must be one of ${KEY_TYPES.join(", ")}`);
        const info = await transit.ensureKey(values.type as TransitKeyType);
        console.log(`${info.name}: ${info.type}, latest version ${info.latestVersion}`);
        return 0;
      }
      case "info": {
        const info = await transit.keyInfo();
        console.log(`${info.name}: ${info.type}, latest version ${info.latestVersion}, min decryption version ${info.minDecryptionVersion}`);
        for (const [number, entry] of Object.entries(info.versions)) {
          console.log(`  v${number}  created ${entry.creationTime}  ${entry.certificateChain ? "certificate stored" : "no certificate"}`);
        }
        return 0;
      }
      case "public-key":
        await emit((await transit.publicKey(version)).pem);
        return 0;
      case "rotate":
        console.log(`${transit.keyName}: now at version ${await transit.rotate()}`);
        return 0;
      case "csr":
        if (!values.subject) throw new UsageError("--subject is required");
        await emit(await transit.createCsr(values.subject, { keyVersion: version }));
        return 0;
      case "set-certificate":
        if (!values.chain) throw new UsageError("--chain is required");
        await transit.setCertificate(await readFile(values.chain, "utf8"), { keyVersion: version });
        console.log(`${transit.keyName}: certificate chain stored`);
        return 0;
      default:
        throw new UsageError(`unknown action '${action}'`);
    }
  } catch (error) {
    console.error(`aerie keyring: ${(error as Error).message}`);
    if (error instanceof UsageError) console.error("Run `aerie keyring --help` for usage.");
    return error instanceof UsageError ? 2 : 1;
  }
}
