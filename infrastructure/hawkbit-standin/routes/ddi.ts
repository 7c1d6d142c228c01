// The Direct Device Integration API under /{tenant}/controller/v1/{controllerId}.
import { Router, type Request, type Response } from "express";
import {
  activateAutoConfirm, applyCancelFeedback, applyConfirmation, applyDeploymentFeedback, type DdiExecution, type DdiFinished, type Feedback,
  openAction, registerRetrieved,
} from "../actions.js";
import { type DdiPrincipal, ddiPrincipal } from "../auth.js";
import { autoConfirmAlreadyActive, constraintViolation, notFound } from "../errors.js";
import { offlineAssign } from "../assignment.js";
import { ddiAuthSettings, pollingTimeFor } from "../tenant-config.js";
import type { ActionRec, ArtifactRec, SoftwareModuleRec, TargetRec } from "../model.js";
import { type StandinContext, idParam, originOf, requireObject } from "./context.js";
import { newSecurityToken } from "./mgmt-targets.js";

const EXECUTIONS: readonly DdiExecution[] = ["closed", "proceeding", "canceled", "scheduled", "rejected", "resumed", "downloaded", "download"];
const FINISHED: readonly DdiFinished[] = ["success", "failure", "none"];
const PLUG_AND_PLAY_USER = "CONTROLLER_PLUG_AND_PLAY";
const MD5SUM_SUFFIX = ".MD5SUM";

/** The `c` parameter hawkBit appends to deploymentBase links so a changed action yields a changed URL. */
function changeHash(action: ActionRec, artifacts: ArtifactRec[]): number {
  let h = 0x811c9dc5;
  for (const ch of `${action.id}:${action.status}:${artifacts.map((a) => a.sha1).join(",")}`) {
    h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  }
  return h | 0;
}

function parseFeedback(raw: unknown): Feedback & { timestamp?: number } {
  const body = requireObject(raw);
  const timestamp = typeof body.timestamp === "number" ? body.timestamp : undefined;
  const status = requireObject(body.status);
  const result = requireObject(status.result);
  const execution = status.execution as DdiExecution;
  const finished = result.finished as DdiFinished;
  if (!EXECUTIONS.includes(execution)) throw constraintViolation(`Unknown status.execution ${String(status.execution)}`);
  if (!FINISHED.includes(finished)) throw constraintViolation(`Unknown status.result.finished ${String(result.finished)}`);
  const progress = result.progress === undefined ? undefined : requireObject(result.progress);
  const details = status.details === undefined ? [] : status.details;
  if (!Array.isArray(details) || !details.every((d) => typeof d === "string")) throw constraintViolation("status.details must be strings");
  return {
    execution, finished, details, timestamp,
    code: typeof status.code === "number" ? status.code : undefined,
    progress: progress ? { cnt: Number(progress.cnt), of: progress.of === undefined ? undefined : Number(progress.of) } : undefined,
  };
}

type Range = { start: number; end: number };

/** A single `bytes=` range; undefined means "serve everything", null means unsatisfiable. */
function parseRange(header: string | undefined, size: number): Range | undefined | null {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, from, to] = m;
  if (from === "" && to === "") return null;
  if (from === "") {
    const suffix = Math.min(Number(to), size);
    return suffix === 0 ? null : { start: size - suffix, end: size - 1 };
  }
  const start = Number(from);
  const end = to === "" ? size - 1 : Math.min(Number(to), size - 1);
  return start >= size || start > end ? null : { start, end };
}

export function ddiRoutes(ctx: StandinContext): Router {
  const { store } = ctx;
  const r = Router();
  const root = "/:tenant/controller/v1/:controllerId";

  // hawkBit 1.1.0 DDI security (hawkbit-rest-core ...security): each scheme answers only while its tenant
  // configuration switch is on (authentication.gatewaytoken.enabled with authentication.gatewaytoken.key,
  // authentication.targettoken.enabled), all off by default; anything else is 401.
  const authenticate = (req: Request, res: Response): DdiPrincipal | undefined => {
    const tenantOk = String(req.params.tenant).toUpperCase() === ctx.tenant.toUpperCase();
    const principal = tenantOk ? ddiPrincipal(req, ddiAuthSettings(store), (id) => store.findTarget(id)?.securityToken) : undefined;
    if (!principal) res.status(401).end();
    return principal;
  };

  /** Every DDI request counts as a poll: hawkBit records the time and the device's address. */
  const seen = (req: Request, target: TargetRec): void => {
    target.lastControllerRequestAt = Date.now();
    target.ipAddress = req.ip;
    target.address = `http://${req.ip}`;
    if (target.updateStatus === "unknown") target.updateStatus = "registered";
  };

  const knownTarget = (req: Request): TargetRec => store.target(String(req.params.controllerId));

  /** hawkBit 1.1.0 JpaControllerManagement.findInstalledActionByTarget: the newest FINISHED action of the installed set. */
  const installedAction = (target: TargetRec): ActionRec | undefined => {
    if (target.installedDistributionSetId === undefined) return undefined;
    return store.actionsOf(target.controllerId)
      .filter((a) => a.distributionSetId === target.installedDistributionSetId && a.status === "finished")
      .sort((a, b) => b.id - a.id)[0];
  };

  const actionOf = (target: TargetRec, actionId: number): ActionRec => {
    const action = store.action(actionId);
    if (action.controllerId !== target.controllerId) throw notFound("Action", actionId);
    return action;
  };

  const modulesOf = (action: ActionRec): SoftwareModuleRec[] =>
    store.distributionSet(action.distributionSetId).moduleIds.map((id) => store.softwareModule(id));

  const artifactLinks = (req: Request, target: TargetRec, a: ArtifactRec) => {
    const href = `${originOf(req)}/${ctx.tenant}/controller/v1/${encodeURIComponent(target.controllerId)}/softwaremodules/${a.softwareModuleId}/artifacts/${encodeURIComponent(a.filename)}`;
    // hawkBit offers https and http variants; the stand-in only speaks http, so both point at the same URL.
    return {
      "download-http": { href }, "md5sum-http": { href: `${href}${MD5SUM_SUFFIX}` },
      download: { href }, md5sum: { href: `${href}${MD5SUM_SUFFIX}` },
    };
  };

  const ddiArtifact = (req: Request, target: TargetRec, a: ArtifactRec) => ({
    filename: a.filename, hashes: { sha1: a.sha1, md5: a.md5, sha256: a.sha256 }, size: a.size,
    _links: artifactLinks(req, target, a),
  });

  const handling = (action: ActionRec) => {
    const forced = action.actionType === "forced" || (action.actionType === "timeforced" && (action.forcedTime ?? 0) <= Date.now());
    if (action.actionType === "downloadonly") return { download: "forced", update: "skip" } as const;
    return forced ? ({ download: "forced", update: "forced" } as const) : ({ download: "attempt", update: "attempt" } as const);
  };

  /** `actionHistory`: how many history messages to include (DdiRootControllerRestApi: none by default, -1 all). */
  const historyCount = (req: Request): number => {
    const n = Number(req.query.actionHistory ?? 0);
    return Number.isFinite(n) ? Math.trunc(n) : 0;
  };

  const deploymentBody = (req: Request, target: TargetRec, action: ActionRec, history: number) => {
    const chunks = modulesOf(action).map((m) => ({
      part: store.softwareModuleType(m.typeId).key, version: m.version, name: m.name,
      ...(m.encrypted ? { encrypted: true } : {}),
      artifacts: store.artifactsOf(m.id).map((a) => ddiArtifact(req, target, a)),
    }));
    const messages = action.history.flatMap((h) => h.messages);
    return {
      id: String(action.id),
      deployment: { ...handling(action), chunks },
      ...(history === 0 ? {} : {
        actionHistory: { status: action.status.toUpperCase(), messages: history < 0 ? messages : messages.slice(-history) },
      }),
    };
  };

  r.get(root, async (req, res) => {
    const principal = authenticate(req, res);
    if (!principal) return;
    const controllerId = String(req.params.controllerId);
    let target = store.findTarget(controllerId);
    if (!target) {
      if (principal.kind !== "gateway") throw notFound("Target", controllerId);
      target = {
        id: store.nextId("targets"), controllerId, name: controllerId, securityToken: newSecurityToken(),
        requestAttributes: true, attributes: {}, updateStatus: "registered", ...store.audit(PLUG_AND_PLAY_USER),
      };
      store.state.targets.push(target);
    }
    seen(req, target);
    await ctx.commit();

    // hawkBit 1.1.0 DataConversionHelper.fromTarget: the active action (ControllerManagement
    // .findActiveActionWithHighestWeight) is linked as confirmationBase while it waits for confirmation, as
    // cancelAction while canceling, else as deploymentBase; installedBase links the last FINISHED action of the
    // installed set (findInstalledActionByTarget); configData while attributes are requested. The polling time is
    // the tenant's pollingTime (ControllerManagement.getPollingTime).
    const self = `${originOf(req)}/${ctx.tenant}/controller/v1/${encodeURIComponent(controllerId)}`;
    const links: Record<string, { href: string }> = {};
    const open = openAction(store, controllerId);
    if (open?.status === "wait_for_confirmation") {
      const artifacts = modulesOf(open).flatMap((m) => store.artifactsOf(m.id));
      links.confirmationBase = { href: `${self}/confirmationBase/${open.id}?c=${changeHash(open, artifacts)}` };
    } else if (open?.status === "canceling" || open?.status === "canceled") {
      links.cancelAction = { href: `${self}/cancelAction/${open.id}` };
    } else if (open) {
      const artifacts = modulesOf(open).flatMap((m) => store.artifactsOf(m.id));
      links.deploymentBase = { href: `${self}/deploymentBase/${open.id}?c=${changeHash(open, artifacts)}` };
    }
    const installed = installedAction(target);
    if (installed && !installed.active) links.installedBase = { href: `${self}/installedBase/${installed.id}` };
    if (target.requestAttributes) links.configData = { href: `${self}/configData` };
    res.json({ config: { polling: { sleep: pollingTimeFor(store, ctx.pollingDefaults) } }, _links: links });
  });

  // Consent flow: an action waiting for confirmation is offered here instead of on deploymentBase.
  r.get(`${root}/confirmationBase`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    seen(req, target);
    await ctx.commit();
    const self = `${originOf(req)}/${ctx.tenant}/controller/v1/${encodeURIComponent(target.controllerId)}/confirmationBase`;
    const links: Record<string, { href: string }> = {};
    const open = openAction(store, target.controllerId);
    if (open?.status === "wait_for_confirmation") {
      const artifacts = modulesOf(open).flatMap((m) => store.artifactsOf(m.id));
      links.confirmationBase = { href: `${self}/${open.id}?c=${changeHash(open, artifacts)}` };
    }
    if (target.autoConfirm) links.deactivateAutoConfirm = { href: `${self}/deactivateAutoConfirm` };
    else links.activateAutoConfirm = { href: `${self}/activateAutoConfirm` };
    const autoConfirm = target.autoConfirm
      ? { active: true, initiator: target.autoConfirm.initiator, remark: target.autoConfirm.remark, activatedAt: target.autoConfirm.activatedAt }
      : { active: false };
    res.json({ autoConfirm, _links: links });
  });

  r.get(`${root}/confirmationBase/:actionId`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const action = actionOf(target, idParam(req, "actionId"));
    // DdiRootController.getConfirmationBaseAction: a bare 404 unless the action waits for confirmation.
    if (!action.active || action.status !== "wait_for_confirmation") return void res.status(404).end();
    seen(req, target);
    await ctx.commit();
    const { deployment, ...rest } = deploymentBody(req, target, action, historyCount(req));
    res.json({ ...rest, confirmation: deployment });
  });

  r.post(`${root}/confirmationBase/:actionId/feedback`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const action = actionOf(target, idParam(req, "actionId"));
    const body = requireObject(req.body);
    if (body.confirmation !== "confirmed" && body.confirmation !== "denied") throw constraintViolation("confirmation must be confirmed or denied");
    const details = body.details === undefined ? [] : body.details;
    if (!Array.isArray(details) || !details.every((d) => typeof d === "string")) throw constraintViolation("details must be strings");
    // DdiRootController.postConfirmationActionFeedback: bare 410 once closed, bare 404 when not waiting for confirmation.
    if (!action.active) return void res.status(410).end();
    if (action.status !== "wait_for_confirmation") return void res.status(404).end();
    seen(req, target);
    applyConfirmation(store, action, target, body.confirmation === "confirmed", details, typeof body.code === "number" ? body.code : undefined);
    await ctx.commit();
    res.status(200).end();
  });

  r.post(`${root}/confirmationBase/activateAutoConfirm`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    if (target.autoConfirm) throw autoConfirmAlreadyActive(target.controllerId);
    const body = req.body === undefined || req.body === null || Object.keys(req.body).length === 0 ? {} : requireObject(req.body);
    seen(req, target);
    activateAutoConfirm(store, target, typeof body.initiator === "string" ? body.initiator : undefined, typeof body.remark === "string" ? body.remark : undefined);
    await ctx.commit();
    res.status(200).end();
  });

  r.post(`${root}/confirmationBase/deactivateAutoConfirm`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    seen(req, target);
    target.autoConfirm = undefined;
    store.touch(target, target.controllerId);
    await ctx.commit();
    res.status(200).end();
  });

  // hawkBit 1.1.0 DdiRootController.getControllerDeploymentBaseAction: a bare 404 (ResponseEntity.notFound()) while the action waits for confirmation or
  // is being (or was) cancelled; otherwise the deployment, and the retrieval is registered.
  r.get(`${root}/deploymentBase/:actionId`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const action = actionOf(target, idParam(req, "actionId"));
    seen(req, target);
    await ctx.commit();
    if (["canceling", "canceled", "wait_for_confirmation"].includes(action.status)) return void res.status(404).end();
    registerRetrieved(store, action, "Update Server: Target retrieved update action and should start now the download.");
    res.json(deploymentBody(req, target, action, historyCount(req)));
  });

  // hawkBit 1.1.0 DdiRootController.getControllerInstalledAction: any closed action that was not cancelled.
  r.get(`${root}/installedBase/:actionId`, (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const action = actionOf(target, idParam(req, "actionId"));
    if (action.active || action.status === "canceling" || action.status === "canceled") return void res.status(404).end();
    res.json(deploymentBody(req, target, action, historyCount(req)));
  });

  // hawkBit 1.1.0 DdiRootController.setAssignedOfflineVersion: the device reports a set (by name and version) it
  // installed by itself; it becomes assigned and installed through a FINISHED action (201), or nothing changes when it
  // already is (200). An unknown set is a 404 (DistributionSetManagement.findByNameAndVersion).
  r.put(`${root}/installedBase`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const body = requireObject(req.body);
    const name = typeof body.name === "string" ? body.name : undefined;
    const version = typeof body.version === "string" ? body.version : undefined;
    if (!name || !version) throw constraintViolation("name and version must not be empty");
    const ds = store.state.distributionSets.find((d) => d.name === name && d.version === version && !d.deleted);
    if (!ds) throw notFound("DistributionSet", `${name}:${version}`);
    seen(req, target);
    const created = offlineAssign(store, ds, target, target.controllerId);
    await ctx.commit();
    res.status(created ? 201 : 200).end();
  });

  r.post(`${root}/deploymentBase/:actionId/feedback`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const action = actionOf(target, idParam(req, "actionId"));
    const feedback = parseFeedback(req.body);
    seen(req, target);
    // DdiRootController.postDeploymentBaseActionFeedback: 404 while waiting for confirmation, 410 once closed.
    if (action.status === "wait_for_confirmation") return void res.status(404).end();
    if (!action.active) return void res.status(410).end();
    applyDeploymentFeedback(store, action, target, feedback, feedback.timestamp);
    ctx.engine.tick();
    await ctx.commit();
    res.status(200).end();
  });

  r.get(`${root}/cancelAction/:actionId`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const action = actionOf(target, idParam(req, "actionId"));
    // DdiRootController.getControllerCancelAction: served while canceling or canceled; the retrieval is registered.
    if (action.status !== "canceling" && action.status !== "canceled") return void res.status(404).end();
    seen(req, target);
    registerRetrieved(store, action, "Update Server: Target retrieved cancel action and should start now the cancellation.");
    await ctx.commit();
    res.json({ id: String(action.id), cancelAction: { stopId: String(action.id) } });
  });

  r.post(`${root}/cancelAction/:actionId/feedback`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const action = actionOf(target, idParam(req, "actionId"));
    const feedback = parseFeedback(req.body);
    seen(req, target);
    // DdiRootController.postCancelActionFeedback → ControllerManagement.addCancelActionStatus (405 unless canceling).
    applyCancelFeedback(store, action, target, feedback, feedback.timestamp);
    ctx.engine.tick();
    await ctx.commit();
    res.status(200).end();
  });

  r.put(`${root}/configData`, async (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const body = requireObject(req.body);
    const data = requireObject(body.data);
    if (!Object.values(data).every((v) => typeof v === "string")) throw constraintViolation("configData values must be strings");
    const mode = body.mode ?? "merge";
    if (mode === "replace") target.attributes = { ...(data as Record<string, string>) };
    else if (mode === "remove") for (const key of Object.keys(data)) delete target.attributes[key];
    else if (mode === "merge") Object.assign(target.attributes, data);
    else throw constraintViolation(`Unknown configData mode ${String(mode)}`);
    target.requestAttributes = false;
    seen(req, target);
    store.touch(target, target.controllerId);
    await ctx.commit();
    res.status(200).end();
  });

  /** hawkBit serves a module's artifacts only to targets that have been assigned a DS containing it. */
  const assignedModule = (target: TargetRec, smId: number): SoftwareModuleRec => {
    const module = store.softwareModule(smId);
    const assigned = store.actionsOf(target.controllerId).some((a) => store.distributionSet(a.distributionSetId).moduleIds.includes(smId));
    if (!assigned) throw notFound("SoftwareModule", smId);
    return module;
  };

  r.get(`${root}/softwaremodules/:smId/artifacts`, (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const module = assignedModule(target, idParam(req, "smId"));
    res.json(store.artifactsOf(module.id).map((a) => ddiArtifact(req, target, a)));
  });

  r.get(`${root}/softwaremodules/:smId/artifacts/:fileName`, (req, res) => {
    if (!authenticate(req, res)) return;
    const target = knownTarget(req);
    const module = assignedModule(target, idParam(req, "smId"));
    const requested = String(req.params.fileName);
    const artifacts = store.artifactsOf(module.id);
    const exact = artifacts.find((a) => a.filename === requested);
    const md5For = !exact && requested.endsWith(MD5SUM_SUFFIX)
      ? artifacts.find((a) => a.filename === requested.slice(0, -MD5SUM_SUFFIX.length))
      : undefined;
    if (md5For) {
      res.set("Content-Disposition", `attachment;filename=${requested}`).type("application/octet-stream")
        .send(Buffer.from(`${md5For.md5}  ${md5For.filename}`));
      return;
    }
    // DdiRootController.downloadArtifact: an unknown file is a bare 404 (checkModule).
    if (!exact) return void res.status(404).end();

    res.set({
      "Accept-Ranges": "bytes", ETag: exact.sha1, "Last-Modified": new Date(exact.lastModifiedAt).toUTCString(),
      "Content-Disposition": `attachment;filename=${exact.filename}`, "Content-Type": "application/octet-stream",
    });
    const range = parseRange(req.get("range"), exact.size);
    if (range === null) {
      res.status(416).set("Content-Range", `bytes */${exact.size}`).end();
      return;
    }
    if (range) {
      res.status(206).set({ "Content-Range": `bytes ${range.start}-${range.end}/${exact.size}`, "Content-Length": String(range.end - range.start + 1) });
    } else {
      res.status(200).set("Content-Length", String(exact.size));
    }
    if (exact.size === 0) {
      res.end();
      return;
    }
    ctx.artifacts.read(exact.sha1, range ?? undefined).pipe(res);
  });

  return r;
}
