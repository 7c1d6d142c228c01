// Software module types and distribution set types (read-only for now: the seeded defaults).
import { Router } from "express";
import { distributionSetTypeFields, softwareModuleTypeFields } from "../fields.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import { type StandinContext, idParam, originOf, pageParams } from "./context.js";

export function typeRoutes({ store }: StandinContext): Router {
  const r = Router();
  r.get("/softwaremoduletypes", (req, res) => {
    const base = originOf(req);
    res.json(pagedBody(page(store.state.softwareModuleTypes, pageParams(req), softwareModuleTypeFields), (t) => rep.softwareModuleType(base, t)));
  });
  r.get("/softwaremoduletypes/:id", (req, res) => {
    res.json(rep.softwareModuleType(originOf(req), store.softwareModuleType(idParam(req, "id"))));
  });
  r.get("/distributionsettypes", (req, res) => {
    const base = originOf(req);
    res.json(pagedBody(page(store.state.distributionSetTypes, pageParams(req), distributionSetTypeFields), (t) => rep.distributionSetType(base, t)));
  });
  r.get("/distributionsettypes/:id", (req, res) => {
    res.json(rep.distributionSetType(originOf(req), store.distributionSetType(idParam(req, "id"))));
  });
  return r;
}
