// sw-description in libconfig syntax, from a typed description. Every image carries its sha256,
// and hardware-compatibility is mandatory: Debian's swupdate refuses an update without either.
export interface SwuImage {
  filename: string;
  /** Handler: raw, ubivol, archive, rawfile, ... */
  type?: string;
  device?: string;
  volume?: string;
  path?: string;
  compressed?: string;
  installedDirectly?: boolean;
  /** Filled in by the builder from the streamed hash of the file. */
  sha256?: string;
}

export interface SwuDescription {
  version: string;
  description?: string;
  hardwareCompatibility: string[];
  images: SwuImage[];
}

const quote = (value: string): string => `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

function imageBlock(image: SwuImage): string {
  if (!image.sha256) throw new Error(`image ${image.filename} has no sha256`);
  const lines = [`filename = ${quote(image.filename)};`];
  if (image.type) lines.push(`type = ${quote(image.type)};`);
  if (image.device) lines.push(`device = ${quote(image.device)};`);
  if (image.volume) lines.push(`volume = ${quote(image.volume)};`);
  if (image.path) lines.push(`path = ${quote(image.path)};`);
  if (image.compressed) lines.push(`compressed = ${quote(image.compressed)};`);
  if (image.installedDirectly) lines.push("installed-directly = true;");
  lines.push(`sha256 = ${quote(image.sha256)};`);
  return `\t\t{\n${lines.map((line) => `\t\t\t${line}`).join("\n")}\n\t\t}`;
}

export function renderSwDescription(description: SwuDescription): string {
  if (description.hardwareCompatibility.length === 0) throw new Error("hardware-compatibility needs at least one revision");
  if (description.images.length === 0) throw new Error("an update needs at least one image");
  const lines = ["software =", "{", `\tversion = ${quote(description.version)};`];
  if (description.description) lines.push(`\tdescription = ${quote(description.description)};`);
  lines.push(`\thardware-compatibility = [ ${description.hardwareCompatibility.map(quote).join(", ")} ];`);
  lines.push("\timages: (", description.images.map(imageBlock).join(",\n"), "\t);", "};", "");
  return lines.join("\n");
}

/**
 * A hand-written sw-description may use meta-swupdate's `$swupdate_get_sha256(file)` placeholder;
 * it is replaced by the file's hash so the same templates work here and in Yocto builds.
 */
export function fillSha256Placeholders(text: string, hashes: Map<string, string>): string {
  return text.replace(/\$swupdate_get_sha256\(([^)]+)\)/g, (_match, name: string) => {
    const hash = hashes.get(name.trim());
    if (!hash) throw new Error(`sw-description asks for the sha256 of ${name.trim()}, which is not among the images`);
    return hash;
  });
}
