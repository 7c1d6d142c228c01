// Prisma CLI configuration. The URL is only needed by CLI commands that talk to a database
// (`prisma migrate deploy`); Aerie itself applies migrations with core/db/migrator.ts.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/aerie" },
});
