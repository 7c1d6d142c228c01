// The aerie_events notification channel, read by the API's live events and the Home Assistant extension. Most
// notifications are one event. The rows one statement inserts into device_actions (the bridge registers a rollout
// start 500 at a time) come as a few "action.batch" notifications instead of one each: a notification per row was
// about a quarter of PostgreSQL's time in registering them. Readers get them back as the per-row events they stand for.

export const LIVE_EVENTS_CHANNEL = "aerie_events";

/** An event as announced: its type, and the fields of that type. */
export interface AnnouncedEvent {
  type: string;
  [key: string]: unknown;
}

/** The events one notification carries, in order; none for a payload that is not an event. */
export function eventsOfNotification(payload: string | undefined): AnnouncedEvent[] {
  if (!payload) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return [];
  }
  if (typeof parsed !== "object" || parsed === null || typeof (parsed as AnnouncedEvent).type !== "string") return [];
  const event = parsed as AnnouncedEvent;
  if (event.type !== "action.batch") return [event];
  // Each row's event as the row trigger words it: type, the row's fields, and the statement's time.
  const rows = Array.isArray(event.actions) ? (event.actions as Record<string, unknown>[]) : [];
  return rows.map((row) => ({ type: "action", ...row, at: event.at }));
}
