// A minimal client of Aerie's REST API for scripts and tests: every call checks the status and
// throws the API's own error message otherwise.
import type { Readable } from "node:stream";

export class AerieApiError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

export interface CampaignView {
  id: string;
  name: string;
  status: string;
  hawkbitRolloutId: number | null;
  progress: { devices: number; byStatus: Record<string, number> };
  devices: { controllerId: string; actionId: number; status: string; detail: string | null }[];
}

export class AerieClient {
  /** `token`: an API token (aerie_…) or OIDC access token, sent as a bearer token; the API refuses anonymous calls. */
  constructor(readonly baseUrl: string, private readonly token?: string) {}

  /** The Authorization header, for callers that use fetch themselves. */
  get authorization(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  async request<T>(method: string, path: string, body?: unknown, expected = [200, 201]): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { "content-type": "application/json", ...this.authorization },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (!expected.includes(response.status)) throw new AerieApiError(response.status, parsed);
    return parsed as T;
  }

  /** A text request (the keyring's PEM routes) with the same credentials as request(); the caller judges the status. */
  async send(method: string, path: string, body: string | undefined, contentType = "text/plain"): Promise<{ status: number; text: string }> {
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers: { "content-type": contentType, ...this.authorization }, body });
    return { status: response.status, text: await response.text() };
  }

  async uploadArtifact(filename: string, body: Buffer | Readable, size?: number): Promise<{ id: string; sha256: string; size: number }> {
    const response = await fetch(`${this.baseUrl}/api/v1/artifacts?filename=${encodeURIComponent(filename)}`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", ...this.authorization, ...(size ? { "content-length": String(size) } : {}) },
      body: body as BodyInit,
      duplex: "half",
    } as RequestInit);
    const parsed = await response.json();
    if (response.status !== 201) throw new AerieApiError(response.status, parsed);
    return parsed;
  }

  /** Issues a device's MQTT token (POST /api/v1/devices/{id}/credentials); rotate replaces an existing one. */
  async issueDeviceToken(controllerId: string, rotate = false): Promise<string> {
    const issued = await this.request<{ token: string }>("POST", `/api/v1/devices/${encodeURIComponent(controllerId)}/credentials${rotate ? "?rotate=true" : ""}`);
    return issued.token;
  }

  signArtifact(id: string) {
    return this.request<{ keyName: string; keyVersion: number; algorithm: string; value: string }>("POST", `/api/v1/artifacts/${id}/signatures`);
  }

  createRelease(body: { name: string; version: string; artifacts: string[]; description?: string }) {
    return this.request<{ id: string; hawkbitDistributionSetId: number }>("POST", "/api/v1/releases", body);
  }

  createCampaign(body: { name: string; releaseId: string; targetFilter: string; groups?: number; start?: boolean; successThreshold?: number; errorThreshold?: number }) {
    return this.request<CampaignView>("POST", "/api/v1/campaigns", body);
  }

  campaign(id: string) {
    return this.request<CampaignView>("GET", `/api/v1/campaigns/${id}`);
  }

  devices() {
    return this.request<{ total: number; devices: { controllerId: string }[] }>("GET", "/api/v1/devices?limit=500");
  }

  keyring() {
    return this.request<{ keyName: string; keys: { version: number; pem: string }[] }>("GET", "/api/v1/keyring");
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.baseUrl}/metrics`, { headers: this.authorization })).text();
  }
}

/** Polls `probe` until it returns a value, or throws after `timeoutMs` with `what` in the message. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
