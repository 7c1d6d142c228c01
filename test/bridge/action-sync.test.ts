// The leader's bulk read of hawkBit actions: pages requested ahead in order, and a full pass that does
// not close an action just because a shifting offset page skipped it.
import { expect } from "chai";
import { HawkbitError } from "../../hawkbit/errors.js";
import type { MgmtAction, PagedList } from "../../hawkbit/types.js";
import type { BridgeContext } from "../../bridge/extension.js";
import { ActionSyncExtension } from "../../bridge/extensions/action-sync.js";
import { pagesAhead } from "../../hawkbit/pages-ahead.js";
import { pagesById } from "../../hawkbit/actions.js";
import { Topics } from "../../bridge/protocol/topics.js";
import { logger } from "../../core/log.js";
import { AerieMetrics } from "../../core/metrics.js";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("bridge: reading hawkBit action pages ahead", () => {
  it("requests up to `ahead` pages beyond the one handled and yields them in offset order", async () => {
    const answers = new Map<number, ReturnType<typeof deferred<PagedList<number>>>>();
    const requested: number[] = [];
    const fetchPage = (offset: number) => {
      requested.push(offset);
      const answer = deferred<PagedList<number>>();
      answers.set(offset, answer);
      return answer.promise;
    };
    const page = (offset: number, size: number): PagedList<number> => ({ content: Array.from({ length: size }, (_, i) => offset + i), total: 23, size });
    const pages = pagesAhead(fetchPage, { pageSize: 5, ahead: 2 });

    const first = pages.next();
    answers.get(0)!.resolve(page(0, 5));
    expect((await first).value).to.deep.equal([0, 1, 2, 3, 4]);
    const second = pages.next();
    await new Promise((resolve) => setImmediate(resolve));
    expect(requested).to.deep.equal([0, 5, 10]);
    // The later page answers first; the earlier one is still yielded first.
    answers.get(10)!.resolve(page(10, 5));
    answers.get(5)!.resolve(page(5, 5));
    expect((await second).value).to.deep.equal([5, 6, 7, 8, 9]);
    expect(requested).to.deep.equal([0, 5, 10, 15]);
    const rest: number[][] = [(await pages.next()).value as number[]];
    answers.get(15)!.resolve(page(15, 5));
    answers.get(20)!.resolve(page(20, 3));
    for await (const content of pages) rest.push(content);
    expect(rest).to.deep.equal([[10, 11, 12, 13, 14], [15, 16, 17, 18, 19], [20, 21, 22]]);
    expect(requested).to.deep.equal([0, 5, 10, 15, 20]);
  });

  it("reads one page after another until a short one when hawkBit gives no total", async () => {
    const requested: number[] = [];
    const fetchPage = async (offset: number): Promise<PagedList<number>> => {
      requested.push(offset);
      return { content: offset < 10 ? [offset, offset + 1] : [offset], size: 2 };
    };
    const seen: number[][] = [];
    for await (const content of pagesAhead(fetchPage, { pageSize: 2, ahead: 4 })) seen.push(content);
    expect(seen).to.deep.equal([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10]]);
    expect(requested).to.deep.equal([0, 2, 4, 6, 8, 10]);
  });

  it("leaves no unhandled rejection when the reader stops before a failed page", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const fetchPage = async (offset: number): Promise<PagedList<number>> => {
        if (offset > 0) throw new Error("hawkBit went away");
        return { content: [1, 2], total: 10, size: 2 };
      };
      for await (const content of pagesAhead(fetchPage, { pageSize: 2, ahead: 3 })) {
        expect(content).to.deep.equal([1, 2]);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

describe("hawkBit listings read by id (hawkbit/actions.ts)", () => {
  it("misses no open action when earlier ones close and newer ones appear between pages", async () => {
    // A server that filters by `active==true;id=gt=N`, orders by id and answers 3 per page; while the reader is
    // on its first page, actions 1 and 2 close and 11 appears (offset pages would now skip 4 and 5).
    const open = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
    let pagesServed = 0;
    const fetchPage = async ({ q, sort, limit }: { q?: string; sort?: string; limit?: number }): Promise<PagedList<{ id: number }>> => {
      expect(sort).to.equal("id:ASC");
      const after = Number(/id=gt=(\d+)/.exec(q ?? "")?.[1] ?? 0);
      const content = [...open].filter((id) => id > after).sort((a, b) => a - b).slice(0, limit).map((id) => ({ id }));
      if (++pagesServed === 1) {
        open.delete(1);
        open.delete(2);
        open.add(11);
      }
      return { content, total: open.size, size: content.length };
    };
    const seen: number[] = [];
    for await (const page of pagesById(fetchPage, { q: "active==true", pageSize: 3 })) seen.push(...page.map((a) => a.id));
    expect(seen).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 11]);
  });

  it("refuses a page that is not in ascending id order (a server ignoring the sort would make it skip actions)", async () => {
    const fetchPage = async ({ q }: { q?: string }): Promise<PagedList<{ id: number }>> =>
      q?.includes("id=gt=") ? { content: [{ id: 2 }, { id: 1 }], size: 2 } : { content: [{ id: 9 }, { id: 8 }], size: 2 };
    const reading = (async () => {
      for await (const page of pagesById(fetchPage, { pageSize: 2 })) void page;
    })();
    await reading.then(() => expect.fail("read on"), (error: Error) => expect(error.message).to.match(/not id:ASC/));
  });
});

/**
 * What the action sync uses of the bridge, with a hawkBit given by the test. Nothing listens at
 * databaseUrl, so the leader falls back to polling; the sync interval is so long that every pass a test
 * sees comes from the start, a wake-up or the burst after one.
 */
function fakeContext(parts: { hawkbit: object; db?: object; pool?: object; publish?: (topic: string, payload: string) => void }): BridgeContext {
  return {
    metrics: new AerieMetrics(),
    topics: new Topics("aerie/v1"),
    log: logger("test"),
    databaseUrl: "postgres://aerie@127.0.0.1:9/aerie",
    syncIntervalMs: 600_000,
    idleSyncIntervalMs: 600_000,
    db: { deviceAction: { findMany: async () => [] } },
    // Every announced action belongs to a registered device.
    pool: { query: async (_sql: string, params: number[][]) => ({ rows: params[0]!.map((id) => ({ action_id: id })) }) },
    notices: { payload: async ({ actionId }: { actionId: number }) => JSON.stringify({ actionId }), prepare: async () => undefined },
    publish: () => undefined,
    ...parts,
  } as unknown as BridgeContext;
}

const newAction = (id: number) => ({ id, status: "running", active: true, type: "update", forceType: "forced", lastModifiedAt: Date.now(), _links: { target: { href: `http://h/rest/v1/targets/dev-${id}`, name: `dev-${id}` } } }) as unknown as MgmtAction;

const tick = (ms = 10) => new Promise((resolve) => setTimeout(resolve, ms));

describe("bridge: full action pass", () => {
  /** A leader that knows action 7 of dev-7 as notified, against a hawkBit whose listing is `list`. */
  async function firstPassWith(list: MgmtAction[], getAction: (id: number) => Promise<MgmtAction>) {
    const published: { topic: string; payload: string }[] = [];
    const closedInDb: number[] = [];
    const asked: number[] = [];
    const ctx = fakeContext({
      hawkbit: {
        listActions: async (): Promise<PagedList<MgmtAction>> => ({ content: list, total: list.length, size: list.length }),
        getAction: (id: number) => {
          asked.push(id);
          return getAction(id);
        },
      },
      db: {
        deviceAction: {
          findMany: async () => [{ hawkbitActionId: 7, status: "notified", device: { controllerId: "dev-7" } }],
          updateMany: async ({ where }: { where: { hawkbitActionId: number } }) => void closedInDb.push(where.hawkbitActionId),
        },
      },
      publish: (topic: string, payload: string) => void published.push({ topic, payload }),
    });
    const sync = new ActionSyncExtension(ctx);
    await sync.start();
    for (let i = 0; i < 500 && asked.length === 0; i++) await tick();
    await sync.stop();
    return { asked, published, closedInDb };
  }

  it("asks about an open action the listing missed (offset pages shift) and keeps it open", async () => {
    const result = await firstPassWith([], async (id) => ({ id, status: "running", active: true, type: "update" }) as MgmtAction);
    expect(result.asked).to.deep.equal([7]);
    expect(result.closedInDb).to.deep.equal([]);
    expect(result.published).to.deep.equal([]);
  });

  it("closes an action that hawkBit finished or deleted without a change the bridge saw", async () => {
    const finished = await firstPassWith([], async (id) => ({ id, status: "finished", active: false, type: "update" }) as MgmtAction);
    expect(finished.closedInDb).to.deep.equal([7]);
    expect(finished.published).to.deep.equal([{ topic: "aerie/v1/devices/dev-7/deployment", payload: "" }]);

    const deleted = await firstPassWith([], async () => Promise.reject(new HawkbitError(404, "not found")));
    expect(deleted.asked).to.deep.equal([7]);
    expect(deleted.closedInDb).to.deep.equal([7]);
  });
});

describe("bridge: wake-up", () => {
  it("keeps looking quickly after a wake-up until the actions hawkBit creates a moment later appear", async () => {
    let listings = 0;
    let visibleFrom = Number.POSITIVE_INFINITY;
    const published: string[] = [];
    const ctx = fakeContext({
      hawkbit: {
        listActions: async (): Promise<PagedList<MgmtAction>> => {
          listings++;
          const content = listings >= visibleFrom ? [newAction(42)] : [];
          return { content, total: content.length, size: content.length };
        },
      },
      publish: (topic: string) => void published.push(topic),
    });
    const sync = new ActionSyncExtension(ctx);
    await sync.start();
    try {
      for (let i = 0; i < 200 && listings === 0; i++) await tick();
      // The wake-up's own pass and the next one still find nothing; the third sees the new action.
      visibleFrom = listings + 3;
      sync.wake();
      for (let i = 0; i < 300 && published.length === 0; i++) await tick();
      expect(published).to.deep.equal(["aerie/v1/devices/dev-42/deployment"]);
      const listingsWhenSeen = listings;
      await tick(500);
      expect(listings, "no more quick passes once the change was seen").to.equal(listingsWhenSeen);
    } finally {
      await sync.stop();
    }
  });
});

describe("bridge: a wake-up during a pass that is announcing new actions", () => {
  it("does not queue another pass that would list them all again", async () => {
    const requested: string[] = [];
    let releaseSecondPage!: () => void;
    const secondPageHeld = new Promise<void>((resolve) => (releaseSecondPage = resolve));
    const published: string[] = [];
    const ctx = fakeContext({
      hawkbit: {
        // 501 new actions: a full first page, and a second page (ids above 500) that hawkBit answers only when told to.
        listActions: async ({ q }: { q: string }): Promise<PagedList<MgmtAction>> => {
          requested.push(q);
          if (!q.includes("id=gt=")) return { content: Array.from({ length: 500 }, (_, i) => newAction(i + 1)), total: 501, size: 500 };
          await secondPageHeld;
          return { content: [newAction(501)], total: 501, size: 1 };
        },
      },
      publish: (topic: string) => void published.push(topic),
    });
    const sync = new ActionSyncExtension(ctx);
    await sync.start();
    try {
      for (let i = 0; i < 200 && published.length < 500; i++) await tick();
      expect(published).to.have.length(500);
      // The campaign monitor's second wake-up ("the rollout is running") arrives while the pass goes on.
      sync.wake();
      releaseSecondPage();
      for (let i = 0; i < 200 && published.length < 501; i++) await tick();
      await tick(300);
      expect(published).to.have.length(501);
      expect(requested, "one pass: two pages read by id, no second listing").to.deep.equal(["active==true", "active==true;id=gt=500"]);
    } finally {
      await sync.stop();
    }
  });
});

describe("bridge: actions pushed by hawkBit (DMF)", () => {
  it("registers the next batch while the one before is announced, one statement at a time, and announces each action once, in push order", async () => {
    let push!: (action: { controllerId: string; actionId: number; phase: "notice"; shareKey: string }) => void;
    const registrations: number[][] = [];
    const held: ReturnType<typeof deferred<void>>[] = [];
    const published: string[] = [];
    /** How many registrations had started when each notice went out */
    const startedAtPublish: number[] = [];
    const ctx = fakeContext({
      hawkbit: { listActions: async (): Promise<PagedList<MgmtAction>> => ({ content: [], total: 0, size: 0 }) },
      pool: {
        query: async (_sql: string, params: number[][]) => {
          registrations.push(params[0]!);
          const hold = deferred<void>();
          held.push(hold);
          await hold.promise;
          return { rows: params[0]!.map((id) => ({ action_id: id })) };
        },
      },
      publish: (topic: string) => {
        published.push(topic);
        startedAtPublish.push(registrations.length);
      },
    });
    (ctx as { channel: object }).channel = { pushEpoch: 1, onAction: (listener: typeof push) => ((push = listener), () => undefined) };
    const sync = new ActionSyncExtension(ctx);
    await sync.start();
    try {
      // Three full batches (PUSH_BATCH is 500) arrive at once, as from hawkBit's BATCH messages of a rollout start.
      for (let id = 1; id <= 1500; id++) push({ controllerId: `dev-${id}`, actionId: id, phase: "notice", shareKey: "dmf:DOWNLOAD_AND_INSTALL:1" });
      await tick(50);
      expect(registrations.map((r) => r[0]), "one statement at a time").to.deep.equal([1]);
      expect(published, "nothing announced before its registration is done").to.deep.equal([]);
      held[0]!.resolve();
      await tick(50);
      expect(registrations.map((r) => r[0])).to.deep.equal([1, 501]);
      expect(published).to.have.length(500);
      expect(startedAtPublish[499], "the second batch was being registered before the first batch's last notice went out").to.equal(2);
      held[1]!.resolve();
      await tick(50);
      held[2]!.resolve();
      for (let i = 0; i < 200 && published.length < 1500; i++) await tick();
      expect(registrations.map((r) => r.length)).to.deep.equal([500, 500, 500]);
      expect(published).to.deep.equal(Array.from({ length: 1500 }, (_, i) => `aerie/v1/devices/dev-${i + 1}/deployment`));
      // The same action pushed again (hawkBit sends the open action again on THING_CREATED) is neither registered nor announced twice.
      push({ controllerId: "dev-7", actionId: 7, phase: "notice", shareKey: "dmf:DOWNLOAD_AND_INSTALL:1" });
      await tick(50);
      for (const hold of held) hold.resolve();
      expect(registrations).to.have.length(3);
      expect(published).to.have.length(1500);
    } finally {
      for (const hold of held) hold.resolve();
      await sync.stop();
    }
  });
});
