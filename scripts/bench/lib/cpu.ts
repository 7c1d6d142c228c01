// CPU accounting for benchmarks, read from /proc: the benchmarks share 2 cores with everything they start, so a
// latency alone does not say whether a change saved work or only moved it. Snapshots before and after a window
// give each part's CPU per unit of work, which stays comparable across machines and noisy runs.
import { readdir, readFile } from "node:fs/promises";

/** Linux reports process times in clock ticks; USER_HZ is 100 on every architecture Node supports. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  parent: number;
  /** user + system, in seconds */
  cpu: number;
}

async function procStat(pid: number): Promise<ProcStat | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: the fields after it start past the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pid, parent: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
  } catch {
    return undefined; // gone since it was listed
  }
}

async function allProcesses(): Promise<ProcStat[]> {
  const pids = (await readdir("/proc")).filter((entry) => /^\d+$/.test(entry)).map(Number);
  return (await Promise.all(pids.map(procStat))).filter((p): p is ProcStat => p !== undefined);
}

/** CPU time (user + system) of a process so far, in seconds; 0 once it is gone. */
export async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  return (await procStat(pid))?.cpu ?? 0;
}

/** The postmaster and every backend it forked. */
export async function postgresCpu(postmaster: number): Promise<number> {
  let sum = 0;
  for (const p of await allProcesses()) if (p.pid === postmaster || p.parent === postmaster) sum += p.cpu;
  return sum;
}

/** Names the part of the benchmark a process belongs to from its command line, or undefined to skip it. */
export type Classifier = (commandLine: string, pid: number) => string | undefined;

export interface CpuSnapshot {
  at: number;
  /** CPU seconds so far per part, summed over that part's live processes */
  parts: Map<string, number>;
  /** seconds the whole machine was busy (all cores, all processes) since boot */
  machineBusy: number;
}

async function commandLine(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return raw.replaceAll("\0", " ").trim();
}

async function machineBusySeconds(): Promise<number> {
  // First line of /proc/stat: "cpu user nice system idle iowait irq softirq steal ..."; idle and iowait are not busy.
  const [, ...ticks] = (await readFile("/proc/stat", "utf8")).split("\n")[0]!.trim().split(/\s+/).map(Number);
  const busy = ticks.reduce((sum, t, i) => (i === 3 || i === 4 ? sum : sum + t), 0);
  return busy / TICKS_PER_SECOND;
}

/**
 * CPU so far of this process and every descendant of it, summed per part. Only descendants count, so that
 * another benchmark or test on the same machine does not leak into the figures.
 */
export async function cpuSnapshot(classify: Classifier): Promise<CpuSnapshot> {
  const processes = await allProcesses();
  const children = new Map<number, number[]>();
  for (const p of processes) children.set(p.parent, [...(children.get(p.parent) ?? []), p.pid]);
  const descendants = new Set<number>([process.pid]);
  for (const pid of descendants) for (const child of children.get(pid) ?? []) descendants.add(child);
  const parts = new Map<string, number>();
  for (const p of processes) {
    if (!descendants.has(p.pid)) continue;
    const part = classify(await commandLine(p.pid), p.pid);
    if (part !== undefined) parts.set(part, (parts.get(part) ?? 0) + p.cpu);
  }
  return { at: Date.now(), parts, machineBusy: await machineBusySeconds() };
}

export interface CpuReportLine {
  part: string;
  seconds: number;
  microsPerUnit: number;
}

export interface CpuReport {
  windowSeconds: number;
  lines: CpuReportLine[];
  totalSeconds: number;
  totalMicrosPerUnit: number;
  /** machine busy time over the window, and what the cores could have given */
  machineBusySeconds: number;
  capacitySeconds: number;
}

/**
 * Per-part CPU between two snapshots, and per unit of work. A process that ended inside the window loses its
 * CPU from the "after" sum, so parts are floored at zero rather than reported negative.
 */
export function cpuReport(before: CpuSnapshot, after: CpuSnapshot, units: number, cores: number): CpuReport {
  const windowSeconds = (after.at - before.at) / 1000;
  const names = [...new Set([...before.parts.keys(), ...after.parts.keys()])];
  const lines = names
    .map((part) => {
      const seconds = Math.max(0, (after.parts.get(part) ?? 0) - (before.parts.get(part) ?? 0));
      return { part, seconds, microsPerUnit: (seconds / units) * 1e6 };
    })
    .sort((a, b) => b.seconds - a.seconds);
  const totalSeconds = lines.reduce((sum, l) => sum + l.seconds, 0);
  return {
    windowSeconds,
    lines,
    totalSeconds,
    totalMicrosPerUnit: (totalSeconds / units) * 1e6,
    machineBusySeconds: after.machineBusy - before.machineBusy,
    capacitySeconds: windowSeconds * cores,
  };
}
