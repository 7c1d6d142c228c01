// The tenant-wide action list, which Aerie polls to detect new and changed actions in bulk.
import { Router } from "express";
import { actionFields } from "../fields.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import { type StandinContext, idParam, originOf, pageParams } from "./context.js";

export function actionRoutes({ store }: StandinContext): Router {
  const fields = actionFields(store);
  const r = Router();
  r.get("/actions", (req, res) => {
    const base = originOf(req);
    res.json(pagedBody(page(store.state.actions, pageParams(req), fields), (a) => rep.action(base, store, a)));
  });
  r.get("/actions/:actionId", (req, res) => {
    res.json(rep.action(originOf(req), store, store.action(idParam(req, "actionId"))));
  });
  return r;
}
