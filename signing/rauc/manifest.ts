// RAUC manifest (GKeyFile syntax). Each image entry needs sha256 and size; a verity bundle's
// manifest gets its verity-* keys only in the CMS copy, never in the squashfs copy.
export interface RaucImage {
  /** Slot class, e.g. "rootfs" → [image.rootfs]. */
  slotClass: string;
  filename: string;
  sha256?: string;
  size?: number;
}

export interface RaucManifest {
  compatible: string;
  version: string;
  description?: string;
  build?: string;
  images: RaucImage[];
}

const value = (text: string): string => {
  if (/[\n\r]/.test(text)) throw new Error("manifest values cannot span lines");
  return text.replace(/\\/g, "\\\\");
};

export function renderManifest(manifest: RaucManifest, format: "plain" | "verity"): string {
  const lines = ["[update]", `compatible=${value(manifest.compatible)}`, `version=${value(manifest.version)}`];
  if (manifest.description) lines.push(`description=${value(manifest.description)}`);
  if (manifest.build) lines.push(`build=${value(manifest.build)}`);
  lines.push("", "[bundle]", `format=${format}`);
  for (const image of manifest.images) {
    if (!image.sha256 || image.size === undefined) throw new Error(`image ${image.filename} has no sha256/size`);
    if (!/^[\w.-]+$/.test(image.slotClass)) throw new Error(`invalid slot class '${image.slotClass}'`);
    lines.push("", `[image.${image.slotClass}]`, `filename=${value(image.filename)}`, `sha256=${image.sha256}`, `size=${image.size}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Adds keys to the [bundle] group (created when missing), replacing any earlier values. */
export function withBundleKeys(manifest: string, keys: Record<string, string>): string {
  const lines = manifest.replace(/\r\n/g, "\n").split("\n");
  const names = new Set(Object.keys(keys));
  let start = lines.findIndex((line) => line.trim() === "[bundle]");
  if (start < 0) {
    if (lines[lines.length - 1] === "") lines.pop();
    lines.push("", "[bundle]");
    start = lines.length - 1;
  }
  let end = start + 1;
  while (end < lines.length && !lines[end].trim().startsWith("[")) end++;
  const group = lines.slice(start + 1, end).filter((line) => !names.has(line.split("=")[0].trim()));
  while (group.length > 0 && group[group.length - 1].trim() === "") group.pop();
  const added = Object.entries(keys).map(([key, val]) => `${key}=${val}`);
  const tail = lines.slice(end);
  const rebuilt = [...lines.slice(0, start + 1), ...group, ...added, ...(tail.length > 0 ? ["", ...tail] : [])];
  return `${rebuilt.join("\n").replace(/\n+$/, "")}\n`;
}
