import { useState } from "react";
import { fmtTime } from "../api";
import { useLoad, useSession } from "../session";

interface AuditEvent { id: number | string; at: string; actor: string; action: string; subject: string; details: unknown }

/** GET /api/v1/audit (operator authentication adds it): filters by actor, action, subject and time; CSV or JSON export. */
export function AuditView() {
  const { api } = useSession();
  const [form, setForm] = useState({ actor: "", action: "", subject: "", from: "", to: "" });
  const [query, setQuery] = useState(form);
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, k === "from" || k === "to" ? new Date(v).toISOString() : v);
  params.set("limit", "200");
  const { data, error } = useLoad(async () => {
    const body = await api.get<AuditEvent[] | { events?: AuditEvent[]; items?: AuditEvent[] }>(`/api/v1/audit?${params}`);
    return Array.isArray(body) ? body : body.events ?? body.items ?? [];
  }, [params.toString()]);
  const [exportError, setExportError] = useState<string>();

  const download = async (format: "csv" | "json") => {
    const p = new URLSearchParams(params);
    p.delete("limit");
    p.set("format", format);
    const response = await fetch(`/api/v1/audit?${p}`, { headers: api.headers({ accept: format === "csv" ? "text/csv" : "application/json" }) });
    if (!response.ok) {
      setExportError(`export failed: HTTP ${response.status}`);
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = `aerie-audit.${format}`;
    a.click();
    URL.revokeObjectURL(url);
  };

  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [k]: e.target.value });
  return (
    <>
      <h1>Audit log</h1>
      <form className="filters" aria-label="Filter audit events" onSubmit={(e) => { e.preventDefault(); setQuery(form); }}>
        <label>Actor<input value={form.actor} onChange={set("actor")} /></label>
        <label>Action<input value={form.action} placeholder="campaign.start" onChange={set("action")} /></label>
        <label>Subject<input value={form.subject} placeholder="campaign:…" onChange={set("subject")} /></label>
        <label>From<input type="datetime-local" value={form.from} onChange={set("from")} /></label>
        <label>To<input type="datetime-local" value={form.to} onChange={set("to")} /></label>
        <button type="submit">Apply</button>
        <button type="button" className="secondary" onClick={() => download("csv")}>Export CSV</button>
        <button type="button" className="secondary" onClick={() => download("json")}>Export JSON</button>
      </form>
      {exportError && <p role="alert" className="error">{exportError}</p>}
      {error && <p role="alert" className="error">{error.includes("404") || error.startsWith("no route") ? "The audit API is not available on this Aerie." : error}</p>}
      {data && (
        <table className="list" aria-label="Audit events">
          <thead><tr><th scope="col">At</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Subject</th><th scope="col">Details</th></tr></thead>
          <tbody>
            {data.map((e) => (
              <tr key={String(e.id)}><td>{fmtTime(e.at)}</td><td>{e.actor}</td><td>{e.action}</td><td>{e.subject}</td><td><code>{JSON.stringify(e.details)}</code></td></tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
