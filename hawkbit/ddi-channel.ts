// HawkbitDeviceChannel over hawkBit's Direct Device Integration API, authenticated with the gateway token so
// one Aerie instance can speak for every device. GETs and the configData PUT are retried on transient failures;
// feedback POSTs are not, because hawkBit would record a repeated status twice.
import { Agent as HttpAgent } from "node:http";
import axios, { type AxiosInstance } from "axios";
import { logger } from "../core/log.js";
import { type HawkbitRequest, retryingRequester } from "./retry.js";
import type {
  ConfigDataMode, DdiCancelAction, DdiConfirmation, DdiControllerState, DdiDeployment, DdiFeedback, DdiHandlingType, HawkbitDeviceChannel,
} from "./channel.js";

export interface DdiChannelOptions {
  baseUrl: string;
  tenant: string;
  gatewayToken: string;
  timeoutMs?: number;
  retries?: number;
  httpAgent?: HttpAgent;
  retryDelayMs?: { base: number; max: number };
}

// Wire shapes of hawkBit's DDI schemas (DdiControllerBase, DdiDeploymentBase, DdiCancel).
type WireLinks = Record<string, { href?: string } | undefined>;
interface WireControllerBase {
  config?: { polling?: { sleep?: string } };
  _links?: WireLinks;
}
interface WireArtifact {
  filename: string;
  size?: number;
  hashes?: { sha1?: string; md5?: string; sha256?: string };
  _links?: WireLinks;
}
interface WireDeploymentBase {
  id: string;
  deployment: {
    download?: DdiHandlingType;
    update?: DdiHandlingType;
    maintenanceWindow?: "available" | "unavailable";
    chunks: { part: string; name: string; version: string; encrypted?: boolean; artifacts?: WireArtifact[]; metadata?: { key: string; value: string }[] }[];
  };
}
interface WireConfirmationBaseAction {
  id: string;
  confirmation: WireDeploymentBase["deployment"];
}
interface WireCancel {
  id?: string;
  cancelAction: { stopId: string };
}

const DEFAULT_SLEEP_MS = 5 * 60_000;

function sleepToMs(sleep: string | undefined): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})$/.exec(sleep ?? "");
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 : DEFAULT_SLEEP_MS;
}

/** The trailing numeric path segment of a link such as `.../deploymentBase/42?c=-1`. */
function actionIdOf(href: string | undefined): number | undefined {
  if (!href) return undefined;
  const m = /\/(\d+)$/.exec(new URL(href).pathname);
  return m ? Number(m[1]) : undefined;
}

function assignmentType(update: DdiHandlingType): DdiDeployment["type"] {
  return update === "skip" ? "downloadonly" : update === "forced" ? "forced" : "soft";
}

function wireFeedback(feedback: DdiFeedback) {
  return {
    status: {
      execution: feedback.execution,
      result: { finished: feedback.finished, ...(feedback.progress ? { progress: feedback.progress } : {}) },
      ...(feedback.code === undefined ? {} : { code: feedback.code }),
      details: feedback.details ?? [],
    },
    timestamp: Date.now(),
  };
}

export class DdiChannel implements HawkbitDeviceChannel {
  private readonly http: AxiosInstance;
  private readonly request: HawkbitRequest;
  private readonly log = logger("hawkbit-ddi");

  constructor(opts: DdiChannelOptions) {
    this.http = axios.create({
      baseURL: `${opts.baseUrl.replace(/\/+$/, "")}/${encodeURIComponent(opts.tenant)}/controller/v1`,
      timeout: opts.timeoutMs ?? 30_000,
      httpAgent: opts.httpAgent ?? new HttpAgent({ keepAlive: true }),
      headers: { Authorization: `GatewayToken ${opts.gatewayToken}`, Accept: "application/json" },
    });
    this.request = retryingRequester(this.http, opts, this.log, "DDI");
  }

  private path(controllerId: string, suffix = ""): string {
    return `/${encodeURIComponent(controllerId)}${suffix}`;
  }

  async pollController(controllerId: string): Promise<DdiControllerState> {
    const base = await this.request<WireControllerBase>({ method: "GET", url: this.path(controllerId) });
    const links = base._links ?? {};
    return {
      openActionId: actionIdOf(links.deploymentBase?.href),
      cancelActionId: actionIdOf(links.cancelAction?.href),
      confirmationActionId: actionIdOf(links.confirmationBase?.href),
      installedActionId: actionIdOf(links.installedBase?.href),
      pollingSleepMs: sleepToMs(base.config?.polling?.sleep),
      configDataRequested: links.configData !== undefined,
    };
  }

  async getDeployment(controllerId: string, actionId: number): Promise<DdiDeployment> {
    const base = await this.request<WireDeploymentBase>({ method: "GET", url: this.path(controllerId, `/deploymentBase/${actionId}`) });
    return this.deploymentOf(base.id, base.deployment, false);
  }

  async getConfirmation(controllerId: string, actionId: number): Promise<DdiDeployment> {
    const base = await this.request<WireConfirmationBaseAction>({ method: "GET", url: this.path(controllerId, `/confirmationBase/${actionId}`) });
    return this.deploymentOf(base.id, base.confirmation, true);
  }

  async sendConfirmation(controllerId: string, actionId: number, confirmation: DdiConfirmation): Promise<void> {
    await this.request({
      method: "POST",
      url: this.path(controllerId, `/confirmationBase/${actionId}/feedback`),
      data: { confirmation: confirmation.confirmation, ...(confirmation.code === undefined ? {} : { code: confirmation.code }), details: confirmation.details ?? [] },
    });
  }

  private deploymentOf(id: string, d: WireDeploymentBase["deployment"], confirmationRequired: boolean): DdiDeployment {
    const update = d.update ?? "forced";
    return {
      confirmationRequired,
      actionId: Number(id),
      download: d.download ?? "forced",
      update,
      type: assignmentType(update),
      maintenanceWindow: d.maintenanceWindow,
      chunks: d.chunks.map((c) => ({
        part: c.part, name: c.name, version: c.version, encrypted: c.encrypted ?? false, metadata: c.metadata ?? [],
        artifacts: (c.artifacts ?? []).map((a) => ({
          filename: a.filename, size: a.size, hashes: { ...a.hashes },
          links: {
            downloadHttps: a._links?.download?.href, downloadHttp: a._links?.["download-http"]?.href,
            md5sumHttps: a._links?.md5sum?.href, md5sumHttp: a._links?.["md5sum-http"]?.href,
          },
        })),
      })),
    };
  }

  async sendFeedback(controllerId: string, actionId: number, feedback: DdiFeedback): Promise<void> {
    await this.request({ method: "POST", url: this.path(controllerId, `/deploymentBase/${actionId}/feedback`), data: wireFeedback(feedback) });
  }

  async sendConfigData(controllerId: string, attributes: Record<string, string>, mode: ConfigDataMode = "merge"): Promise<void> {
    await this.request({ method: "PUT", url: this.path(controllerId, "/configData"), data: { data: attributes, mode } });
  }

  async getCancelAction(controllerId: string, actionId: number): Promise<DdiCancelAction> {
    const cancel = await this.request<WireCancel>({ method: "GET", url: this.path(controllerId, `/cancelAction/${actionId}`) });
    return { actionId: Number(cancel.id ?? actionId), stopActionId: Number(cancel.cancelAction.stopId) };
  }

  async sendCancelFeedback(controllerId: string, actionId: number, feedback: DdiFeedback): Promise<void> {
    await this.request({ method: "POST", url: this.path(controllerId, `/cancelAction/${actionId}/feedback`), data: wireFeedback(feedback) });
  }
}
