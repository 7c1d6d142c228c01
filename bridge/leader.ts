// Exactly one bridge instance leads hawkBit synchronisation (action sync, heartbeat, retention): the one
// holding a session-level Postgres advisory lock. The lock lives as long as the leader's connection,
// so a killed leader (kill -9, crash, network loss) releases it, and the next instance that tries
// takes over within one retry interval. Losing the connection demotes the leader at once.
import { createHash } from "node:crypto";
import pg from "pg";
import { logger } from "../core/log.js";
import { PassLoop } from "../core/pass-loop.js";

const log = logger("bridge-leader");

/** A stable 63-bit key per base topic, so two fleets sharing a database elect separately. */
export function leaderLockKey(baseTopic: string): string {
  return BigInt.asIntN(64, BigInt(`0x${createHash("sha256").update(`aerie-bridge-leader:${baseTopic}`).digest("hex").slice(0, 16)}`)).toString();
}

export class LeaderElection {
  private client: pg.Client | undefined;
  private leading = false;
  private readonly loop = new PassLoop(
    async () => {
      await this.tryAcquire();
      return this.opts.retryMs;
    },
    (error) => {
      log.warn({ err: (error as Error).message }, "leader election attempt failed");
      return this.opts.retryMs;
    },
  );

  constructor(
    private readonly opts: { databaseUrl: string; baseTopic: string; instanceId: string; retryMs: number },
    private readonly onChange: (leading: boolean) => void,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.demote();
  }

  private get stopped(): boolean {
    return this.loop.stopped;
  }

  private async tryAcquire(): Promise<void> {
    if (this.leading) {
      // A cheap liveness check of the lock's connection: a dead one demotes us.
      await this.client!.query("SELECT 1").catch(() => this.demote());
      return;
    }
    try {
      const client = (this.client ??= await this.connect());
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [leaderLockKey(this.opts.baseTopic)]);
      if (rows[0]?.ok && !this.stopped) {
        this.leading = true;
        log.info({ instance: this.opts.instanceId }, "this bridge instance leads hawkBit synchronisation");
        this.onChange(true);
      }
    } catch (error) {
      log.warn({ err: (error as Error).message }, "leader election attempt failed");
      await this.demote();
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.opts.databaseUrl, application_name: `aerie-bridge-leader:${this.opts.instanceId}`.slice(0, 63) });
    client.on("error", () => void this.demote());
    await client.connect();
    return client;
  }

  private async demote(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (this.leading) {
      this.leading = false;
      // Losing the lock while running is worth a warning; handing it over at shutdown is not.
      if (this.stopped) log.info({ instance: this.opts.instanceId }, "this bridge instance hands over leadership");
      else log.warn({ instance: this.opts.instanceId }, "this bridge instance no longer leads");
      this.onChange(false);
    }
    // Closing the session releases the lock; no explicit unlock needed.
    await client?.end().catch(() => undefined);
  }
}
