// GET /api/v1/events: Server-Sent Events (text/event-stream). Each event is `event: <type>` with a JSON `data:`
// line; `?types=` and `?campaignId=` narrow the stream; a comment every 15 s keeps proxies from closing it.
// What a caller may see is decided per event type by the permission EVENT_PERMISSIONS declares for it and the
// caller's roles: the default stream carries only visible types (named in `ready`); asking for another is a 403.
import { Router, type Request } from "express";
import { allow, forbidden } from "../auth/allow.js";
import { can, principalOf } from "../auth/principal.js";
import { badRequest } from "../http-error.js";
import { EVENT_PERMISSIONS, EVENT_TYPES, type EventHub, type EventType, type LiveEvent } from "../events/hub.js";
import { uuidParam } from "./common.js";

const KEEPALIVE_MS = 15_000;

/** Which event types the request's caller may see. */
export type EventVisibility = (req: Request, type: EventType) => boolean;

/** The caller's roles hold the permission the type declares. */
export const visibleToRole: EventVisibility = (req, type) => can(principalOf(req), EVENT_PERMISSIONS[type]);

export function eventRoutes(hub: EventHub, visible: EventVisibility = visibleToRole): Router {
  const router = Router();
  router.get("/", allow("read"), async (req, res) => {
    const requested = typeof req.query.types === "string" && req.query.types !== "";
    const rawTypes = requested ? (req.query.types as string).split(",") : [...EVENT_TYPES];
    const unknown = rawTypes.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) throw badRequest(`types must be a comma-separated list of ${EVENT_TYPES.join(", ")} (unknown: ${unknown.join(", ")})`);
    const hidden = (rawTypes as EventType[]).filter((t) => !visible(req, t));
    // Asked for by name: refused rather than silently left out. The default stream just leaves them out.
    if (requested && hidden.length > 0) {
      const roles = principalOf(req).roles.join(", ") || "no role";
      const needs = hidden.map((t) => `${t} needs ${EVENT_PERMISSIONS[t]}`).join(", ");
      throw forbidden(`${roles} may not see event types ${hidden.join(", ")} (${needs})`, "forbidden", { types: hidden, permissions: hidden.map((t) => EVENT_PERMISSIONS[t]) });
    }
    const campaignId = req.query.campaignId === undefined ? undefined : uuidParam(String(req.query.campaignId), "campaignId");
    const types = new Set((rawTypes as EventType[]).filter((t) => visible(req, t)));

    let sequence = 0;
    const send = (event: LiveEvent) => {
      if (!types.has(event.type)) return;
      if (campaignId && event.campaignId !== campaignId) return;
      res.write(`id: ${++sequence}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const unsubscribe = await hub.subscribe(send);
    res.status(200).set({ "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache, no-transform", Connection: "keep-alive", "X-Accel-Buffering": "no" });
    res.flushHeaders();
    // Tells the client how long to wait before reconnecting, and which types it gets.
    res.write(`retry: 2000\nevent: ready\ndata: ${JSON.stringify({ types: [...types] })}\n\n`);
    const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
    // express types the app's events as "mount" only; it is a plain EventEmitter.
    const app = req.app as unknown as NodeJS.EventEmitter;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(keepalive);
      unsubscribe();
      app.off("aerie:closing", end);
      res.end();
    };
    req.on("close", end);
    app.setMaxListeners(0);
    app.on("aerie:closing", end);
  });
  return router;
}
