// Typed client for the hawkBit Management API (/rest/v1). Reads, PUTs and DELETEs are retried on transient
// failures; creates are never blindly retried: the ensure* methods look an entity up first, so repeating them
// after a lost response is safe.
import { Agent as HttpAgent } from "node:http";
import type { Readable } from "node:stream";
import axios, { type AxiosInstance } from "axios";
import { logger } from "../core/log.js";
import { HawkbitError } from "./errors.js";
import { singleFileMultipart } from "./multipart.js";
import { type HawkbitRequest, retryingRequester } from "./retry.js";
import type {
  MgmtAction, MgmtArtifact, MgmtDistributionSet, MgmtDistributionSetRequestBodyPost, MgmtDistributionSetType,
  MgmtRolloutGroupResponseBody, MgmtRolloutResponseBody, MgmtRolloutRestRequestBodyPost, MgmtSoftwareModule,
  MgmtSoftwareModuleRequestBodyPost, MgmtSoftwareModuleType, MgmtSystemTenantConfigurationValue, MgmtTarget, MgmtTargetAttributes,
  MgmtTargetAutoConfirm, MgmtTargetRequestBody, PageQuery, PagedList, MgmtTag, MgmtTagRequestBodyPut, OnNotFoundPolicy,
  MgmtTargetType, MgmtTargetTypeRequestBodyPost, MgmtMetadata, MgmtSoftwareModuleMetadata, MgmtInvalidateDistributionSetRequestBody,
  MgmtTargetFilterQuery, MgmtTargetFilterQueryRequestBody, MgmtDistributionSetAutoAssignment,
} from "./types.js";

/** hawkBit caps page sizes at 500; asking for more silently yields 500. */
export const MAX_PAGE_SIZE = 500;

export interface HawkbitManagementClientOptions {
  baseUrl: string;
  username: string;
  password: string;
  timeoutMs?: number;
  /** Extra attempts for idempotent requests (default 3). */
  retries?: number;
  httpAgent?: HttpAgent;
  /** Backoff tuning; tests shorten it. */
  retryDelayMs?: { base: number; max: number };
}

export interface UploadArtifactOptions {
  filename: string;
  sha256: string;
  md5?: string;
  sha1?: string;
  /** Byte size of a stream body, so the upload can carry a Content-Length. */
  size?: number;
}

export interface EnsureDistributionSet extends Omit<MgmtDistributionSetRequestBodyPost, "modules"> {
  /** Software module ids. */
  modules?: number[];
}

/**
 * Percent-encodes everything but RFC 3986 unreserved characters: hawkBit's contract forbids reserved characters
 * in query values, and both axios and encodeURIComponent leave some (`:`, `*`, `(`, `)`) alone.
 */
function encodeQuery(params: Record<string, unknown>): string {
  const encode = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encode(k)}=${encode(String(v))}`)
    .join("&");
}

/** RSQL string literal: hawkBit's parser accepts double-quoted values with backslash escapes. */
export function rsqlValue(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

export class HawkbitManagementClient {
  private readonly http: AxiosInstance;
  private readonly request: HawkbitRequest;
  private readonly log = logger("hawkbit-mgmt");

  constructor(opts: HawkbitManagementClientOptions) {
    this.http = axios.create({
      baseURL: `${opts.baseUrl.replace(/\/+$/, "")}/rest/v1`,
      auth: { username: opts.username, password: opts.password },
      timeout: opts.timeoutMs ?? 30_000,
      httpAgent: opts.httpAgent ?? new HttpAgent({ keepAlive: true }),
      headers: { Accept: "application/json" },
      paramsSerializer: { serialize: encodeQuery },
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
    });
    this.request = retryingRequester(this.http, opts, this.log, "hawkBit");
  }

  private get<T>(url: string, params?: object): Promise<T> {
    return this.request<T>({ method: "GET", url, params });
  }

  private pageParams(query: PageQuery = {}): PageQuery {
    return { ...query, limit: query.limit === undefined ? undefined : Math.min(query.limit, MAX_PAGE_SIZE) };
  }

  /**
   * Walks every page of a list endpoint, never asking for more than 500 per page. The order is always named
   * (id:ASC unless given): hawkBit 1.x lists newest first when asked for none, so an entity created during the walk
   * would push the rest one offset further and one would be read twice. For a set that shrinks or grows while it is
   * read (open actions), use pagesById (actions.ts).
   */
  async *paginate<T>(fetchPage: (query: PageQuery) => Promise<PagedList<T>>, query: Omit<PageQuery, "offset"> = {}): AsyncGenerator<T> {
    const limit = Math.min(query.limit ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
    const sort = query.sort ?? "id:ASC";
    for (let offset = 0; ; offset += limit) {
      const page = await fetchPage({ ...query, sort, offset, limit });
      yield* page.content;
      if (page.content.length < limit || (page.total !== undefined && offset + page.content.length >= page.total)) return;
    }
  }

  // Types

  listSoftwareModuleTypes(query?: PageQuery): Promise<PagedList<MgmtSoftwareModuleType>> {
    return this.get("/softwaremoduletypes", this.pageParams(query));
  }

  listDistributionSetTypes(query?: PageQuery): Promise<PagedList<MgmtDistributionSetType>> {
    return this.get("/distributionsettypes", this.pageParams(query));
  }

  // Software modules and artifacts

  createSoftwareModules(modules: MgmtSoftwareModuleRequestBodyPost[]): Promise<MgmtSoftwareModule[]> {
    return this.request({ method: "POST", url: "/softwaremodules", data: modules });
  }

  getSoftwareModule(id: number): Promise<MgmtSoftwareModule> {
    return this.get(`/softwaremodules/${id}`);
  }

  listSoftwareModules(query?: PageQuery): Promise<PagedList<MgmtSoftwareModule>> {
    return this.get("/softwaremodules", this.pageParams(query));
  }

  async findSoftwareModule(name: string, version: string, type?: string): Promise<MgmtSoftwareModule | undefined> {
    const q = [`name==${rsqlValue(name)}`, `version==${rsqlValue(version)}`, ...(type ? [`type==${rsqlValue(type)}`] : [])].join(";");
    const page = await this.listSoftwareModules({ q, limit: 2 });
    return page.content.find((m) => m.name === name && m.version === version);
  }

  /** Finds the module by name/version/type or creates it; a concurrent create is resolved by a second lookup. */
  async ensureSoftwareModule(module: MgmtSoftwareModuleRequestBodyPost): Promise<MgmtSoftwareModule> {
    const existing = await this.findSoftwareModule(module.name, module.version, module.type);
    if (existing) return existing;
    try {
      const [created] = await this.createSoftwareModules([module]);
      return created!;
    } catch (error) {
      const raced = error instanceof HawkbitError && error.kind === "conflict"
        ? await this.findSoftwareModule(module.name, module.version, module.type) : undefined;
      if (raced) return raced;
      throw error;
    }
  }

  listArtifacts(softwareModuleId: number): Promise<MgmtArtifact[]> {
    return this.get(`/softwaremodules/${softwareModuleId}/artifacts`);
  }

  /** Streams the artifact as multipart; hawkBit verifies the given hashes and rejects a mismatch with 400. */
  uploadArtifact(softwareModuleId: number, content: Readable | Buffer, opts: UploadArtifactOptions): Promise<MgmtArtifact> {
    const body = singleFileMultipart("file", opts.filename, content, opts.size);
    return this.request({
      method: "POST",
      url: `/softwaremodules/${softwareModuleId}/artifacts`,
      params: { filename: opts.filename, sha256sum: opts.sha256, md5sum: opts.md5, sha1sum: opts.sha1 },
      data: body.stream,
      headers: { "Content-Type": body.contentType, ...(body.contentLength === undefined ? {} : { "Content-Length": String(body.contentLength) }) },
    });
  }

  /** Deletes the module; hawkBit keeps it soft-deleted while a distribution set still refers to it. */
  async deleteSoftwareModule(id: number): Promise<void> {
    await this.request({ method: "DELETE", url: `/softwaremodules/${id}` });
  }

  createSoftwareModuleMetadata(softwareModuleId: number, metadata: MgmtSoftwareModuleMetadata[]): Promise<MgmtSoftwareModuleMetadata[]> {
    return this.request({ method: "POST", url: `/softwaremodules/${softwareModuleId}/metadata`, data: metadata });
  }

  listSoftwareModuleMetadata(softwareModuleId: number, query?: PageQuery): Promise<PagedList<MgmtSoftwareModuleMetadata>> {
    return this.get(`/softwaremodules/${softwareModuleId}/metadata`, this.pageParams(query));
  }

  getSoftwareModuleMetadata(softwareModuleId: number, key: string): Promise<MgmtSoftwareModuleMetadata> {
    return this.get(`/softwaremodules/${softwareModuleId}/metadata/${encodeURIComponent(key)}`);
  }

  updateSoftwareModuleMetadata(softwareModuleId: number, key: string, body: { value?: string; targetVisible?: boolean }): Promise<MgmtSoftwareModuleMetadata> {
    return this.request({ method: "PUT", url: `/softwaremodules/${softwareModuleId}/metadata/${encodeURIComponent(key)}`, data: body });
  }

  async deleteSoftwareModuleMetadata(softwareModuleId: number, key: string): Promise<void> {
    await this.request({ method: "DELETE", url: `/softwaremodules/${softwareModuleId}/metadata/${encodeURIComponent(key)}` });
  }

  // Distribution sets

  createDistributionSets(sets: MgmtDistributionSetRequestBodyPost[]): Promise<MgmtDistributionSet[]> {
    return this.request({ method: "POST", url: "/distributionsets", data: sets });
  }

  getDistributionSet(id: number): Promise<MgmtDistributionSet> {
    return this.get(`/distributionsets/${id}`);
  }

  listDistributionSets(query?: PageQuery): Promise<PagedList<MgmtDistributionSet>> {
    return this.get("/distributionsets", this.pageParams(query));
  }

  async findDistributionSet(name: string, version: string): Promise<MgmtDistributionSet | undefined> {
    const page = await this.listDistributionSets({ q: `name==${rsqlValue(name)};version==${rsqlValue(version)}`, limit: 2 });
    return page.content.find((d) => d.name === name && d.version === version);
  }

  /** Finds the set by name/version or creates it with the given modules. */
  async ensureDistributionSet(set: EnsureDistributionSet): Promise<MgmtDistributionSet> {
    const existing = await this.findDistributionSet(set.name, set.version);
    if (existing) return existing;
    const body: MgmtDistributionSetRequestBodyPost = { ...set, modules: set.modules?.map((id) => ({ id })) };
    try {
      const [created] = await this.createDistributionSets([body]);
      return created!;
    } catch (error) {
      const raced = error instanceof HawkbitError && error.kind === "conflict" ? await this.findDistributionSet(set.name, set.version) : undefined;
      if (raced) return raced;
      throw error;
    }
  }

  async assignSoftwareModules(distributionSetId: number, softwareModuleIds: number[]): Promise<void> {
    await this.request({ method: "POST", url: `/distributionsets/${distributionSetId}/assignedSM`, data: softwareModuleIds.map((id) => ({ id })) });
  }

  listAssignedSoftwareModules(distributionSetId: number, query?: Omit<PageQuery, "q">): Promise<PagedList<MgmtSoftwareModule>> {
    return this.get(`/distributionsets/${distributionSetId}/assignedSM`, this.pageParams(query));
  }

  /** Deletes the set; hawkBit keeps one that was ever assigned soft-deleted, for its actions' history. */
  async deleteDistributionSet(id: number): Promise<void> {
    await this.request({ method: "DELETE", url: `/distributionsets/${id}` });
  }

  /** Marks the set invalid for good: no new assignments, auto-assignments removed, open actions/rollouts as asked. */
  async invalidateDistributionSet(id: number, body: MgmtInvalidateDistributionSetRequestBody): Promise<void> {
    await this.request({ method: "POST", url: `/distributionsets/${id}/invalidate`, data: body });
  }

  // Target tags

  createTargetTags(tags: MgmtTagRequestBodyPut[]): Promise<MgmtTag[]> {
    return this.request({ method: "POST", url: "/targettags", data: tags });
  }

  listTargetTags(query?: PageQuery): Promise<PagedList<MgmtTag>> {
    return this.get("/targettags", this.pageParams(query));
  }

  getTargetTag(id: number): Promise<MgmtTag> {
    return this.get(`/targettags/${id}`);
  }

  async deleteTargetTag(id: number): Promise<void> {
    await this.request({ method: "DELETE", url: `/targettags/${id}` });
  }

  async findTargetTag(name: string): Promise<MgmtTag | undefined> {
    const page = await this.listTargetTags({ q: `name==${rsqlValue(name)}`, limit: 2 });
    return page.content.find((t) => t.name === name);
  }

  /** Finds the tag by name or creates it (tag names are unique per tenant). */
  async ensureTargetTag(tag: MgmtTagRequestBodyPut & { name: string }): Promise<MgmtTag> {
    const existing = await this.findTargetTag(tag.name);
    if (existing) return existing;
    try {
      const [created] = await this.createTargetTags([tag]);
      return created!;
    } catch (error) {
      const raced = error instanceof HawkbitError && error.kind === "conflict" ? await this.findTargetTag(tag.name) : undefined;
      if (raced) return raced;
      throw error;
    }
  }

  /** Tags the targets; assigning a tag twice changes nothing, so this is safe to repeat. */
  async assignTargetTag(tagId: number, controllerIds: string[], onNotFoundPolicy?: OnNotFoundPolicy): Promise<void> {
    await this.request({ method: "PUT", url: `/targettags/${tagId}/assigned`, data: controllerIds, params: { onNotFoundPolicy } });
  }

  async unassignTargetTag(tagId: number, controllerIds: string[], onNotFoundPolicy?: OnNotFoundPolicy): Promise<void> {
    await this.request({ method: "DELETE", url: `/targettags/${tagId}/assigned`, data: controllerIds, params: { onNotFoundPolicy } });
  }

  listTargetTagTargets(tagId: number, query?: PageQuery): Promise<PagedList<MgmtTarget>> {
    return this.get(`/targettags/${tagId}/assigned`, this.pageParams(query));
  }

  listTagsOfTarget(controllerId: string): Promise<MgmtTag[]> {
    return this.get(`/targets/${encodeURIComponent(controllerId)}/tags`);
  }

  // Target types

  createTargetTypes(types: MgmtTargetTypeRequestBodyPost[]): Promise<MgmtTargetType[]> {
    return this.request({ method: "POST", url: "/targettypes", data: types });
  }

  listTargetTypes(query?: PageQuery): Promise<PagedList<MgmtTargetType>> {
    return this.get("/targettypes", this.pageParams(query));
  }

  getTargetType(id: number): Promise<MgmtTargetType> {
    return this.get(`/targettypes/${id}`);
  }

  async deleteTargetType(id: number): Promise<void> {
    await this.request({ method: "DELETE", url: `/targettypes/${id}` });
  }

  async assignTargetType(controllerId: string, targetTypeId: number): Promise<void> {
    await this.request({ method: "POST", url: `/targets/${encodeURIComponent(controllerId)}/targettype`, data: { id: targetTypeId } });
  }

  async unassignTargetType(controllerId: string): Promise<void> {
    await this.request({ method: "DELETE", url: `/targets/${encodeURIComponent(controllerId)}/targettype` });
  }

  // Target metadata

  createTargetMetadata(controllerId: string, metadata: MgmtMetadata[]): Promise<MgmtMetadata[]> {
    return this.request({ method: "POST", url: `/targets/${encodeURIComponent(controllerId)}/metadata`, data: metadata });
  }

  listTargetMetadata(controllerId: string, query?: PageQuery): Promise<PagedList<MgmtMetadata>> {
    return this.get(`/targets/${encodeURIComponent(controllerId)}/metadata`, this.pageParams(query));
  }

  getTargetMetadata(controllerId: string, key: string): Promise<MgmtMetadata> {
    return this.get(`/targets/${encodeURIComponent(controllerId)}/metadata/${encodeURIComponent(key)}`);
  }

  updateTargetMetadata(controllerId: string, key: string, value: string): Promise<MgmtMetadata> {
    return this.request({ method: "PUT", url: `/targets/${encodeURIComponent(controllerId)}/metadata/${encodeURIComponent(key)}`, data: { value } });
  }

  async deleteTargetMetadata(controllerId: string, key: string): Promise<void> {
    await this.request({ method: "DELETE", url: `/targets/${encodeURIComponent(controllerId)}/metadata/${encodeURIComponent(key)}` });
  }

  // Target filters and auto-assignment

  createTargetFilter(filter: MgmtTargetFilterQueryRequestBody): Promise<MgmtTargetFilterQuery> {
    return this.request({ method: "POST", url: "/targetfilters", data: filter });
  }

  listTargetFilters(query?: PageQuery): Promise<PagedList<MgmtTargetFilterQuery>> {
    return this.get("/targetfilters", this.pageParams(query));
  }

  getTargetFilter(id: number): Promise<MgmtTargetFilterQuery> {
    return this.get(`/targetfilters/${id}`);
  }

  updateTargetFilter(id: number, filter: MgmtTargetFilterQueryRequestBody): Promise<MgmtTargetFilterQuery> {
    return this.request({ method: "PUT", url: `/targetfilters/${id}`, data: filter });
  }

  async deleteTargetFilter(id: number): Promise<void> {
    await this.request({ method: "DELETE", url: `/targetfilters/${id}` });
  }

  /** hawkBit then assigns the set to every target matching the filter, now and whenever one starts to match. */
  setAutoAssignDistributionSet(filterId: number, assignment: MgmtDistributionSetAutoAssignment): Promise<MgmtTargetFilterQuery> {
    return this.request({ method: "POST", url: `/targetfilters/${filterId}/autoAssignDS`, data: assignment });
  }

  getAutoAssignDistributionSet(filterId: number): Promise<MgmtDistributionSet> {
    return this.get(`/targetfilters/${filterId}/autoAssignDS`);
  }

  async deleteAutoAssignDistributionSet(filterId: number): Promise<void> {
    await this.request({ method: "DELETE", url: `/targetfilters/${filterId}/autoAssignDS` });
  }

  // Targets

  createTargets(targets: MgmtTargetRequestBody[]): Promise<MgmtTarget[]> {
    return this.request({ method: "POST", url: "/targets", data: targets });
  }

  getTarget(controllerId: string): Promise<MgmtTarget> {
    return this.get(`/targets/${encodeURIComponent(controllerId)}`);
  }

  listTargets(query?: PageQuery): Promise<PagedList<MgmtTarget>> {
    return this.get("/targets", this.pageParams(query));
  }

  updateTarget(controllerId: string, target: MgmtTargetRequestBody): Promise<MgmtTarget> {
    return this.request({ method: "PUT", url: `/targets/${encodeURIComponent(controllerId)}`, data: target });
  }

  async deleteTarget(controllerId: string): Promise<void> {
    await this.request({ method: "DELETE", url: `/targets/${encodeURIComponent(controllerId)}` });
  }

  getTargetAttributes(controllerId: string): Promise<MgmtTargetAttributes> {
    return this.get(`/targets/${encodeURIComponent(controllerId)}/attributes`);
  }

  listTargetActions(controllerId: string, query?: PageQuery): Promise<PagedList<MgmtAction>> {
    return this.get(`/targets/${encodeURIComponent(controllerId)}/actions`, this.pageParams(query));
  }

  getTargetAction(controllerId: string, actionId: number): Promise<MgmtAction> {
    return this.get(`/targets/${encodeURIComponent(controllerId)}/actions/${actionId}`);
  }

  /** Creates the targets hawkBit does not know yet; returns all of them, existing ones as they are. */
  async ensureTargets(targets: MgmtTargetRequestBody[]): Promise<MgmtTarget[]> {
    const byId = new Map<string, MgmtTarget>();
    const lookupChunk = 100;
    for (let i = 0; i < targets.length; i += lookupChunk) {
      const ids = targets.slice(i, i + lookupChunk).map((t) => rsqlValue(t.controllerId));
      for await (const t of this.paginate((q) => this.listTargets(q), { q: `controllerId=in=(${ids.join(",")})` })) byId.set(t.controllerId, t);
    }
    const missing = targets.filter((t) => !byId.has(t.controllerId));
    if (missing.length > 0) {
      try {
        for (const t of await this.createTargets(missing)) byId.set(t.controllerId, t);
      } catch (error) {
        if (!(error instanceof HawkbitError && error.kind === "conflict")) throw error;
        for (const t of missing) byId.set(t.controllerId, await this.getTarget(t.controllerId));
      }
    }
    return targets.map((t) => byId.get(t.controllerId)!);
  }

  async cancelAction(controllerId: string, actionId: number, opts: { force?: boolean } = {}): Promise<void> {
    await this.request({ method: "DELETE", url: `/targets/${encodeURIComponent(controllerId)}/actions/${actionId}`, params: { force: opts.force || undefined } });
  }

  getAutoConfirm(controllerId: string): Promise<MgmtTargetAutoConfirm> {
    return this.get(`/targets/${encodeURIComponent(controllerId)}/autoConfirm`);
  }

  async activateAutoConfirm(controllerId: string, body: { initiator?: string; remark?: string } = {}): Promise<void> {
    await this.request({ method: "POST", url: `/targets/${encodeURIComponent(controllerId)}/autoConfirm/activate`, data: body });
  }

  async deactivateAutoConfirm(controllerId: string): Promise<void> {
    await this.request({ method: "POST", url: `/targets/${encodeURIComponent(controllerId)}/autoConfirm/deactivate` });
  }

  // Tenant configuration

  getTenantConfig(key: string): Promise<MgmtSystemTenantConfigurationValue> {
    return this.get(`/system/configs/${encodeURIComponent(key)}`);
  }

  setTenantConfig(key: string, value: unknown): Promise<MgmtSystemTenantConfigurationValue> {
    return this.request({ method: "PUT", url: `/system/configs/${encodeURIComponent(key)}`, data: { value } });
  }

  // Actions

  listActions(query?: PageQuery): Promise<PagedList<MgmtAction>> {
    return this.get("/actions", this.pageParams(query));
  }

  getAction(id: number): Promise<MgmtAction> {
    return this.get(`/actions/${id}`);
  }

  iterateActions(query: Omit<PageQuery, "offset"> = {}): AsyncGenerator<MgmtAction> {
    return this.paginate((q) => this.listActions(q), query);
  }

  // Rollouts

  createRollout(rollout: MgmtRolloutRestRequestBodyPost): Promise<MgmtRolloutResponseBody> {
    return this.request({ method: "POST", url: "/rollouts", data: rollout });
  }

  getRollout(id: number): Promise<MgmtRolloutResponseBody> {
    return this.get(`/rollouts/${id}`);
  }

  listRollouts(query?: PageQuery): Promise<PagedList<MgmtRolloutResponseBody>> {
    return this.get("/rollouts", this.pageParams(query));
  }

  async findRolloutByName(name: string): Promise<MgmtRolloutResponseBody | undefined> {
    const page = await this.listRollouts({ q: `name==${rsqlValue(name)}`, limit: 2 });
    return page.content.find((r) => r.name === name);
  }

  /** Finds the rollout by its (unique) name or creates it: repeating this after a lost response never makes a second one. */
  async ensureRollout(rollout: MgmtRolloutRestRequestBodyPost): Promise<MgmtRolloutResponseBody> {
    const existing = await this.findRolloutByName(rollout.name);
    if (existing) return existing;
    try {
      return await this.createRollout(rollout);
    } catch (error) {
      const raced = error instanceof HawkbitError && error.kind === "conflict" ? await this.findRolloutByName(rollout.name) : undefined;
      if (raced) return raced;
      throw error;
    }
  }

  /** A new rollout (hawkBit names it `<name>_retry`) over the failed targets of a finished one. Not idempotent. */
  retryRollout(id: number): Promise<MgmtRolloutResponseBody> {
    return this.request({ method: "POST", url: `/rollouts/${id}/retry` });
  }

  async approveRollout(id: number, remark?: string): Promise<void> {
    await this.request({ method: "POST", url: `/rollouts/${id}/approve`, params: { remark } });
  }

  async denyRollout(id: number, remark?: string): Promise<void> {
    await this.request({ method: "POST", url: `/rollouts/${id}/deny`, params: { remark } });
  }

  async triggerNextGroup(id: number): Promise<void> {
    await this.request({ method: "POST", url: `/rollouts/${id}/triggerNextGroup` });
  }

  /**
   * Stops a rollout for good (hawkBit 1.x, RolloutManagement.stop): it goes STOPPING, and hawkBit's scheduler cancels
   * its open actions (devices then learn of `cancel`) and ends it STOPPED.
   */
  async stopRollout(id: number): Promise<void> {
    await this.request({ method: "POST", url: `/rollouts/${id}/stop` });
  }

  /** Deletes a rollout: hawkBit drops its actions not started yet; running ones go on. */
  async deleteRollout(id: number): Promise<void> {
    await this.request({ method: "DELETE", url: `/rollouts/${id}` });
  }

  async startRollout(id: number): Promise<void> {
    await this.request({ method: "POST", url: `/rollouts/${id}/start` });
  }

  async pauseRollout(id: number): Promise<void> {
    await this.request({ method: "POST", url: `/rollouts/${id}/pause` });
  }

  async resumeRollout(id: number): Promise<void> {
    await this.request({ method: "POST", url: `/rollouts/${id}/resume` });
  }

  listRolloutGroups(rolloutId: number, query?: PageQuery): Promise<PagedList<MgmtRolloutGroupResponseBody>> {
    return this.get(`/rollouts/${rolloutId}/deploygroups`, this.pageParams(query));
  }

  getRolloutGroup(rolloutId: number, groupId: number): Promise<MgmtRolloutGroupResponseBody> {
    return this.get(`/rollouts/${rolloutId}/deploygroups/${groupId}`);
  }

  listRolloutGroupTargets(rolloutId: number, groupId: number, query?: PageQuery): Promise<PagedList<MgmtTarget>> {
    return this.get(`/rollouts/${rolloutId}/deploygroups/${groupId}/targets`, this.pageParams(query));
  }
}
