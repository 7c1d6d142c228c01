// Installed versions from a versions file: SWUpdate's /etc/sw-versions format ("name version" per
// line) or a JSON object. Missing or unreadable = none.
import { readFile } from "node:fs/promises";

export async function readVersions(path: string | undefined): Promise<Record<string, string>> {
  if (!path) return {};
  let text: string;
  try {
    text = (await readFile(path, "utf8")).trim();
  } catch {
    return {};
  }
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === "string").map(([k, v]) => [k.slice(0, 64), (v as string).slice(0, 128)]).slice(0, 31));
    } catch {
      return {};
    }
  }
  const versions: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const [name, version] = line.trim().split(/\s+/);
    if (name && version && !name.startsWith("#") && Object.keys(versions).length < 31) versions[name.slice(0, 64)] = version.slice(0, 128);
  }
  return versions;
}
