import { expect } from "chai";
import pg from "pg";
import { closePool, createDatabase, createPool } from "../../core/db/prisma.js";
import { migrate, readMigrations, PRISMA_ADVISORY_LOCK_KEY } from "../../core/db/migrator.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../infrastructure/embedded/postgres.js";
import { freePort, tempDir } from "../helpers/env.js";

describe("embedded PostgreSQL, migrator and Prisma Client", function () {
  this.timeout(120_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let port: number;
  let server: EmbeddedPostgres | undefined;
  const options = () => ({ dataDir: dir.path, port, password: "test-password", database: "aerie" });

  before(async () => {
    dir = await tempDir();
    port = await freePort();
    server = await startEmbeddedPostgres(options());
  });

  after(async () => {
    await server?.stop();
    await dir.remove();
  });

  it("applies every migration once even when two processes migrate at the same time", async () => {
    const [first, second] = await Promise.all([migrate(server!.url), migrate(server!.url)]);
    const migrations = await readMigrations();
    expect([...first, ...second]).to.deep.equal(migrations.map((m) => m.name));
    expect(await migrate(server!.url)).to.deep.equal([]);

    const client = new pg.Client({ connectionString: server!.url });
    await client.connect();
    const rows = (await client.query(`SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`)).rows;
    await client.end();
    expect(rows.map((r) => r.migration_name)).to.deep.equal(migrations.map((m) => m.name));
    expect(rows.map((r) => r.checksum)).to.deep.equal(migrations.map((m) => m.checksum));
    expect(rows.every((r) => r.finished_at !== null && r.applied_steps_count === 1)).to.equal(true);
  });

  it("waits for the lock prisma migrate deploy holds", async () => {
    const holder = new pg.Client({ connectionString: server!.url });
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK_KEY]);
    let finished = false;
    const pending = migrate(server!.url).then(() => (finished = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(finished).to.equal(false);
    await holder.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK_KEY]);
    await holder.end();
    await pending;
    expect(finished).to.equal(true);
  });

  it("keeps data across a restart, and takes over a server an earlier process left running", async () => {
    const pool = createPool(server!.url);
    const db = createDatabase(pool);
    await db.device.create({ data: { controllerId: "dev-restart", attributes: { board: "imx8" } } });
    await db.$disconnect();
    await pool.end();

    // A second start on the same folder without stopping the first is what follows a kill -9.
    const orphanPid = server!.pid;
    server = await startEmbeddedPostgres(options());
    expect(server.pid).to.not.equal(orphanPid);
    expect(() => process.kill(orphanPid, 0)).to.throw();

    const againPool = createPool(server.url);
    const again = createDatabase(againPool);
    const device = await again.device.findUnique({ where: { controllerId: "dev-restart" } });
    await again.$disconnect();
    await againPool.end();
    expect(device?.attributes).to.deep.equal({ board: "imx8" });
  });

  // pg's pool.end() resolves once it has asked its connections to close; a PostgreSQL stopped right then
  // terminated the ones still open, which printed warnings at the end of about one demo run in three.
  it("closes a pool only once every connection of it is closed", async () => {
    const pool = createPool(server!.url, 10);
    const connections: pg.Client[] = [];
    const closed = new Set<pg.Client>();
    pool.on("connect", (client) => {
      connections.push(client);
      client.once("end", () => closed.add(client));
    });
    await Promise.all(Array.from({ length: 10 }, () => pool.query("SELECT pg_sleep(0.05)")));
    expect(connections).to.have.length(10);
    await closePool(pool);
    expect(closed.size).to.equal(10);
  });
});
