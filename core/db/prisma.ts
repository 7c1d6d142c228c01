// Prisma Client over node-postgres (driver adapter): Prisma 7 needs no query-engine binary this way.
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../../prisma/generated/client.js";

export type Database = PrismaClient;
export { Prisma } from "../../prisma/generated/client.js";

export function createDatabase(databaseUrl: string, maxConnections = 10): Database {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: maxConnections });
  return new PrismaClient({ adapter });
}
