// Prisma Client over node-postgres (driver adapter): Prisma 7 needs no query-engine binary this way.
// Aerie's raw-SQL hot paths (telemetry batches) and Prisma share one pool.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { logger } from "../log.js";
import { PrismaClient } from "../../prisma/generated/client.js";

export type Database = PrismaClient;
export { Prisma } from "../../prisma/generated/client.js";

const log = logger("postgres-pool");

const openConnections = new WeakMap<pg.Pool, Set<pg.Client>>();

/** A pool whose idle connections may be dropped by the server (restart, shutdown) without crashing. */
export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on("error", (error) => log.warn({ err: error.message }, "an idle PostgreSQL connection was closed"));
  const open = new Set<pg.Client>();
  openConnections.set(pool, open);
  pool.on("connect", (client) => {
    open.add(client);
    client.once("end", () => open.delete(client));
  });
  return pool;
}

/**
 * Ends the pool and waits until each of its connections is closed. pg's `pool.end()` resolves once it has
 * asked them to close: a PostgreSQL stopped right after it still finds some open and terminates them.
 */
export async function closePool(pool: pg.Pool): Promise<void> {
  const closed = [...(openConnections.get(pool) ?? [])].map((client) => new Promise<void>((resolve) => client.once("end", () => resolve())));
  await pool.end();
  await Promise.all(closed);
}

export function createDatabase(pool: pg.Pool): Database {
  return new PrismaClient({ adapter: new PrismaPg(pool) });
}
