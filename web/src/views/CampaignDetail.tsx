import { useState } from "react";
import { fmtTime } from "../api";
import { useLiveEvents, useLoad, useSession } from "../session";

interface Group { id: number; name: string; status?: string; totalTargets?: number; byStatus?: Record<string, number>; devices: number }
interface Campaign {
  id: string; name: string; status: string; statusReason: string | null; pausedBy: string | null; createdAt: string; startedAt: string | null; finishedAt: string | null;
  approvedBy?: string | null;
  progress: { devices: number; byStatus: Record<string, number>; timedOut: number; excluded: number; groups: Group[] };
  devices: { controllerId: string; group: string | null; actionId: number; status: string; detail: string | null }[];
  excluded: { controllerId: string; reason: string }[];
}

type Command = "start" | "pause" | "resume" | "stop" | "retry" | "approve" | "deny";

/** Which commands make sense in which state (the API refuses the others with 409 anyway). */
const ALLOWED: Record<Command, string[]> = {
  start: ["created"],
  pause: ["scheduled", "starting", "running"],
  resume: ["paused"],
  stop: ["created", "waiting_for_approval", "scheduled", "starting", "running", "paused"],
  retry: ["finished", "stopped", "aborted"],
  approve: ["waiting_for_approval"],
  deny: ["waiting_for_approval"],
};

// Device statuses (Aerie) and hawkBit's per-group target statuses, compared in lower case.
const DONE = ["success", "finished"];
const FAILED = ["failure", "error", "canceled", "cancelled"];

function Bar({ byStatus, total }: { byStatus: Record<string, number>; total: number }) {
  const done = Object.entries(byStatus).filter(([s]) => DONE.includes(s.toLowerCase())).reduce((n, [, v]) => n + v, 0);
  const failed = Object.entries(byStatus).filter(([s]) => FAILED.includes(s.toLowerCase())).reduce((n, [, v]) => n + v, 0);
  const pct = total > 0 ? Math.round((done / total) * 100) : 0;
  return (
    <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={`${done} of ${total} done, ${failed} failed`}>
      <span className="ok" style={{ width: `${total ? (done / total) * 100 : 0}%` }} />
      <span className="bad" style={{ width: `${total ? (failed / total) * 100 : 0}%` }} />
    </div>
  );
}

export function CampaignDetail({ id }: { id: string }) {
  const { api, can } = useSession();
  const { data: c, error, reload } = useLoad(() => api.get<Campaign>(`/api/v1/campaigns/${id}`), [id]);
  const live = useLiveEvents(`?campaignId=${id}`, reload);
  const [message, setMessage] = useState<string>();
  const [busy, setBusy] = useState(false);

  const run = async (command: Command) => {
    setBusy(true);
    try {
      await api.request("POST", `/api/v1/campaigns/${id}/${command}`);
      setMessage(`${command} requested`);
      reload();
    } catch (e) {
      setMessage((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (error) return <p role="alert" className="error">{error}</p>;
  if (!c) return <p role="status">Loading…</p>;
  const mayRun = (command: Command) => ALLOWED[command].includes(c.status) && (command === "approve" || command === "deny" ? can.approve : can.operate);
  const commands = (Object.keys(ALLOWED) as Command[]).filter(mayRun);
  return (
    <>
      <h1>Campaign {c.name}</h1>
      <p className="live" role="status">{live ? "● live" : "○ connecting to live events…"}</p>
      <dl className="inline">
        <dt>Status</dt><dd><span className={`badge status-${c.status}`} data-testid="campaign-status">{c.status}</span>{c.pausedBy ? ` (paused by ${c.pausedBy})` : ""}</dd>
        {c.statusReason && <><dt>Why</dt><dd>{c.statusReason}</dd></>}
        <dt>Created</dt><dd>{fmtTime(c.createdAt)}</dd>
        <dt>Started</dt><dd>{fmtTime(c.startedAt)}</dd>
        <dt>Finished</dt><dd>{fmtTime(c.finishedAt)}</dd>
      </dl>
      <div className="buttons" role="group" aria-label="Campaign lifecycle">
        {commands.map((command) => (
          <button key={command} type="button" disabled={busy} className={command === "stop" || command === "deny" ? "danger" : ""} onClick={() => run(command)}>
            {command[0]!.toUpperCase() + command.slice(1)}
          </button>
        ))}
        {commands.length === 0 && <span className="hint">No action available for your role in this state.</span>}
      </div>
      {message && <p role="status">{message}</p>}

      <h2>Progress</h2>
      <p data-testid="campaign-progress">{c.progress.devices} devices: {Object.entries(c.progress.byStatus).map(([s, n]) => `${n} ${s}`).join(", ") || "none notified yet"}{c.progress.timedOut ? `; ${c.progress.timedOut} timed out` : ""}{c.progress.excluded ? `; ${c.progress.excluded} left out` : ""}</p>
      <Bar byStatus={c.progress.byStatus} total={c.progress.devices + 0} />
      <table className="list" aria-label="Groups">
        <thead><tr><th scope="col">Group</th><th scope="col">Status</th><th scope="col">Devices</th><th scope="col">Progress</th><th scope="col">By status</th></tr></thead>
        <tbody>
          {c.progress.groups.map((g) => (
            <tr key={g.id}>
              <td>{g.name}</td>
              <td><span className="badge">{g.status ?? "—"}</span></td>
              <td>{g.totalTargets ?? g.devices}</td>
              <td><Bar byStatus={g.byStatus ?? {}} total={g.totalTargets ?? g.devices} /></td>
              <td>{Object.entries(g.byStatus ?? {}).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s.toLowerCase()}`).join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Devices</h2>
      <table className="list" aria-label="Campaign devices">
        <thead><tr><th scope="col">Device</th><th scope="col">Group</th><th scope="col">Status</th><th scope="col">Detail</th></tr></thead>
        <tbody>
          {c.devices.map((d) => (
            <tr key={d.controllerId}>
              <td><a href={`#/devices/${encodeURIComponent(d.controllerId)}`}>{d.controllerId}</a></td>
              <td>{d.group ?? "—"}</td>
              <td><span className={`badge ${d.status === "success" ? "ok" : FAILED.includes(d.status) ? "bad" : ""}`}>{d.status}</span></td>
              <td>{d.detail ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {c.excluded.length > 0 && (
        <>
          <h2>Left out</h2>
          <table className="list" aria-label="Devices left out">
            <thead><tr><th scope="col">Device</th><th scope="col">Why</th></tr></thead>
            <tbody>{c.excluded.map((d) => <tr key={d.controllerId}><td>{d.controllerId}</td><td>{d.reason}</td></tr>)}</tbody>
          </table>
        </>
      )}
    </>
  );
}
