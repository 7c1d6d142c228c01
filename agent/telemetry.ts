// Telemetry collectors: uptime, load, memory, disk and (when the board has a sensor) temperature,
// read from /proc and statfs; published at the configured interval. A collector that cannot read
// its source leaves its metrics out instead of failing the others.
import { readFile, statfs } from "node:fs/promises";
import { readdir } from "node:fs/promises";
import { loadavg, uptime } from "node:os";

export type Metrics = Record<string, number | string | boolean>;

async function memory(): Promise<Metrics> {
  const text = await readFile("/proc/meminfo", "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1]);
  const out: Metrics = {};
  const total = kb("MemTotal");
  const available = kb("MemAvailable");
  if (Number.isFinite(total)) out.memTotalKb = total;
  if (Number.isFinite(available)) out.memAvailableKb = available;
  return out;
}

async function disk(path: string): Promise<Metrics> {
  const s = await statfs(path);
  const total = s.blocks * s.bsize;
  const free = s.bavail * s.bsize;
  return { diskTotalBytes: total, diskFreeBytes: free, diskUsedPercent: total > 0 ? Math.round(((total - free) / total) * 1000) / 10 : 0 };
}

/** The given sensor file, or the first thermal zone; millidegrees → °C. */
async function temperature(path?: string): Promise<Metrics> {
  let file = path;
  if (!file) {
    const zones = (await readdir("/sys/class/thermal").catch(() => [] as string[])).filter((z) => z.startsWith("thermal_zone")).sort();
    if (zones.length === 0) return {};
    file = `/sys/class/thermal/${zones[0]}/temp`;
  }
  const raw = Number((await readFile(file, "utf8")).trim());
  if (!Number.isFinite(raw)) return {};
  return { temperatureC: Math.abs(raw) > 1000 ? Math.round(raw / 100) / 10 : raw };
}

export async function collect(collectors: string[], options: { diskPath: string; temperaturePath?: string }): Promise<Metrics> {
  const parts: Record<string, () => Promise<Metrics>> = {
    uptime: async () => ({ uptimeSeconds: Math.round(uptime()) }),
    load: async () => {
      const [l1, l5, l15] = loadavg();
      return { load1: l1, load5: l5, load15: l15 };
    },
    memory,
    disk: () => disk(options.diskPath),
    temperature: () => temperature(options.temperaturePath),
  };
  const metrics: Metrics = {};
  for (const name of collectors) {
    try {
      Object.assign(metrics, await parts[name]?.());
    } catch {
      // source not present on this board
    }
  }
  return metrics;
}
