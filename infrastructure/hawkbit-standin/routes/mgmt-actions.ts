// The tenant-wide action list, which Aerie polls to detect new and changed actions in bulk.
import { Router } from "express";
import { actionFields } from "../fields.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import { type StandinContext, idParam, originOf, pageParams } from "./context.js";

/** hawkBit 1.1.0 PagingUtility.sanitizeActionSortParam: actions are listed newest first unless a sort is given. */
export const ACTION_DEFAULT_SORT = "id:DESC";

export function actionRoutes({ store }: StandinContext): Router {
  const fields = actionFields(store);
  const r = Router();
  // hawkBit 1.1.0 MgmtActionResource.getActions: `representation` compact (default; an unknown value falls back to
  // compact) renders MgmtTargetMapper.toResponse, full toResponseWithLinks.
  r.get("/actions", (req, res) => {
    const base = originOf(req);
    const full = String(req.query.representation ?? "compact").toLowerCase() === "full";
    res.json(pagedBody(page(store.state.actions, pageParams(req), fields, { defaultSort: ACTION_DEFAULT_SORT }), (a) => rep.action(base, store, a, full)));
  });
  // hawkBit 1.1.0 MgmtActionResource.getAction: the full representation.
  r.get("/actions/:actionId", (req, res) => {
    res.json(rep.action(originOf(req), store, store.action(idParam(req, "actionId")), true));
  });
  return r;
}
