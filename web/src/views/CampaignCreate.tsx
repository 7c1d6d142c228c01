import { useEffect, useState } from "react";
import { useLoad, useSession } from "../session";

interface Release { id: string; name: string; version: string; status: string }
interface Preview {
  targetFilter: string; warnings?: string[];
  selected: { total: number; devices: { controllerId: string }[] };
  excluded: { total: number; devices: { controllerId: string; reason: string }[] };
  groups: { name: string; percentage: number; devices: number | null }[];
}

interface Form {
  name: string; releaseId: string; selection: string; split: "groups" | "stages"; groups: string; stages: string;
  successThreshold: string; errorThreshold: string; actionType: string; forceTime: string; windowStart: string; windowEnd: string;
  soakSeconds: string; approval: boolean; consentRequired: boolean; start: boolean;
}

/** The campaign input the API takes, from the form; empty fields are left to the API's defaults. */
function body(f: Form): Record<string, unknown> {
  const out: Record<string, unknown> = { releaseId: f.releaseId, selection: f.selection };
  if (f.name) out.name = f.name;
  if (f.split === "groups" && f.groups) out.groups = Number(f.groups);
  if (f.split === "stages" && f.stages) out.stages = f.stages.split(",").map((s) => Number(s.trim()));
  if (f.successThreshold) out.successThreshold = Number(f.successThreshold);
  if (f.errorThreshold) out.errorThreshold = Number(f.errorThreshold);
  out.actionType = f.actionType;
  if (f.actionType === "timeforced" && f.forceTime) out.forceTime = new Date(f.forceTime).toISOString();
  if (f.windowStart && f.windowEnd) out.maintenanceWindow = { start: f.windowStart, end: f.windowEnd };
  if (f.soakSeconds) out.healthGate = { soakSeconds: Number(f.soakSeconds) };
  out.approval = f.approval;
  out.consentRequired = f.consentRequired;
  return out;
}

export function CampaignCreate({ releaseId }: { releaseId?: string }) {
  const { api, can } = useSession();
  const releases = useLoad(() => api.get<Release[]>("/api/v1/releases"), []);
  const ready = (releases.data ?? []).filter((r) => r.status === "ready");
  const [form, setForm] = useState<Form>({
    name: "", releaseId: releaseId ?? "", selection: "", split: "groups", groups: "2", stages: "10,50,100", successThreshold: "100", errorThreshold: "50",
    actionType: "forced", forceTime: "", windowStart: "", windowEnd: "", soakSeconds: "", approval: false, consentRequired: false, start: true,
  });
  const [preview, setPreview] = useState<Preview>();
  const [previewError, setPreviewError] = useState<string>();
  const [error, setError] = useState<string>();
  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));
  const releaseChoice = form.releaseId || ready[0]?.id || "";

  // Live preview: a dry run 400 ms after the last change.
  const previewBody = JSON.stringify(body({ ...form, releaseId: releaseChoice, name: "" }));
  useEffect(() => {
    if (!releaseChoice || !form.selection.trim()) {
      setPreview(undefined);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      api.request<Preview>("POST", "/api/v1/campaigns/preview", JSON.parse(previewBody)).then(
        (p) => current && (setPreview(p), setPreviewError(undefined)),
        (e: Error) => current && (setPreview(undefined), setPreviewError(e.message)),
      );
    }, 400);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, previewBody, releaseChoice, form.selection]);

  if (!can.operate) return <><h1>New campaign</h1><p>Your role may not create campaigns.</p></>;
  return (
    <>
      <h1>New campaign</h1>
      <div className="split">
        <form
          className="stack"
          aria-label="New campaign"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              const created = await api.request<{ id: string }>("POST", "/api/v1/campaigns", { ...body({ ...form, releaseId: releaseChoice }), start: form.start });
              location.hash = `#/campaigns/${created.id}`;
            } catch (err) {
              setError((err as Error).message);
            }
          }}
        >
          <label>Name<input name="name" value={form.name} onChange={(e) => set("name", e.target.value)} required pattern="[A-Za-z0-9._ \-]{1,64}" /></label>
          <label>Release
            <select name="release" value={releaseChoice} onChange={(e) => set("releaseId", e.target.value)} required>
              {ready.map((r) => <option key={r.id} value={r.id}>{r.name} {r.version}</option>)}
            </select>
          </label>
          <label>Selection (RSQL over device attributes)
            <input name="selection" value={form.selection} placeholder="hardware==board-a;region==eu" onChange={(e) => set("selection", e.target.value)} required />
          </label>
          <fieldset>
            <legend>Stages</legend>
            <label className="check"><input type="radio" name="split" checked={form.split === "groups"} onChange={() => set("split", "groups")} /> Equal groups</label>
            <label className="check"><input type="radio" name="split" checked={form.split === "stages"} onChange={() => set("split", "stages")} /> Cumulative stages (%)</label>
            {form.split === "groups"
              ? <label>Number of groups<input name="groups" type="number" min={1} max={100} value={form.groups} onChange={(e) => set("groups", e.target.value)} /></label>
              : <label>Stages, ending with 100<input name="stages" value={form.stages} onChange={(e) => set("stages", e.target.value)} /></label>}
          </fieldset>
          <fieldset>
            <legend>Thresholds</legend>
            <label>Success threshold (% of a group before the next starts)<input name="successThreshold" type="number" min={1} max={100} value={form.successThreshold} onChange={(e) => set("successThreshold", e.target.value)} /></label>
            <label>Error threshold (% failed that stops the rollout)<input name="errorThreshold" type="number" min={0} max={100} value={form.errorThreshold} onChange={(e) => set("errorThreshold", e.target.value)} /></label>
          </fieldset>
          <label>Action type
            <select name="actionType" value={form.actionType} onChange={(e) => set("actionType", e.target.value)}>
              <option value="forced">forced</option><option value="soft">soft</option><option value="timeforced">time-forced</option><option value="downloadonly">download only</option>
            </select>
          </label>
          {form.actionType === "timeforced" && <label>Forced from<input type="datetime-local" value={form.forceTime} onChange={(e) => set("forceTime", e.target.value)} required /></label>}
          <fieldset>
            <legend>Maintenance window (UTC, optional)</legend>
            <label>From<input type="time" value={form.windowStart} onChange={(e) => set("windowStart", e.target.value)} /></label>
            <label>To<input type="time" value={form.windowEnd} onChange={(e) => set("windowEnd", e.target.value)} /></label>
          </fieldset>
          <label>Health gate: soak seconds after each group (empty: off)<input name="soakSeconds" type="number" min={0} value={form.soakSeconds} onChange={(e) => set("soakSeconds", e.target.value)} /></label>
          <label className="check"><input type="checkbox" checked={form.approval} onChange={(e) => set("approval", e.target.checked)} /> Needs approval (by someone else)</label>
          <label className="check"><input type="checkbox" checked={form.consentRequired} onChange={(e) => set("consentRequired", e.target.checked)} /> Devices ask their user for consent</label>
          <label className="check"><input type="checkbox" checked={form.start} onChange={(e) => set("start", e.target.checked)} /> Start right away</label>
          <button type="submit" disabled={!releaseChoice}>Create campaign</button>
          {error && <p role="alert" className="error">{error}</p>}
        </form>

        <section className="preview" aria-labelledby="preview" aria-live="polite">
          <h2 id="preview">Preview</h2>
          {!preview && !previewError && <p>Choose a release and a selection to see which devices the campaign takes.</p>}
          {previewError && <p role="alert" className="error">{previewError}</p>}
          {preview && (
            <>
              {preview.warnings?.map((w) => <p key={w} className="error">{w}</p>)}
              <p data-testid="preview-selected"><strong>{preview.selected.total}</strong> selected, <strong>{preview.excluded.total}</strong> left out</p>
              <h3>Groups</h3>
              <ol>{preview.groups.map((g) => <li key={g.name}>{g.name}: {g.devices ?? "by its own filter"} device{g.devices === 1 ? "" : "s"}</li>)}</ol>
              <h3>Selected</h3>
              <ul className="columns">{preview.selected.devices.map((d) => <li key={d.controllerId}>{d.controllerId}</li>)}</ul>
              <h3>Left out</h3>
              {preview.excluded.devices.length === 0 ? <p>None.</p> : (
                <table className="list" aria-label="Devices left out">
                  <thead><tr><th scope="col">Device</th><th scope="col">Why</th></tr></thead>
                  <tbody>{preview.excluded.devices.map((d) => <tr key={d.controllerId}><td>{d.controllerId}</td><td>{d.reason}</td></tr>)}</tbody>
                </table>
              )}
              <p className="hint">hawkBit filter: <code>{preview.targetFilter}</code></p>
            </>
          )}
        </section>
      </div>
    </>
  );
}
