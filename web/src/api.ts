// The dashboard's only way to Aerie: the REST API with the operator's API token as a bearer token, and the live
// events stream read with fetch (EventSource cannot send an Authorization header).
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export type Role = "viewer" | "operator" | "release-manager" | "approver" | "admin";

export interface Me {
  principal: string;
  role: Role;
  /** False when the API runs without operator authentication (every button is shown). */
  authenticated: boolean;
  /** The permissions GET /api/v1/me lists for the caller (the API's permission table, api/auth/permissions.ts). */
  permissions?: string[];
}

/** What each role may do, as the API's permission table (api/auth) enforces it; the API stays the judge. */
export interface Capabilities {
  operate: boolean;
  approve: boolean;
  release: boolean;
}

export function capabilitiesOf(me: Me): Capabilities {
  if (me.permissions) {
    return { operate: me.permissions.includes("campaigns:operate"), approve: me.permissions.includes("campaigns:approve"), release: me.permissions.includes("releases:manage") };
  }
  const role = me.role;
  const admin = role === "admin";
  return { operate: admin || role === "operator", approve: admin || role === "approver", release: admin || role === "release-manager" };
}

export class Api {
  constructor(readonly token: string | null) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(path, {
      method,
      headers: this.headers(body === undefined ? {} : { "content-type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (!response.ok) {
      const message = (parsed as { error?: { message?: string } })?.error?.message ?? `HTTP ${response.status}`;
      throw new ApiError(response.status, message);
    }
    return parsed as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  /** Who the token belongs to. Without operator authentication on the API (no /me), everything is allowed. */
  async me(): Promise<Me> {
    try {
      const me = await this.get<Record<string, unknown>>("/api/v1/me");
      const roles = Array.isArray(me.roles) ? (me.roles as Role[]) : [];
      const role = (typeof me.role === "string" ? me.role : roles.includes("admin") ? "admin" : roles[0] ?? "viewer") as Role;
      const principal = String(me.name ?? me.principal ?? me.subject ?? me.id ?? me.tokenId ?? "operator");
      const permissions = Array.isArray(me.permissions) ? (me.permissions as string[]) : undefined;
      return { principal, role, authenticated: true, permissions };
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return { principal: "anonymous", role: "admin", authenticated: false };
      throw error;
    }
  }
}

export interface LiveEvent {
  type: "campaign" | "campaign.progress" | "action" | "presence" | "ready";
  campaignId?: string | null;
  controllerId?: string;
  status?: string;
  online?: boolean;
  byStatus?: Record<string, number>;
  [key: string]: unknown;
}

/** Reads GET /api/v1/events until aborted, reconnecting after a drop; calls onEvent for each event. */
export function streamEvents(api: Api, query: string, onEvent: (event: LiveEvent) => void, onState?: (live: boolean) => void): () => void {
  const controller = new AbortController();
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(`/api/v1/events${query}`, { headers: api.headers({ accept: "text/event-stream" }), signal: controller.signal });
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onState?.(true);
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const type = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (type && data) onEvent({ ...(JSON.parse(data) as object), type } as LiveEvent);
          }
        }
      } catch {
        // dropped or aborted: retry below unless aborted
      }
      onState?.(false);
      if (!controller.signal.aborted) await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void run();
  return () => controller.abort();
}

export const fmtTime = (value: string | null | undefined) => (value ? new Date(value).toLocaleString() : "—");
