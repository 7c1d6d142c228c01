// A throwaway PKI for signing tests, built with the openssl CLI (as an operator's CA would be):
// root CA, optional intermediate, and leaf certificates issued from CSRs that Vault produced.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestPki {
  /** PEM of the root CA: the trust anchor for `rauc --keyring`. */
  rootPem: string;
  /** Root plus intermediate: swupdate's -k file must hold intermediates too. */
  trustPem: string;
  /** Issues a code-signing leaf for a CSR; returns leaf + intermediate (if any) as a PEM chain. */
  issue(csrPem: string, options?: { extendedKeyUsage?: string; days?: number }): Promise<string>;
}

const CA_EXTENSIONS = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n";

export async function opensslAvailable(): Promise<boolean> {
  try {
    await run("openssl", ["version"]);
    return true;
  } catch {
    return false;
  }
}

export async function createTestPki(dir: string, options: { intermediate?: boolean } = {}): Promise<TestPki> {
  const file = (name: string): string => join(dir, name);
  await writeFile(file("ca.ext"), CA_EXTENSIONS);
  await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file("root.key"),
    "-out", file("root.pem"), "-days", "3650", "-subj", "/CN=Aerie Test Root CA", "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  let issuer = "root";
  if (options.intermediate) {
    await run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file("int.key"),
      "-out", file("int.csr"), "-subj", "/CN=Aerie Test Intermediate CA"]);
    await run("openssl", ["x509", "-req", "-in", file("int.csr"), "-CA", file("root.pem"), "-CAkey", file("root.key"),
      "-CAcreateserial", "-out", file("int.pem"), "-days", "3650", "-extfile", file("ca.ext")]);
    issuer = "int";
  }
  const rootPem = await readFile(file("root.pem"), "utf8");
  const intermediatePem = options.intermediate ? await readFile(file("int.pem"), "utf8") : "";
  let serial = 0;
  return {
    rootPem,
    trustPem: rootPem + intermediatePem,
    async issue(csrPem, issueOptions = {}) {
      serial++;
      const eku = issueOptions.extendedKeyUsage ?? "emailProtection,codeSigning";
      await writeFile(file(`leaf${serial}.csr`), csrPem);
      await writeFile(file(`leaf${serial}.ext`),
        `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${eku}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`);
      await run("openssl", ["x509", "-req", "-in", file(`leaf${serial}.csr`), "-CA", file(`${issuer}.pem`), "-CAkey", file(`${issuer}.key`),
        "-set_serial", String(1000 + serial), "-out", file(`leaf${serial}.pem`), "-days", String(issueOptions.days ?? 365),
        "-extfile", file(`leaf${serial}.ext`)]);
      return (await readFile(file(`leaf${serial}.pem`), "utf8")) + intermediatePem;
    },
  };
}
