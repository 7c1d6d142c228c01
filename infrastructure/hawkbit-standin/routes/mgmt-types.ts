// Software module types and distribution set types, as hawkBit 1.1.0 MgmtSoftwareModuleTypeResource and
// MgmtDistributionSetTypeResource serve them: list, get, create (201), update (description, colour), delete (204;
// soft while in use), and a DS type's mandatory and optional module types (changeable only while no set uses it).
import { Router } from "express";
import { HawkbitHttpError, alreadyExists, constraintViolation, notFound } from "../errors.js";
import { distributionSetTypeFields, softwareModuleTypeFields } from "../fields.js";
import type { DistributionSetTypeRec, SoftwareModuleTypeRec } from "../model.js";
import { page, pagedBody } from "../query.js";
import * as rep from "../representations.js";
import {
  type StandinContext, idParam, optionalNumber, optionalString, originOf, pageParams, requireArray, requireObject, requireString, userOf,
} from "./context.js";

/** SP_REPO_ENTITY_READ_ONLY (403): JpaDistributionSetTypeManagement.checkDistributionSetTypeNotAssigned. */
const typeInUse = (id: number): HawkbitHttpError =>
  new HawkbitHttpError(403, "org.eclipse.hawkbit.repository.exception.EntityReadOnlyException", "hawkbit.server.error.entityReadOnly",
    `Distribution set type ${id} is already assigned to distribution sets and cannot be changed!`);

function idsOf(list: unknown, field: string): number[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw constraintViolation(`${field} must be an array`);
  return list.map((x) => {
    const id = requireObject(x).id;
    if (typeof id !== "number") throw constraintViolation(`${field}[].id must be a number`);
    return id;
  });
}

export function typeRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const r = Router();
  const liveSm = () => store.state.softwareModuleTypes.filter((t) => !t.deleted);
  const liveDs = () => store.state.distributionSetTypes.filter((t) => !t.deleted);

  r.get("/softwaremoduletypes", (req, res) => {
    const base = originOf(req);
    res.json(pagedBody(page(liveSm(), pageParams(req), softwareModuleTypeFields), (t) => rep.softwareModuleType(base, t)));
  });
  r.get("/softwaremoduletypes/:id", (req, res) => {
    res.json(rep.softwareModuleType(originOf(req), store.softwareModuleType(idParam(req, "id"))));
  });
  // MgmtSoftwareModuleTypeResource.createSoftwareModuleTypes: key and name unique; maxAssignments defaults to 1.
  r.post("/softwaremoduletypes", async (req, res) => {
    const user = userOf(res);
    const created: SoftwareModuleTypeRec[] = [];
    for (const body of requireArray(req.body)) {
      const key = requireString(body, "key");
      const name = requireString(body, "name");
      if ([...store.state.softwareModuleTypes, ...created].some((t) => t.key === key || t.name === name)) {
        throw alreadyExists(`SoftwareModuleType with key ${key} or name ${name} already exists`);
      }
      const maxAssignments = optionalNumber(body, "maxAssignments") ?? 1;
      if (!Number.isInteger(maxAssignments) || maxAssignments < 1) throw constraintViolation("maxAssignments must be at least 1");
      created.push({
        id: store.nextId("softwareModuleTypes"), key, name, description: optionalString(body, "description") ?? "", maxAssignments,
        colour: optionalString(body, "colour"), ...store.audit(user),
      });
    }
    store.state.softwareModuleTypes.push(...created);
    await ctx.commit();
    const base = originOf(req);
    res.status(201).json(created.map((t) => rep.softwareModuleType(base, t)));
  });
  // MgmtSoftwareModuleTypeResource.updateSoftwareModuleType: description and colour only.
  r.put("/softwaremoduletypes/:id", async (req, res) => {
    const type = store.softwareModuleType(idParam(req, "id"));
    const body = requireObject(req.body);
    type.description = optionalString(body, "description") ?? type.description;
    type.colour = optionalString(body, "colour") ?? type.colour;
    store.touch(type, userOf(res));
    await ctx.commit();
    res.json(rep.softwareModuleType(originOf(req), type));
  });
  // JpaSoftwareModuleTypeManagement.delete: soft while modules or DS types use it, else gone.
  r.delete("/softwaremoduletypes/:id", async (req, res) => {
    const type = store.softwareModuleType(idParam(req, "id"));
    const used = store.state.softwareModules.some((m) => m.typeId === type.id)
      || store.state.distributionSetTypes.some((t) => [...t.mandatoryModuleTypeIds, ...t.optionalModuleTypeIds].includes(type.id));
    if (used) type.deleted = true;
    else store.state.softwareModuleTypes = store.state.softwareModuleTypes.filter((t) => t !== type);
    await ctx.commit();
    res.status(204).end();
  });

  r.get("/distributionsettypes", (req, res) => {
    const base = originOf(req);
    res.json(pagedBody(page(liveDs(), pageParams(req), distributionSetTypeFields), (t) => rep.distributionSetType(base, t)));
  });
  r.get("/distributionsettypes/:id", (req, res) => {
    res.json(rep.distributionSetType(originOf(req), store.distributionSetType(idParam(req, "id"))));
  });
  r.post("/distributionsettypes", async (req, res) => {
    const user = userOf(res);
    const created: DistributionSetTypeRec[] = [];
    for (const body of requireArray(req.body)) {
      const key = requireString(body, "key");
      const name = requireString(body, "name");
      if ([...store.state.distributionSetTypes, ...created].some((t) => t.key === key || t.name === name)) {
        throw alreadyExists(`DistributionSetType with key ${key} or name ${name} already exists`);
      }
      const mandatory = idsOf(body.mandatorymodules, "mandatorymodules").map((id) => store.softwareModuleType(id).id);
      const optional = idsOf(body.optionalmodules, "optionalmodules").map((id) => store.softwareModuleType(id).id);
      created.push({
        id: store.nextId("distributionSetTypes"), key, name, description: optionalString(body, "description") ?? "",
        mandatoryModuleTypeIds: mandatory, optionalModuleTypeIds: optional, colour: optionalString(body, "colour"), ...store.audit(user),
      });
    }
    store.state.distributionSetTypes.push(...created);
    await ctx.commit();
    const base = originOf(req);
    res.status(201).json(created.map((t) => rep.distributionSetType(base, t)));
  });
  r.put("/distributionsettypes/:id", async (req, res) => {
    const type = store.distributionSetType(idParam(req, "id"));
    const body = requireObject(req.body);
    type.description = optionalString(body, "description") ?? type.description;
    type.colour = optionalString(body, "colour") ?? type.colour;
    store.touch(type, userOf(res));
    await ctx.commit();
    res.json(rep.distributionSetType(originOf(req), type));
  });
  r.delete("/distributionsettypes/:id", async (req, res) => {
    const type = store.distributionSetType(idParam(req, "id"));
    if (store.state.distributionSets.some((d) => d.typeId === type.id)) type.deleted = true;
    else store.state.distributionSetTypes = store.state.distributionSetTypes.filter((t) => t !== type);
    await ctx.commit();
    res.status(204).end();
  });

  // Mandatory and optional module types of a DS type: lists, one by id, add ({id}), remove.
  for (const [path, field] of [["mandatorymoduletypes", "mandatoryModuleTypeIds"], ["optionalmoduletypes", "optionalModuleTypeIds"]] as const) {
    r.get(`/distributionsettypes/:id/${path}`, (req, res) => {
      const type = store.distributionSetType(idParam(req, "id"));
      const base = originOf(req);
      res.json(type[field].map((id) => rep.softwareModuleType(base, store.softwareModuleType(id))));
    });
    r.get(`/distributionsettypes/:id/${path}/:smTypeId`, (req, res) => {
      const type = store.distributionSetType(idParam(req, "id"));
      const smTypeId = idParam(req, "smTypeId");
      if (!type[field].includes(smTypeId)) throw notFound("SoftwareModuleType", smTypeId);
      res.json(rep.softwareModuleType(originOf(req), store.softwareModuleType(smTypeId)));
    });
    r.post(`/distributionsettypes/:id/${path}`, async (req, res) => {
      const type = store.distributionSetType(idParam(req, "id"));
      const id = requireObject(req.body).id;
      if (typeof id !== "number") throw constraintViolation("id must be a number");
      const smType = store.softwareModuleType(id);
      if (store.state.distributionSets.some((d) => d.typeId === type.id)) throw typeInUse(type.id);
      // A module type is either mandatory or optional (DistributionSetType.addMandatoryModuleType / addOptionalModuleType).
      type.mandatoryModuleTypeIds = type.mandatoryModuleTypeIds.filter((x) => x !== smType.id);
      type.optionalModuleTypeIds = type.optionalModuleTypeIds.filter((x) => x !== smType.id);
      type[field].push(smType.id);
      store.touch(type, userOf(res));
      await ctx.commit();
      res.status(204).end();
    });
    r.delete(`/distributionsettypes/:id/${path}/:smTypeId`, async (req, res) => {
      const type = store.distributionSetType(idParam(req, "id"));
      const smTypeId = idParam(req, "smTypeId");
      store.softwareModuleType(smTypeId);
      if (store.state.distributionSets.some((d) => d.typeId === type.id)) throw typeInUse(type.id);
      type[field] = type[field].filter((x) => x !== smTypeId);
      store.touch(type, userOf(res));
      await ctx.commit();
      res.status(204).end();
    });
  }
  return r;
}
