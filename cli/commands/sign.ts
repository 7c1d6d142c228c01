// `aerie sign`: sign an artifact's digest, build a signed .swu, or build/re-sign a RAUC bundle,
// always through a Vault transit key.
import { parseArgs } from "node:util";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { signArtifact } from "../../signing/artifact.js";
import { UsageError, VAULT_HELP, VAULT_OPTIONS, algorithmFor, integerOption, progressFor, transitFromOptions } from "../../signing/cli/common.js";
import { transitCmsSigner } from "../../signing/cms/transit-cms-signer.js";
import { buildRaucBundle, resignRaucBundle, type RaucSource } from "../../signing/rauc/bundle.js";
import { buildSwu, type SwuSignatureMode } from "../../signing/swu/build.js";
import type { SwuImage } from "../../signing/swu/sw-description.js";

export const summary = "Sign artifacts through Vault transit: file digests, SWUpdate .swu, RAUC bundles";

const HELP = `Usage: aerie sign <file|swu|rauc> [options]

aerie sign file FILE --key NAME [--algorithm A] [--key-version N]
    Prints {keyName, keyVersion, algorithm, signature, sha256, size} as JSON.

aerie sign swu --key NAME --output OUT.swu --image FILE[,device=DEV][,type=T] ... [--algorithm A] [--mode cms|raw-rsa|rsa-pss]
        (--sw-description FILE | --version V --hw REV [--hw REV ...] [--description TEXT])
    CMS (default) embeds the key version's certificate; raw-rsa/rsa-pss suit SIGALG_RAWRSA/RSAPSS builds.
    A given sw-description may use "$swupdate_get_sha256(FILE)" placeholders.

aerie sign rauc --format plain|verity --key NAME --output OUT.raucb [--algorithm A]
        (--dir DIR [--compatible C --version V --slot CLASS=FILE ...] | --squashfs FILE [--manifest FILE] | --resign BUNDLE)
    Without --compatible, DIR must contain its own manifest.raucm.

Common:
  --algorithm A      rsa-pkcs1v15 | rsa-pss | ecdsa-p256 (default: rsa-pkcs1v15 for an RSA key,
                     ecdsa-p256 for an EC key)
  --key-version N    pin a key version (default: latest)
  --certificate FILE PEM chain to embed instead of the one stored in Vault for the key version
${VAULT_HELP}`;

const OPTIONS = {
  ...VAULT_OPTIONS,
  algorithm: { type: "string" },
  "key-version": { type: "string" },
  certificate: { type: "string" },
  output: { type: "string", short: "o" },
  image: { type: "string", multiple: true },
  mode: { type: "string" },
  "sw-description": { type: "string" },
  version: { type: "string" },
  hw: { type: "string", multiple: true },
  description: { type: "string" },
  format: { type: "string" },
  dir: { type: "string" },
  compatible: { type: "string" },
  slot: { type: "string", multiple: true },
  squashfs: { type: "string" },
  manifest: { type: "string" },
  resign: { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

function imageSpec(spec: string): { path: string; image: Omit<SwuImage, "sha256"> } {
  const [path, ...settings] = spec.split(",");
  const image: Omit<SwuImage, "sha256"> = { filename: basename(path), type: "raw" };
  for (const setting of settings) {
    const [key, value] = setting.split("=");
    if (key === "device") image.device = value;
    else if (key === "type") image.type = value;
    else throw new UsageError(`unknown image setting '${setting}' (use device= or type=)`);
  }
  return { path, image };
}

async function cmsSigner(values: Values) {
  const transit = transitFromOptions(values);
  const algorithm = await algorithmFor(values.algorithm, transit);
  const certificateChainPem = values.certificate ? await readFile(values.certificate, "utf8") : undefined;
  return transitCmsSigner(transit, { algorithm, keyVersion: integerOption(values["key-version"], "--key-version"), certificateChainPem });
}

async function signFile(values: Values, positionals: string[]): Promise<number> {
  const file = positionals[1];
  if (!file) throw new UsageError("sign file needs a FILE");
  const transit = transitFromOptions(values);
  const progress = await progressFor([file]);
  try {
    const record = await signArtifact(transit, file, {
      algorithm: await algorithmFor(values.algorithm, transit),
      keyVersion: integerOption(values["key-version"], "--key-version"),
      onProgress: progress.onProgress,
    });
    progress.stop();
    console.log(JSON.stringify(record, null, 2));
    return 0;
  } finally {
    progress.stop();
  }
}

async function signSwu(values: Values): Promise<number> {
  if (!values.output) throw new UsageError("--output is required");
  if (!values.image?.length) throw new UsageError("at least one --image is required");
  const mode = (values.mode ?? "cms") as SwuSignatureMode;
  if (!["cms", "raw-rsa", "rsa-pss"].includes(mode)) throw new UsageError("--mode must be cms, raw-rsa or rsa-pss");
  const specs = values.image.map(imageSpec);
  let description;
  if (values["sw-description"]) description = { text: await readFile(values["sw-description"], "utf8") };
  else {
    if (!values.version || !values.hw?.length) throw new UsageError("give --sw-description, or --version and --hw");
    description = { version: values.version, description: values.description, hardwareCompatibility: values.hw, images: specs.map((spec) => spec.image) };
  }
  const paths = specs.map((spec) => spec.path);
  const progress = await progressFor(paths, 2);
  try {
    const transit = transitFromOptions(values);
    const keyVersion = integerOption(values["key-version"], "--key-version");
    const result = await buildSwu({
      output: values.output,
      images: paths,
      description,
      mode,
      cmsSigner: mode === "cms" ? await cmsSigner(values) : undefined,
      digestSigner: mode === "cms" ? undefined : { sign: (digest, algorithm) => transit.sign(digest, { algorithm, keyVersion }) },
      onProgress: progress.onProgress,
    });
    progress.stop();
    console.log(`${values.output}: ${result.bytes} bytes, signed (${mode}) with transit key '${transit.keyName}'`);
    return 0;
  } finally {
    progress.stop();
  }
}

async function signRauc(values: Values): Promise<number> {
  if (!values.output) throw new UsageError("--output is required");
  const signer = await cmsSigner(values);
  if (values.resign) {
    const progress = await progressFor([values.resign]);
    try {
      const { format } = await resignRaucBundle({ input: values.resign, output: values.output, signer, onProgress: progress.onProgress });
      progress.stop();
      console.log(`${values.output}: ${format} bundle re-signed with key version ${signer.keyVersion}`);
      return 0;
    } finally {
      progress.stop();
    }
  }
  const format = values.format;
  if (format !== "plain" && format !== "verity") throw new UsageError("--format must be plain or verity");
  let source: RaucSource;
  if (values.dir) {
    let manifest;
    if (values.compatible) {
      if (!values.version || !values.slot?.length) throw new UsageError("--compatible needs --version and at least one --slot CLASS=FILE");
      const images = values.slot.map((slot) => {
        const [slotClass, filename] = slot.split("=");
        if (!slotClass || !filename) throw new UsageError(`--slot '${slot}' is not CLASS=FILE`);
        return { slotClass, filename };
      });
      manifest = { compatible: values.compatible, version: values.version, description: values.description, images };
    }
    source = { directory: values.dir, manifest };
  } else if (values.squashfs) {
    source = { squashfs: values.squashfs, manifestText: values.manifest ? await readFile(values.manifest, "utf8") : undefined };
  } else {
    throw new UsageError("give --dir, --squashfs or --resign");
  }
  const progress = await progressFor(values.squashfs ? [values.squashfs] : []);
  try {
    const result = await buildRaucBundle({ output: values.output, format, source, signer, onProgress: progress.onProgress });
    progress.stop();
    console.log(`${values.output}: ${format} bundle, ${result.bytes} bytes, key version ${signer.keyVersion}`);
    return 0;
  } finally {
    progress.stop();
  }
}

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    console.error(`aerie sign: ${(error as Error).message}\nRun \`aerie sign --help\` for usage.`);
    return 2;
  }
  const { values, positionals } = parsed;
  const kind = positionals[0];
  if (values.help || !kind) {
    (values.help ? console.log : console.error)(HELP);
    return values.help ? 0 : 2;
  }
  try {
    if (kind === "file") return await signFile(values, positionals);
    if (kind === "swu") return await signSwu(values);
    if (kind === "rauc") return await signRauc(values);
    throw new UsageError(`unknown target '${kind}' (file, swu or rauc)`);
  } catch (error) {
    console.error(`aerie sign: ${(error as Error).message}`);
    if (error instanceof UsageError) console.error("Run `aerie sign --help` for usage.");
    return error instanceof UsageError ? 2 : 1;
  }
}
