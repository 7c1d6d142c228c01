// Prisma Client over node-postgres (driver adapter): Prisma 7 needs no query-engine binary this way.
// Aerie's raw-SQL hot paths (telemetry batches) and Prisma share one pool.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { logger } from "../log.js";
import { PrismaClient } from "../../prisma/generated/client.js";

export type Database = PrismaClient;
export { Prisma } from "../../prisma/generated/client.js";

const log = logger("postgres-pool");

/** A pool whose idle connections may be dropped by the server (restart, shutdown) without crashing. */
export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on("error", (error) => log.warn({ err: error.message }, "an idle PostgreSQL connection was closed"));
  return pool;
}

export function createDatabase(pool: pg.Pool): Database {
  return new PrismaClient({ adapter: new PrismaPg(pool) });
}
