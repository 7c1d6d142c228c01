import { useState } from "react";
import { fmtTime } from "../api";
import { useLoad, useSession } from "../session";

interface Signature { id: string; format: string; keyName: string; keyVersion: number; algorithm: string }
interface Artifact { id: string; filename: string; size: number; sha256: string; hardwareType: string | null; createdAt: string; signatures: Signature[]; release: { id: string; name: string; version: string } | null }
interface Release { id: string; name: string; version: string; status: string; statusReason: string | null; createdAt: string; upgradableFrom: string[]; hardwareTypes: string[] | null; artifacts: { id: string; filename: string }[] }

function ReleaseDevices({ id }: { id: string }) {
  const { api } = useSession();
  const { data, error } = useLoad(() => api.get<{ controllerId: string; campaign: string; installedAt: string }[]>(`/api/v1/releases/${id}/devices`), [id]);
  if (error) return <p role="alert" className="error">{error}</p>;
  if (!data) return <p role="status">Loading…</p>;
  if (data.length === 0) return <p>No device has installed it yet.</p>;
  return <ul>{data.map((d) => <li key={d.controllerId}><a href={`#/devices/${encodeURIComponent(d.controllerId)}`}>{d.controllerId}</a> (campaign {d.campaign}, {fmtTime(d.installedAt)})</li>)}</ul>;
}

function NewRelease({ artifacts, onCreated }: { artifacts: Artifact[]; onCreated: () => void }) {
  const { api } = useSession();
  const [name, setName] = useState("");
  const [version, setVersion] = useState("");
  const [upgradableFrom, setUpgradableFrom] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [error, setError] = useState<string>();
  const free = artifacts.filter((a) => !a.release);
  return (
    <form
      className="stack"
      aria-label="New release"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api.request("POST", "/api/v1/releases", { name, version, artifacts: chosen, ...(upgradableFrom.trim() ? { upgradableFrom: upgradableFrom.split(",").map((v) => v.trim()).filter(Boolean) } : {}) });
          setName(""); setVersion(""); setChosen([]); setError(undefined);
          onCreated();
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <h2>New release</h2>
      <label>Name<input value={name} onChange={(e) => setName(e.target.value)} required /></label>
      <label>Version<input value={version} onChange={(e) => setVersion(e.target.value)} required /></label>
      <label>Updates from versions (comma-separated, empty: any)<input value={upgradableFrom} onChange={(e) => setUpgradableFrom(e.target.value)} /></label>
      <fieldset>
        <legend>Artifacts</legend>
        {free.length === 0 && <p>No free artifact; upload one first (<code>aerie artifacts create FILE</code>).</p>}
        {free.map((a) => (
          <label key={a.id} className="check">
            <input type="checkbox" checked={chosen.includes(a.id)} onChange={(e) => setChosen(e.target.checked ? [...chosen, a.id] : chosen.filter((id) => id !== a.id))} />
            {a.filename} ({a.signatures.length ? "signed" : "unsigned"})
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={chosen.length === 0}>Create release</button>
      {error && <p role="alert" className="error">{error}</p>}
    </form>
  );
}

export function ReleasesView() {
  const { api, can } = useSession();
  const releases = useLoad(() => api.get<Release[]>("/api/v1/releases"), []);
  const artifacts = useLoad(() => api.get<Artifact[]>("/api/v1/artifacts"), []);
  const [open, setOpen] = useState<string>();
  const [message, setMessage] = useState<string>();
  const reload = () => {
    releases.reload();
    artifacts.reload();
  };
  const remove = async (path: string, what: string) => {
    if (!confirm(`Delete ${what}?`)) return;
    try {
      await api.request("DELETE", path);
      setMessage(`${what} deleted`);
      reload();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  return (
    <>
      <h1>Releases</h1>
      {message && <p role="status">{message}</p>}
      {releases.error && <p role="alert" className="error">{releases.error}</p>}
      <table className="list" aria-label="Releases">
        <thead><tr><th scope="col">Release</th><th scope="col">Status</th><th scope="col">Hardware</th><th scope="col">Updates from</th><th scope="col">Artifacts</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {(releases.data ?? []).map((r) => (
            <tr key={r.id}>
              <td>{r.name} {r.version}</td>
              <td><span className={`badge ${r.status === "ready" ? "ok" : r.status === "failed" ? "bad" : "muted"}`}>{r.status}</span>{r.statusReason ? ` ${r.statusReason}` : ""}</td>
              <td>{r.hardwareTypes?.join(", ") ?? "any"}</td>
              <td>{r.upgradableFrom.join(", ") || "any"}</td>
              <td>{r.artifacts.map((a) => a.filename).join(", ")}</td>
              <td>{fmtTime(r.createdAt)}</td>
              <td className="buttons">
                <button type="button" className="secondary" aria-expanded={open === r.id} onClick={() => setOpen(open === r.id ? undefined : r.id)}>Devices running it</button>
                {can.operate && r.status === "ready" && <a className="button" href={`#/campaigns/new?release=${r.id}`}>Roll out</a>}
                {can.release && r.status !== "deleted" && <button type="button" className="danger" onClick={() => remove(`/api/v1/releases/${r.id}`, `release ${r.name} ${r.version}`)}>Delete</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && <section aria-label="Devices running the release"><h2>Devices running it</h2><ReleaseDevices id={open} /></section>}

      <h2>Artifacts</h2>
      <table className="list" aria-label="Artifacts">
        <thead><tr><th scope="col">File</th><th scope="col">Size</th><th scope="col">sha256</th><th scope="col">Hardware</th><th scope="col">Signatures</th><th scope="col">Release</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {(artifacts.data ?? []).map((a) => (
            <tr key={a.id}>
              <td>{a.filename}</td>
              <td>{a.size.toLocaleString()} B</td>
              <td><code title={a.sha256}>{a.sha256.slice(0, 12)}…</code></td>
              <td>{a.hardwareType ?? "any"}</td>
              <td>{a.signatures.length === 0 ? <span className="badge bad">unsigned</span> : a.signatures.map((s) => `${s.format} (${s.keyName} v${s.keyVersion}, ${s.algorithm})`).join("; ")}</td>
              <td>{a.release ? `${a.release.name} ${a.release.version}` : "—"}</td>
              <td>{can.release && !a.release && <button type="button" className="danger" onClick={() => remove(`/api/v1/artifacts/${a.id}`, `artifact ${a.filename}`)}>Delete</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {can.release && artifacts.data && <NewRelease artifacts={artifacts.data} onCreated={reload} />}
    </>
  );
}
