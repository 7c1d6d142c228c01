import { Fragment, useState } from "react";
import { fmtTime } from "../api";
import { useLiveEvents, useLoad, useSession } from "../session";
import { MetricChart } from "./Chart";

interface Feedback { id: number; kind: string; status: string | null; execution: string; result: string; progress: number | null; details: string[]; receivedAt: string; relayError: string | null }
interface Action { id: string; hawkbitActionId: number; status: string; detail: string | null; createdAt: string; updatedAt: string; campaign: { id: string; name: string } | null; feedback: Feedback[] }
interface Device {
  controllerId: string; name: string | null; hardware: string | null; updateClient: string | null; online: boolean; lastSeenAt: string | null; createdAt: string;
  runningVersion: string | null; versions: Record<string, string>; identifiers: Record<string, string>; attributes: Record<string, string>;
  actions: Action[]; healthReports: { at: string; healthy: boolean; bootedSlot: string; runningVersion: string; actionId?: number; checks?: Record<string, boolean> }[];
}
interface Telemetry { from: string; to: string; step: number; series: Record<string, { t: string; avg: number; min: number; max: number; count: number }[]> }

const RANGES = { "1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400 } as const;

export function DeviceDetail({ controllerId }: { controllerId: string }) {
  const { api } = useSession();
  const path = `/api/v1/devices/${encodeURIComponent(controllerId)}`;
  const device = useLoad(() => api.get<Device>(path), [path]);
  useLiveEvents("?types=presence,action", (events) => {
    if (events.some((e) => e.controllerId === controllerId)) device.reload();
  });
  const [range, setRange] = useState<keyof typeof RANGES>("1h");
  const telemetry = useLoad(() => api.get<Telemetry>(`${path}/telemetry?from=${Date.now() - RANGES[range] * 1000}`), [path, range]);
  const [metric, setMetric] = useState<string>();
  const metrics = Object.keys(telemetry.data?.series ?? {}).sort();
  const shown = metric && metrics.includes(metric) ? metric : metrics[0];

  if (device.error) return <p role="alert" className="error">{device.error}</p>;
  const d = device.data;
  if (!d) return <p role="status">Loading…</p>;
  return (
    <>
      <h1>Device {d.controllerId}</h1>
      <div className="cards">
        <section className="card" aria-labelledby="identity">
          <h2 id="identity">Identity</h2>
          <dl>
            <dt>State</dt><dd>{d.online ? <span className="badge ok">online</span> : <span className="badge muted">offline</span>}</dd>
            <dt>Last seen</dt><dd>{fmtTime(d.lastSeenAt)}</dd>
            <dt>Name</dt><dd>{d.name ?? "—"}</dd>
            <dt>Hardware</dt><dd>{d.hardware ?? "—"}</dd>
            <dt>Update client</dt><dd>{d.updateClient ?? "—"}</dd>
            {Object.entries(d.identifiers).map(([k, v]) => (<Fragment key={k}><dt>{k.toUpperCase()}</dt><dd>{v}</dd></Fragment>))}
            <dt>Registered</dt><dd>{fmtTime(d.createdAt)}</dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="versions">
          <h2 id="versions">Versions and slots</h2>
          <dl>
            <dt>Running</dt><dd data-testid="running-version">{d.runningVersion ?? "—"}</dd>
            {Object.entries(d.versions).map(([c, v]) => (<Fragment key={c}><dt>version {c}</dt><dd>{v}</dd></Fragment>))}
            <dt>Booted slot</dt><dd>{d.attributes.bootedSlot ?? "—"}</dd>
            <dt>Healthy</dt><dd>{d.attributes.healthy ?? "—"}</dd>
          </dl>
        </section>
      </div>

      <section aria-labelledby="telemetry">
        <h2 id="telemetry">Telemetry</h2>
        <div className="filters">
          <label>Range
            <select value={range} onChange={(e) => setRange(e.target.value as keyof typeof RANGES)}>
              {Object.keys(RANGES).map((r) => <option key={r} value={r}>last {r}</option>)}
            </select>
          </label>
          <label>Metric
            <select value={shown ?? ""} onChange={(e) => setMetric(e.target.value)}>
              {metrics.map((m) => <option key={m} value={m}>{m}</option>)}
            </select>
          </label>
        </div>
        {shown && telemetry.data ? <MetricChart title={shown} points={telemetry.data.series[shown]!} from={Date.parse(telemetry.data.from)} to={Date.parse(telemetry.data.to)} /> : <p>No numeric telemetry in this range.</p>}
      </section>

      <section aria-labelledby="actions">
        <h2 id="actions">Action history</h2>
        {d.actions.length === 0 && <p>No actions yet.</p>}
        {d.actions.map((a) => (
          <details key={a.id} className="action" open={d.actions.length <= 3}>
            <summary>
              Action {a.hawkbitActionId} · <span className={`badge ${a.status === "success" ? "ok" : a.status === "failure" || a.status === "error" ? "bad" : ""}`}>{a.status}</span>
              {a.campaign && <> · campaign <a href={`#/campaigns/${a.campaign.id}`}>{a.campaign.name}</a></>} · {fmtTime(a.createdAt)}
            </summary>
            {a.detail && <p>{a.detail}</p>}
            <table className="list" aria-label={`Feedback of action ${a.hawkbitActionId}`}>
              <thead><tr><th scope="col">Received</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Details</th></tr></thead>
              <tbody>
                {a.feedback.map((f) => (
                  <tr key={f.id}><td>{fmtTime(f.receivedAt)}</td><td>{f.kind}</td><td>{f.status ?? `${f.execution}/${f.result}`}</td><td>{f.progress ?? ""}</td><td>{[...(Array.isArray(f.details) ? f.details : []), f.relayError].filter(Boolean).join("; ")}</td></tr>
                ))}
              </tbody>
            </table>
          </details>
        ))}
      </section>

      <section aria-labelledby="health">
        <h2 id="health">Health reports</h2>
        {d.healthReports.length === 0 ? <p>No health report yet.</p> : (
          <table className="list" aria-label="Health reports">
            <thead><tr><th scope="col">At</th><th scope="col">Healthy</th><th scope="col">Booted slot</th><th scope="col">Running version</th><th scope="col">Checks</th></tr></thead>
            <tbody>
              {d.healthReports.map((h, i) => (
                <tr key={i}><td>{fmtTime(h.at)}</td><td>{h.healthy ? <span className="badge ok">healthy</span> : <span className="badge bad">unhealthy</span>}</td><td>{h.bootedSlot}</td><td>{h.runningVersion}</td><td>{Object.entries(h.checks ?? {}).map(([k, v]) => `${k}: ${v ? "ok" : "failed"}`).join(", ")}</td></tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
