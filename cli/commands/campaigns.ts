// `aerie campaigns list|show|create|preview|start|pause|resume|stop|retry|approve|deny|watch` over the REST API.
// `watch ID` redraws per-group progress until the campaign ends: exit 0 finished, 1 failed (aborted, stopped,
// denied, or finished with failed devices).
import { client, need, output, parse, runCommand } from "../lib/operator.js";

export const summary = "Campaigns: list, show ID, create, preview, start|pause|resume|stop|retry|approve|deny ID, watch ID (exit 0 finished, 1 failed/stopped)";

const HELP = `Usage: aerie campaigns <action> [options]
  list                              every campaign
  show ID                           progress per group and device
  create --name N --release ID --selection RSQL [--groups N | --stages 10,50,100] [--approval] [--start]
  preview --release ID --selection RSQL [--groups N | --stages …]   who would be selected or left out, and why
  start|pause|resume|stop|retry|approve|deny ID
  watch ID [--interval SECONDS]     live per-group progress until the campaign ends`;

const COMMANDS = ["start", "pause", "resume", "stop", "retry", "approve", "deny"];
const ENDED_OK = ["finished"];
const ENDED_BAD = ["aborted", "stopped", "denied"];

interface Campaign {
  id: string; name: string; status: string; pausedBy: string | null; statusReason: string | null;
  progress: { devices: number; byStatus: Record<string, number>; groups: { name: string; status?: string; totalTargets?: number; byStatus?: Record<string, number> }[] };
}

function render(c: Campaign): string {
  const lines = [`${c.name}  ${c.status}${c.pausedBy ? ` (paused by ${c.pausedBy})` : ""}${c.statusReason ? `: ${c.statusReason}` : ""}`];
  lines.push(`  devices: ${c.progress.devices}  ${Object.entries(c.progress.byStatus).map(([s, n]) => `${s} ${n}`).join("  ")}`);
  for (const g of c.progress.groups) {
    const by = g.byStatus ?? {};
    const total = g.totalTargets ?? 0;
    const done = (by.finished ?? 0) + (by.error ?? 0) + (by.cancelled ?? 0);
    const width = 30;
    const filled = total > 0 ? Math.round((done / total) * width) : 0;
    lines.push(`  ${g.name.padEnd(20)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${g.status ?? ""}${by.error ? `  ${by.error} failed` : ""}`);
  }
  return lines.join("\n");
}

function body(values: Record<string, unknown>, withName: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { releaseId: need(values.release as string | undefined, "--release"), selection: need(values.selection as string | undefined, "--selection") };
  if (withName) out.name = need(values.name as string | undefined, "--name");
  if (values.groups) out.groups = Number(values.groups);
  if (values.stages) out.stages = String(values.stages).split(",").map(Number);
  if (values.approval) out.approval = true;
  if (values.start) out.start = true;
  return out;
}

export function run(args: string[]): Promise<number> {
  return runCommand("campaigns", HELP, args, async () => {
    const { values, positionals } = parse(args, {
      name: { type: "string" }, release: { type: "string" }, selection: { type: "string" }, groups: { type: "string" }, stages: { type: "string" },
      approval: { type: "boolean" }, start: { type: "boolean" }, interval: { type: "string", default: "1" },
    });
    const api = client(values);
    const [action, id] = positionals;
    if (action === "list") {
      output(await api.request("GET", "/api/v1/campaigns"), values.json, ["id", "name", "status", "createdAt", "finishedAt"]);
      return 0;
    }
    if (action === "show") {
      const c = await api.request<Campaign>("GET", `/api/v1/campaigns/${need(id, "ID")}`);
      if (values.json) output(c, true);
      else console.log(render(c));
      return 0;
    }
    if (action === "create") {
      output(await api.request("POST", "/api/v1/campaigns", body(values, true)), values.json);
      return 0;
    }
    if (action === "preview") {
      const p = await api.request<{ selected: { total: number; devices: { controllerId: string }[] }; excluded: { total: number; devices: { controllerId: string; reason: string }[] } }>("POST", "/api/v1/campaigns/preview", body(values, false));
      if (values.json) output(p, true);
      else {
        console.log(`${p.selected.total} selected: ${p.selected.devices.map((d) => d.controllerId).join(", ")}`);
        console.log(`${p.excluded.total} left out:`);
        for (const d of p.excluded.devices) console.log(`  ${d.controllerId}: ${d.reason}`);
      }
      return 0;
    }
    if (action && COMMANDS.includes(action)) {
      const c = await api.request<Campaign>("POST", `/api/v1/campaigns/${need(id, "ID")}/${action}`);
      if (values.json) output(c, true);
      else console.log(`${c.name}: ${c.status}`);
      return 0;
    }
    if (action === "watch") {
      const intervalMs = Math.max(0.2, Number(values.interval) || 1) * 1000;
      const tty = process.stdout.isTTY && !values.json;
      let previous = "";
      for (;;) {
        const c = await api.request<Campaign>("GET", `/api/v1/campaigns/${need(id, "ID")}`);
        const text = values.json ? JSON.stringify({ status: c.status, progress: c.progress }) : render(c);
        if (text !== previous) {
          // On a terminal the block is redrawn in place; in a pipe each change is printed once.
          if (tty && previous) process.stdout.write(`\x1b[${previous.split("\n").length}F\x1b[J`);
          console.log(text);
          previous = text;
        }
        const failedDevices = Object.entries(c.progress.byStatus).some(([s, n]) => ["failure", "error"].includes(s) && n > 0);
        if (ENDED_OK.includes(c.status)) return failedDevices ? 1 : 0;
        if (ENDED_BAD.includes(c.status)) return 1;
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    }
    console.error(`aerie campaigns: unknown action ${action}\n\n${HELP}`);
    return 2;
  });
}
