import { fmtTime } from "../api";
import { useLiveEvents, useLoad, useSession } from "../session";

interface Campaign { id: string; name: string; status: string; pausedBy: string | null; createdAt: string; startedAt: string | null; finishedAt: string | null; release?: { name: string; version: string } }

export function CampaignList() {
  const { api, can } = useSession();
  const { data, error, reload } = useLoad(() => api.get<Campaign[]>("/api/v1/campaigns"), []);
  useLiveEvents("?types=campaign", reload);
  return (
    <>
      <h1>Campaigns</h1>
      {can.operate && <p><a className="button" href="#/campaigns/new">New campaign</a></p>}
      {error && <p role="alert" className="error">{error}</p>}
      <table className="list" aria-label="Campaigns">
        <thead><tr><th scope="col">Campaign</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Started</th><th scope="col">Finished</th></tr></thead>
        <tbody>
          {(data ?? []).map((c) => (
            <tr key={c.id}>
              <td><a href={`#/campaigns/${c.id}`}>{c.name}</a></td>
              <td><span className={`badge status-${c.status}`}>{c.status}</span>{c.pausedBy ? ` (${c.pausedBy})` : ""}</td>
              <td>{fmtTime(c.createdAt)}</td><td>{fmtTime(c.startedAt)}</td><td>{fmtTime(c.finishedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
