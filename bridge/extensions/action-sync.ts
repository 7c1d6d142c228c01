// hawkBit actions → notices on each device's MQTT topic. Leader only (see leader.ts).
//
// The bridge never polls DDI per device. It asks the Management API, in bulk, which actions changed
// since its last pass (`lastModifiedAt=ge=<cursor>`), with a full pass over every open action
// (`active==true`, read by id, see hawkbit/actions.ts) after each election and every few minutes to heal
// anything missed. Only fields and values hawkBit 1.x accepts are asked for (ActionFields); an action's
// phase is its hawkBit 1.x status. Per changed action:
//   running/retrieved/…      → deployment notice (one DDI call per distribution set, see notices.ts)
//   wait_for_confirmation    → deployment notice with consentRequired (consent.ts stores the answer,
//                              feedback-relay.ts relays it)
//   canceling                → cancel notice (feedback.ts stores the device's answer, feedback-relay.ts relays it)
//   finished/error/canceled  → the retained notices are cleared
// The pass runs every syncIntervalMs while any action is open (and for 5 minutes after), every
// idleSyncIntervalMs otherwise, and at once on `NOTIFY aerie_bridge_wake` (sent when a campaign starts or
// advances, see wake.ts), then every 200 ms until the new actions show up (at most 10 s).
// A channel that pushes actions (DMF) does not wait for the listing: each pushed action is announced as it
// arrives (batched per few milliseconds), and the next pass only links it to its campaign (DMF does not name
// the rollout) and heals what a push missed. Pushes and pages are handled one at a time, so an action is
// announced once whichever saw it first. With nothing open, no wake-up pending and the channel's connection
// unbroken since the last pass (nothing can have been missed), the idle pass is skipped: an idle fleet on DMF
// costs hawkBit no request at all.
import pg from "pg";
import { PassLoop } from "../../core/pass-loop.js";
import { HawkbitError } from "../../hawkbit/errors.js";
import type { PushedAction } from "../../hawkbit/channel.js";
import type { MgmtAction } from "../../hawkbit/types.js";
import { pagesAhead } from "../../hawkbit/pages-ahead.js";
import { OPEN_ACTIONS, actionStatus, controllerIdOf, distributionSetIdOf, isOpen, pagesById } from "../../hawkbit/actions.js";
import type { BridgeContext, Extension } from "../extension.js";
import { WAKE_CHANNEL } from "../wake.js";
import { FINAL_STATUSES } from "./action-status.js";

type Phase = "notice" | "consent" | "canceling";
interface Known {
  controllerId: string;
  phase: Phase;
  /**
   * This leader has published the phase's notice. A new leader reads the open actions from Postgres but cannot know
   * that their retained notices are still on the broker (an in-memory broker restarted with Aerie keeps none) nor
   * that each device's hello was heard (one sent before the bridge subscribed is lost): its first full pass
   * publishes every open action's notice again.
   */
  announced: boolean;
  /** Its device_actions row names its campaign (a pushed action's is found by the next listing). */
  linked: boolean;
}

/** What announcing an action needs, from a Management listing or a push. */
interface ActionChange {
  id: number;
  rollout?: number;
  distributionSetId?: number;
  /** hawkBit's creation time (listings only): the notice latency metric. */
  createdAt?: number;
  shareKey?: string;
}

/** A new action to register and announce. */
interface Fresh {
  change: ActionChange;
  controllerId: string;
  phase: Phase;
}

/** A pushed batch's new actions, registered ahead of the batch's turn (see registerEarly). */
interface EarlyRegistration {
  actionIds: Set<number>;
  /** The actions whose device is ours */
  ours: Promise<Set<number>>;
}

const fromListing = (action: MgmtAction): ActionChange =>
  ({ id: action.id, rollout: action.rollout, distributionSetId: distributionSetIdOf(action), createdAt: action.createdAt });

const PAGE = 500;
/** Listing pages requested ahead of the one being handled (see pages-ahead.ts). */
const PAGES_AHEAD = 4;
/** A rollout starts its next group only when the last one ends: stay quick for a while after activity. */
const STAY_QUICK_MS = 5 * 60_000;
const FULL_PASS_EVERY_MS = 5 * 60_000;
/** How long after a wake-up, and how often, passes look for the actions a start is about to create. */
const WAKE_BURST_MS = 10_000;
const WAKE_BURST_INTERVAL_MS = 200;
/** hawkBit's clock and ours may differ, and a page may be read while an action changes. */
const CURSOR_OVERLAP_MS = 5_000;
/** Pushed actions are gathered this long (or up to PUSH_BATCH) and registered in one statement. */
const PUSH_GATHER_MS = 5;
const PUSH_BATCH = 500;
/**
 * While hawkBit pushes a burst (a rollout start over DMF), a listing would only compete with announcing it: passes
 * wait until pushes pause this long, but never more than PUSH_DEFER_MAX_MS in a row (closures need listings).
 */
const PUSH_QUIET_MS = 300;
const PUSH_DEFER_MAX_MS = 5_000;

const REGISTER_ACTIONS = `
WITH a AS (SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::text[]) AS a(action_id, controller_id, rollout, status)),
ins AS (
  INSERT INTO device_actions (id, hawkbit_action_id, device_id, campaign_id, status, created_at, updated_at)
  SELECT gen_random_uuid(), a.action_id, d.id, c.id, a.status, now(), now()
  FROM a JOIN devices d ON d.controller_id = a.controller_id
  LEFT JOIN LATERAL (SELECT id FROM campaigns WHERE hawkbit_rollout_id = a.rollout LIMIT 1) c ON true
  ON CONFLICT (hawkbit_action_id) DO NOTHING
)
SELECT a.action_id FROM a JOIN devices d ON d.controller_id = a.controller_id`;

const LINK_ACTIONS = `
UPDATE device_actions da SET campaign_id = c.id
FROM unnest($1::int[], $2::int[]) AS a(action_id, rollout) JOIN campaigns c ON c.hawkbit_rollout_id = a.rollout
WHERE da.hawkbit_action_id = a.action_id AND da.campaign_id IS NULL`;

export class ActionSyncExtension implements Extension {
  readonly name = "action-sync";
  readonly leaderOnly = true;
  private readonly known = new Map<number, Known>();
  private readonly loop = new PassLoop(
    async () => {
      if (this.nothingToAsk()) return this.nextDelay();
      const deferral = this.deferForPushes();
      if (deferral > 0) return deferral;
      if ((await this.sync()) > 0) {
        this.lastActivity = Date.now();
        this.burstUntil = 0;
      }
      return this.nextDelay();
    },
    (error) => {
      this.ctx.metrics.bridgeErrors.inc({ stage: "sync" });
      this.ctx.log.warn({ err: (error as Error).message }, "action sync failed; retrying");
      return this.nextDelay();
    },
  );
  private cursor: number | undefined;
  private lastFullPass = 0;
  private listener: pg.Client | undefined;
  private lastActivity = 0;
  /** After a wake-up, until this time or the first change seen, passes follow each other quickly. */
  private burstUntil = 0;
  /** The pass under way has found new or changed actions. */
  private passFoundChanges = false;
  /** Pages and pushes, one at a time (see serially). */
  private turn: Promise<unknown> = Promise.resolve();
  private pushed: PushedAction[] = [];
  /** Actions of pushed batches registered ahead of their turn, until that turn is over (see registerEarly). */
  private readonly registeringEarly = new Set<number>();
  /** The last early registration; the next one starts after it (see registerEarly). */
  private registering: Promise<unknown> = Promise.resolve();
  private pushTimer: NodeJS.Timeout | undefined;
  private unsubscribePush: (() => void) | undefined;
  /** The channel's push epoch when the last pass started (see nothingToAsk). */
  private passEpoch: number | undefined;
  /** A push batch failed: only a pass can announce it now. */
  private pushFailed = false;
  private lastPushAt = 0;
  private deferringSince: number | undefined;

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.cursor = undefined;
    this.known.clear();
    // A new leader does not know what happened before it: quick passes first, idle later.
    this.lastActivity = Date.now();
    const open = await this.ctx.db.deviceAction.findMany({ where: { status: { notIn: [...FINAL_STATUSES] } }, select: { hawkbitActionId: true, status: true, campaignId: true, device: { select: { controllerId: true } } } });
    for (const a of open) {
      const phase = a.status === "canceling" ? "canceling" : a.status === "awaiting-consent" ? "consent" : "notice";
      this.known.set(a.hawkbitActionId, { controllerId: a.device.controllerId, phase, announced: false, linked: a.campaignId !== null });
    }
    // Partial contexts of unit tests have no channel.
    this.unsubscribePush = this.ctx.channel?.onAction?.((action) => this.onPushed(action));
    await this.listen().catch((error) => this.ctx.log.warn({ err: (error as Error).message }, "no wake-up notifications; polling only"));
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.unsubscribePush?.();
    this.unsubscribePush = undefined;
    clearTimeout(this.pushTimer);
    this.pushTimer = undefined;
    this.pushed = [];
    await this.loop.stop();
    await this.turn;
    // A batch's turn that saw the stop does not wait for its early registration: stopped is stopped only after it.
    await this.registering;
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.ctx.databaseUrl, application_name: "aerie-bridge-wake" });
    client.on("error", () => {
      if (this.listener === client) this.listener = undefined;
    });
    client.on("notification", () => this.wake());
    await client.connect();
    await client.query(`LISTEN ${WAKE_CHANNEL}`);
    this.listener = client;
  }

  /** Runs a pass as soon as the current one (if any) ends. */
  wake(): void {
    if (this.loop.stopped) return;
    if (this.passFoundChanges) {
      // The pass under way is already announcing new actions (a rollout start wakes the bridge twice: when
      // it is started and when hawkBit reports it running). Another pass right after it would list them
      // all again while their notices still go out; the quick interval that follows is soon enough.
      this.lastActivity = Date.now();
      return;
    }
    // hawkBit creates the actions of a just-started rollout (or group) in its scheduler, a moment after
    // the start was accepted: passes every WAKE_BURST_INTERVAL_MS until they appear, then the quick
    // interval for a while, so that a pass that came too early does not cost a whole interval.
    this.lastActivity = Date.now();
    this.burstUntil = Date.now() + WAKE_BURST_MS;
    // A channel that pushes will bring what a start creates: the listing waits for a pause in the pushes
    // instead of competing with them (see deferForPushes).
    if (this.ctx.channel?.pushEpoch !== undefined) this.lastPushAt = Date.now();
    this.loop.wake();
  }

  /** Quick while actions are open or something changed lately, idle otherwise. */
  private nextDelay(): number {
    if (Date.now() < this.burstUntil) return Math.min(WAKE_BURST_INTERVAL_MS, this.ctx.syncIntervalMs);
    if (this.known.size > 0) this.lastActivity = Date.now();
    return Date.now() - this.lastActivity < STAY_QUICK_MS ? this.ctx.syncIntervalMs : this.ctx.idleSyncIntervalMs;
  }

  private get stopped(): boolean {
    return this.loop.stopped;
  }

  /** One pass; returns how many actions it saw change. */
  async sync(): Promise<number> {
    try {
      return await this.pass();
    } finally {
      this.passFoundChanges = false;
    }
  }

  /** How long to put the pass off while pushes are arriving (0: run it now). */
  private deferForPushes(): number {
    const now = Date.now();
    const quietIn = this.lastPushAt + PUSH_QUIET_MS - now;
    if (quietIn <= 0) {
      this.deferringSince = undefined;
      return 0;
    }
    this.deferringSince ??= now;
    if (now - this.deferringSince >= PUSH_DEFER_MAX_MS) {
      this.deferringSince = undefined;
      return 0;
    }
    return quietIn;
  }

  /** Pushes tell everything a pass could find: nothing is open, nothing was missed, no start is awaited. */
  private nothingToAsk(): boolean {
    const epoch = this.ctx.channel?.pushEpoch;
    return epoch !== undefined && epoch === this.passEpoch && !this.pushFailed && this.known.size === 0 && this.cursor !== undefined && Date.now() >= this.burstUntil;
  }

  private async pass(): Promise<number> {
    const epoch = this.ctx.channel?.pushEpoch;
    // Until this pass succeeds, the next one is not skipped.
    this.passEpoch = undefined;
    this.pushFailed = false;
    const full = this.cursor === undefined || Date.now() - this.lastFullPass > FULL_PASS_EVERY_MS;
    const startedAt = Date.now();
    const seenOpen = new Set<number>();
    let cursor = this.cursor ?? 0;
    let seen = 0;
    const list = (query: { q: string; sort: string; offset: number; limit: number }) => {
      this.ctx.metrics.hawkbitRequests.inc({ api: "mgmt" });
      // Full: hawkBit 1.x's default compact representation has no distributionset link, which the notice uses.
      return this.ctx.hawkbit.listActions({ ...query, representation: "full" });
    };
    // The full pass reads every open action by id (pages that never shift while actions close). The pass over
    // recent changes asks for them in the order they changed, its pages requested ahead (a rollout start opens
    // thousands at once); one that changes again meanwhile moves to the end and is read now or next time.
    const pages = full
      ? pagesById((query) => list({ ...query, q: query.q!, sort: query.sort!, offset: 0, limit: PAGE }), { q: OPEN_ACTIONS, pageSize: PAGE })
      : pagesAhead(
        (offset) => list({ q: `lastModifiedAt=ge=${this.cursor! - CURSOR_OVERLAP_MS}`, sort: "lastModifiedAt:ASC,id:ASC", offset, limit: PAGE }),
        { pageSize: PAGE, ahead: PAGES_AHEAD },
      );
    for await (const content of pages) {
      if (this.stopped) break;
      for (const action of content) {
        cursor = Math.max(cursor, action.lastModifiedAt ?? 0);
        if (isOpen(action)) seenOpen.add(action.id);
      }
      seen += await this.serially(() => this.handlePage(content));
      if (seen > 0) this.passFoundChanges = true;
    }
    if (this.stopped) return seen;
    if (full) {
      // Closed in hawkBit without a change we saw (e.g. deleted, or missed while not leading)? Asked one by
      // one: offset pages shift while actions finish during the pass, so an open action can be missed.
      for (const [actionId, known] of this.known) if (!seenOpen.has(actionId)) await this.closeIfClosed(actionId, known);
      this.lastFullPass = startedAt;
    }
    // Never ahead of our own clock at the start: an action changed during the pass is seen next time.
    this.cursor = Math.min(cursor || startedAt, startedAt);
    this.passEpoch = epoch;
    return seen;
  }

  /** Runs `work` after the page or push batch under way, so that both never announce the same action. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => undefined);
    return result;
  }

  private onPushed(action: PushedAction): void {
    if (this.stopped) return;
    this.lastPushAt = Date.now();
    this.pushed.push(action);
    if (this.pushed.length >= PUSH_BATCH) this.flushPushed();
    else this.pushTimer ??= setTimeout(() => this.flushPushed(), PUSH_GATHER_MS);
  }

  private flushPushed(): void {
    clearTimeout(this.pushTimer);
    this.pushTimer = undefined;
    const batch = this.pushed;
    this.pushed = [];
    if (batch.length === 0) return;
    this.lastActivity = Date.now();
    // Quiet is counted from the end of announcing, not from the last arrival: publishing is the longer part.
    // The latest push of each action, in first-arrival order: what both registration and announcing work from.
    const latest = [...new Map(batch.map((action) => [action.actionId, action])).values()];
    const early = this.registerEarly(latest);
    this.serially(() => this.handlePushed(latest, early)).then(() => {
      this.lastPushAt = Date.now();
    }, (error) => {
      // The next listing announces what this batch could not.
      this.pushFailed = true;
      this.ctx.metrics.bridgeErrors.inc({ stage: "sync" });
      this.ctx.log.warn({ err: (error as Error).message, actions: batch.length }, "could not announce pushed actions; the next pass will");
    }).finally(() => {
      for (const id of early.actionIds) this.registeringEarly.delete(id);
    });
  }

  /**
   * Starts registering a pushed batch's new actions as soon as the previous batch's registration is done, while
   * earlier batches are still being announced; the batch's turn (handlePushed) then only waits for it. Registration is
   * most of announcing a rollout start, and a batch registered only after the previous batch's notices were out left
   * PostgreSQL idle meanwhile. One statement at a time: on 2 cores two at once took the CPU the first notices needed
   * (bench:fanout, p50 0.40–0.56 s against 0.51–0.63 s, p95 alike; BENCHMARKS.md). Actions already known, or in an
   * earlier batch still on its way, are left to the turn itself. Pushed actions address only the things Aerie created
   * (hawkBit sends DMF messages to a thing's reply address), so their shared notice is prepared alongside.
   */
  private registerEarly(latest: PushedAction[]): EarlyRegistration {
    const rows: Fresh[] = [];
    for (const { actionId, controllerId, phase, shareKey } of latest) {
      if (this.known.has(actionId) || this.registeringEarly.has(actionId)) continue;
      this.registeringEarly.add(actionId);
      rows.push({ change: { id: actionId, shareKey }, controllerId, phase });
    }
    this.prepareNotices(rows);
    const ours = rows.length === 0 ? Promise.resolve(new Set<number>()) : this.registering.then(() => this.register(rows));
    // A failure is reported by the batch's turn (or not at all when the turn finds nothing left to announce).
    this.registering = ours.catch(() => undefined);
    return { actionIds: new Set(rows.map((r) => r.change.id)), ours };
  }

  private async handlePushed(latest: PushedAction[], early: EarlyRegistration): Promise<void> {
    const fresh: Fresh[] = [];
    for (const { actionId, controllerId, phase, shareKey } of latest) {
      if (this.stopped) return;
      const change: ActionChange = { id: actionId, shareKey };
      const known = this.known.get(actionId);
      if (known?.phase === phase && known.announced) continue;
      if (known) await this.transition(change, known, phase);
      else fresh.push({ change, controllerId, phase });
    }
    if (fresh.length > 0) await this.announceNew(fresh, early);
  }

  private async handlePage(actions: MgmtAction[]): Promise<number> {
    const fresh: Fresh[] = [];
    const unlinked: MgmtAction[] = [];
    let changed = 0;
    for (const action of actions) {
      const controllerId = controllerIdOf(action);
      if (!controllerId) continue;
      const known = this.known.get(action.id);
      const status = actionStatus(action);
      if (!isOpen(action)) {
        if (known) {
          if (!known.linked) unlinked.push(action);
          await this.close(action.id, known);
          changed++;
        }
        continue;
      }
      const phase: Phase = status === "canceling" ? "canceling" : status === "wait_for_confirmation" ? "consent" : "notice";
      if (known && !known.linked) unlinked.push(action);
      if (known?.phase === phase && known.announced) continue;
      changed++;
      if (known) await this.transition(fromListing(action), known, phase);
      else fresh.push({ change: fromListing(action), controllerId, phase });
    }
    if (unlinked.length > 0) await this.link(unlinked);
    if (fresh.length > 0) await this.announceNew(fresh);
    return changed;
  }

  /** Names the campaign of actions announced from a push, now that the listing gives their rollout. */
  private async link(actions: MgmtAction[]): Promise<void> {
    const withRollout = actions.filter((a) => a.rollout !== undefined && a.rollout !== null);
    if (withRollout.length > 0) await this.ctx.pool.query(LINK_ACTIONS, [withRollout.map((a) => a.id), withRollout.map((a) => a.rollout)]);
    for (const action of actions) {
      const known = this.known.get(action.id);
      if (known) known.linked = true;
    }
  }

  /**
   * New actions, registered (in one statement, or earlier by registerEarly) and then announced; only those of
   * devices in our registry are ours to serve.
   */
  private async announceNew(fresh: Fresh[], early?: EarlyRegistration): Promise<void> {
    const late = early ? fresh.filter((f) => !early.actionIds.has(f.change.id)) : fresh;
    const [registeredEarly, registeredNow] = await Promise.all([
      early && late.length < fresh.length ? early.ours : new Set<number>(),
      late.length > 0 ? this.register(late) : new Set<number>(),
    ]);
    for (const { change, controllerId, phase } of fresh) {
      if (!registeredEarly.has(change.id) && !registeredNow.has(change.id)) continue;
      // A listed action without a rollout (a direct assignment) has no campaign to link.
      const known: Known = { controllerId, phase: "notice", announced: false, linked: change.shareKey === undefined };
      this.known.set(change.id, known);
      await this.transition(change, known, phase, true);
    }
  }

  /** Writes device_actions rows (existing ones are left alone); answers the actions whose device is ours. */
  private async register(rows: Fresh[]): Promise<Set<number>> {
    const status = (phase: Phase) => (phase === "consent" ? "awaiting-consent" : phase === "canceling" ? "canceling" : "notified");
    const { rows: ours } = await this.ctx.pool.query<{ action_id: number }>(REGISTER_ACTIONS, [
      rows.map((f) => f.change.id),
      rows.map((f) => f.controllerId),
      rows.map((f) => f.change.rollout ?? null),
      rows.map((f) => status(f.phase)),
    ]);
    return new Set(ours.map((row) => row.action_id));
  }

  /** Starts building one notice per shared key; a failure is left to the device's own notice to report. */
  private prepareNotices(fresh: Fresh[]): void {
    const keys = new Set<string>();
    for (const { change, controllerId, phase } of fresh) {
      if (phase === "canceling" || change.shareKey === undefined || keys.has(`${change.shareKey}:${phase}`)) continue;
      keys.add(`${change.shareKey}:${phase}`);
      this.ctx.notices.prepare({ actionId: change.id, controllerId, consentRequired: phase === "consent", shareKey: change.shareKey }).catch(() => undefined);
    }
  }

  private async transition(action: ActionChange, known: Known, phase: Phase, isNew = false): Promise<void> {
    const { topics, metrics, db } = this.ctx;
    const controllerId = known.controllerId;
    try {
      if (phase === "canceling") {
        const moved = await db.deviceAction.updateMany({ where: { hawkbitActionId: action.id, status: { notIn: [...FINAL_STATUSES] } }, data: { status: "canceling" } });
        // Already over on the device's side (a rejected consent Aerie is ending in hawkBit): nothing to cancel there.
        if (moved.count === 0 && !isNew) {
          known.phase = phase;
          known.announced = true;
          return;
        }
        const cancel = await this.ctx.channel.getCancelAction(controllerId, action.id);
        this.ctx.publish(topics.device(controllerId, "cancel"), JSON.stringify({ actionId: cancel.stopActionId, issuedAt: new Date().toISOString() }), { qos: 1, retain: true });
        metrics.cancelsSent.inc();
      } else {
        const consentRequired = phase === "consent";
        if (!isNew) {
          await db.deviceAction.updateMany({
            where: { hawkbitActionId: action.id, status: consentRequired ? "notified" : "awaiting-consent" },
            data: { status: consentRequired ? "awaiting-consent" : "notified" },
          });
        }
        const notice = await this.ctx.notices.payload({
          actionId: action.id, controllerId, consentRequired, distributionSetId: action.distributionSetId, rolloutId: action.rollout, shareKey: action.shareKey,
        });
        this.ctx.publish(topics.device(controllerId, "deployment"), notice, { qos: 1, retain: true });
        metrics.deploymentsSent.inc();
        if (isNew && action.createdAt) metrics.noticeLatencySeconds.observe(Math.max(0, Date.now() - action.createdAt) / 1000);
      }
      known.phase = phase;
      known.announced = true;
    } catch (error) {
      // Left in its old phase: the next full pass tries again.
      metrics.bridgeErrors.inc({ stage: "sync" });
      this.ctx.log.warn({ controllerId, actionId: action.id, err: (error as Error).message }, "could not relay an action change");
    }
  }

  private async closeIfClosed(actionId: number, known: Known): Promise<void> {
    let action: MgmtAction | undefined;
    try {
      this.ctx.metrics.hawkbitRequests.inc({ api: "mgmt" });
      action = await this.ctx.hawkbit.getAction(actionId);
    } catch (error) {
      if (!(error instanceof HawkbitError && error.kind === "not-found")) throw error;
    }
    if (action && isOpen(action)) return;
    await this.close(actionId, known);
  }

  private async close(actionId: number, known: Known): Promise<void> {
    this.known.delete(actionId);
    await this.ctx.db.deviceAction.updateMany({ where: { hawkbitActionId: actionId, status: { notIn: [...FINAL_STATUSES] } }, data: { status: "closed", detail: "closed in hawkBit" } });
    this.ctx.publish(this.ctx.topics.device(known.controllerId, "deployment"), "", { qos: 1, retain: true });
    if (known.phase === "canceling") this.ctx.publish(this.ctx.topics.device(known.controllerId, "cancel"), "", { qos: 1, retain: true });
  }
}
