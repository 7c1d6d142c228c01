// hawkBit 1.x actions as Aerie reads them, and the only action queries Aerie sends.
//
// In hawkBit 1.x (checked against tag 1.1.0) an action's `status` is its real status, lower-cased
// (MgmtTargetMapper.toResponse: action.getStatus().toString().toLowerCase(), values of Action.Status:
// finished, error, warning, running, canceled, canceling, retrieved, download, scheduled, cancel_rejected,
// downloaded, wait_for_confirmation) and `active` says whether it is still open. The query fields are those
// of ActionFields (id, active, status, lastActionStatusCode, createdAt, lastModifiedAt, weight, target.*,
// distributionSet.*, rollout.id/name, rolloutGroup.id/name, externalRef); there is no `detailStatus`, and
// `status==pending` is answered 400. Listings without `sort` come newest first (id:DESC), so every
// listing here names its order, and a listing read in several pages is read by key (`id=gt=<last>`), not by
// offset: an action that closes or appears meanwhile would shift the offset pages.
import type { MgmtAction, PagedList, PageQuery } from "./types.js";

/** Statuses of a closed action (hawkBit keeps `active` false for them). */
const CLOSED = new Set(["finished", "error", "canceled"]);

/** Open actions, as hawkBit 1.x lets them be asked for (ActionFields.ACTIVE). */
export const OPEN_ACTIONS = "active==true";

/** The open actions of one rollout. */
export function openActionsOfRollout(rolloutId: number): string {
  return `rollout.id==${rolloutId};${OPEN_ACTIONS}`;
}

/** hawkBit's Action.Status of the action, lower-cased. */
export function actionStatus(action: MgmtAction): string {
  const status = (action.status ?? "").toLowerCase();
  // The project's hawkBit stand-in rendered actions like hawkBit 0.x (`pending`/`finished` plus the real status in
  // `detailStatus`) until it was made to follow 1.1.0; read that too so a mixed checkout keeps working.
  const legacy = (action as { detailStatus?: string }).detailStatus;
  if ((status === "pending" || status === "finished") && legacy) return legacy.toLowerCase();
  return status;
}

/**
 * The controller id of the action's target, from its links' paths (`/targets/{controllerId}` in `target`, or
 * `/targets/{controllerId}/actions/{id}` in `self`, the only link of hawkBit 1.x's compact representation). Never the
 * `target` link's name: that is the target's display name, which may differ from its controller id.
 */
export function controllerIdOf(action: MgmtAction): string | undefined {
  for (const href of [action._links?.target?.href, action._links?.self?.href]) {
    if (!href) continue;
    const match = /\/targets\/([^/?#]+)/.exec(new URL(href, "http://x").pathname);
    if (match) return decodeURIComponent(match[1]!);
  }
  return undefined;
}

/** The distribution set id of the action (its `distributionset` link, in hawkBit's full representation). */
export function distributionSetIdOf(action: MgmtAction): number | undefined {
  const href = action._links?.distributionset?.href;
  const id = href ? Number(new URL(href, "http://x").pathname.split("/").pop()) : Number.NaN;
  return Number.isInteger(id) ? id : undefined;
}

/** Whether hawkBit still has the action open. */
export function isOpen(action: MgmtAction): boolean {
  if (typeof action.active === "boolean") return action.active;
  const status = (action.status ?? "").toLowerCase();
  if (status === "pending") return true;
  return !CLOSED.has(actionStatus(action));
}

/**
 * Every entity matching `q`, one page after another ordered by id and read by key: each page asks for ids above
 * the last one seen, so actions that close, appear or change meanwhile never make the reader skip or repeat one
 * (what offset pages do under hawkBit's default id:DESC order, or under any order while the set changes).
 */
export async function* pagesById<T extends { id: number }>(
  fetchPage: (query: PageQuery) => Promise<PagedList<T>>,
  { q, pageSize }: { q?: string; pageSize: number },
): AsyncGenerator<T[]> {
  let after: number | undefined;
  for (;;) {
    const bounded = [q, after === undefined ? undefined : `id=gt=${after}`].filter(Boolean).join(";");
    const page = await fetchPage({ q: bounded || undefined, sort: "id:ASC", offset: 0, limit: pageSize });
    const content = page.content;
    if (content.length > 0) {
      const last = Math.max(...content.map((e) => e.id));
      if (after !== undefined && last <= after) throw new Error("hawkBit listed an id below the requested one: the page order is not id:ASC");
      after = last;
    }
    yield content;
    if (content.length < pageSize) return;
  }
}
