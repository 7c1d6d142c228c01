import { useState } from "react";
import { fmtTime } from "../api";
import { useLiveEvents, useLoad, useSession } from "../session";

interface Device {
  controllerId: string; name: string | null; hardware: string | null; online: boolean; lastSeenAt: string | null;
  runningVersion: string | null; identifiers: Record<string, string>;
}
interface DeviceList {
  total: number; devices: Device[];
  summary: { total: number; online: number; offline: number; byVersion: Record<string, number>; byHardware: Record<string, number> };
}

function Counts({ title, counts }: { title: string; counts: Record<string, number> }) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return (
    <section className="card" aria-label={title}>
      <h3>{title}</h3>
      <table>
        <tbody>
          {entries.map(([k, n]) => (
            <tr key={k}><th scope="row">{k}</th><td>{n}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function FleetView() {
  const { api } = useSession();
  const [form, setForm] = useState({ search: "", online: "", hardware: "", attribute: "" });
  const [query, setQuery] = useState(form);
  const params = new URLSearchParams({ limit: "200", sort: "controllerId" });
  if (query.search) params.set("search", query.search);
  if (query.online) params.set("online", query.online);
  if (query.hardware) params.set("hardware", query.hardware);
  if (query.attribute) params.set("attribute", query.attribute);
  const { data, error, reload } = useLoad(() => api.get<DeviceList>(`/api/v1/devices?${params}`), [params.toString()]);
  const live = useLiveEvents("?types=presence", reload);

  return (
    <>
      <h1>Fleet</h1>
      <p className="live" role="status">{live ? "● live" : "○ connecting to live events…"}</p>
      {error && <p role="alert" className="error">{error}</p>}
      {data && (
        <div className="cards">
          <section className="card" aria-label="Devices">
            <h3>Devices</h3>
            <p className="big" data-testid="fleet-total">{data.summary.total}</p>
            <p><span className="dot on" aria-hidden="true" /> {data.summary.online} online · <span className="dot off" aria-hidden="true" /> {data.summary.offline} offline</p>
          </section>
          <Counts title="By version" counts={data.summary.byVersion} />
          <Counts title="By hardware" counts={data.summary.byHardware} />
        </div>
      )}
      <form
        className="filters"
        aria-label="Filter devices"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(form);
        }}
      >
        <label>Search (controller id, name, VIN)
          <input type="search" value={form.search} onChange={(e) => setForm({ ...form, search: e.target.value })} />
        </label>
        <label>State
          <select value={form.online} onChange={(e) => setForm({ ...form, online: e.target.value })}>
            <option value="">any</option><option value="true">online</option><option value="false">offline</option>
          </select>
        </label>
        <label>Hardware
          <input value={form.hardware} onChange={(e) => setForm({ ...form, hardware: e.target.value })} />
        </label>
        <label>Attribute (key=value)
          <input value={form.attribute} placeholder="region=eu" onChange={(e) => setForm({ ...form, attribute: e.target.value })} />
        </label>
        <button type="submit">Apply</button>
      </form>
      {data && (
        <table className="list" aria-label="Devices">
          <thead>
            <tr><th scope="col">Device</th><th scope="col">State</th><th scope="col">Hardware</th><th scope="col">Version</th><th scope="col">Secondary ids</th><th scope="col">Last seen</th></tr>
          </thead>
          <tbody>
            {data.devices.map((d) => (
              <tr key={d.controllerId}>
                <td><a href={`#/devices/${encodeURIComponent(d.controllerId)}`}>{d.controllerId}</a>{d.name ? ` (${d.name})` : ""}</td>
                <td>{d.online ? <span className="badge ok">online</span> : <span className="badge muted">offline</span>}</td>
                <td>{d.hardware ?? "—"}</td>
                <td>{d.runningVersion ?? "—"}</td>
                <td>{Object.entries(d.identifiers).map(([k, v]) => `${k}: ${v}`).join(", ") || "—"}</td>
                <td>{fmtTime(d.lastSeenAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.total > data.devices.length && <p>Showing {data.devices.length} of {data.total}; narrow the filter to see the rest.</p>}
    </>
  );
}
