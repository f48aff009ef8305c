import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, type SqlClient, type SqlQuery } from "../../src/store/database.js";
import {
  MigrationError,
  migrate,
  pendingMigrations,
  readMigrations,
  splitStatements,
  type Migration,
} from "../../src/store/migrator.js";
import { createPostgresDatabase, openTestStore, storeKind, type TestStore } from "../support/store.js";

const MIGRATIONS = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

/** The migrations on disk, read here without the migrator: name and hex SHA-256 of the file's bytes. */
const onDisk = readdirSync(MIGRATIONS, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(MIGRATIONS, e.name, "migration.sql")))
  .map((e) => e.name)
  .sort()
  .map((name) => ({
    name,
    checksum: createHash("sha256").update(readFileSync(join(MIGRATIONS, name, "migration.sql"))).digest("hex"),
  }));
const names = onDisk.map((m) => m.name);

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

const recorded = (sql: SqlQuery) =>
  sql.query<MigrationRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count
       FROM "_prisma_migrations" ORDER BY migration_name, started_at`,
  );

const exists = async (sql: SqlQuery, relation: string) =>
  Boolean((await sql.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [relation]))[0]?.t);

function extraMigration(name: string, sql: string): Migration {
  return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
}

// Creating a PGlite instance takes seconds, so the tests share one store and each starts from
// an empty schema: what a never-migrated database looks like.
let shared: TestStore | undefined;
async function freshStore(): Promise<TestStore> {
  shared ??= await openTestStore();
  await shared.database.sql.exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public;`);
  return shared;
}
afterAll(async () => {
  await shared?.close();
});

describe(`migrate() (${storeKind()})`, () => {
  it("finds the migrations on disk", () => {
    expect(names.length).toBeGreaterThan(0);
    expect(readMigrations().map((m) => ({ name: m.name, checksum: m.checksum }))).toEqual(onDisk);
  });

  it("applies every migration to an empty database and records each as Prisma does", async () => {
    const { database } = await freshStore();
    expect(await pendingMigrations(database.sql)).toEqual(names);

    const progress: string[] = [];
    const report = await migrate(database.sql, (line) => progress.push(line));
    expect(report).toEqual({ applied: names, alreadyApplied: [] });
    // Each migration is announced; a migration with a backfill also logs its batches.
    expect(progress.filter((line) => line.startsWith("applying "))).toEqual(names.map((n) => `applying ${n}`));
    expect(progress.filter((line) => !line.startsWith("applying ") && !/^backfill(ing|ed) \d+_\w+/.test(line))).toEqual([]);

    const rows = await recorded(database.sql);
    expect(rows.map((r) => ({ name: r.migration_name, checksum: r.checksum }))).toEqual(onDisk);
    for (const row of rows) {
      expect(row.finished_at, `finished_at of ${row.migration_name}`).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    expect(await pendingMigrations(database.sql)).toEqual([]);
    expect(await exists(database.sql, "webhooks")).toBe(true);
  });

  it("applies nothing the second time", async () => {
    const { database } = await freshStore();
    await migrate(database.sql);
    const before = await recorded(database.sql);

    const progress: string[] = [];
    const report = await migrate(database.sql, (line) => progress.push(line));
    expect(report).toEqual({ applied: [], alreadyApplied: names });
    expect(progress).toEqual([]);
    expect(await recorded(database.sql)).toEqual(before);
  });

  it("refuses a migration whose file changed after it was applied, naming it", async () => {
    const { database } = await freshStore();
    await migrate(database.sql);
    const [first, ...rest] = readMigrations();
    const edited = [extraMigration(first!.name, `${first!.sql}\n-- edited after it was applied\n`), ...rest];

    const attempt = migrate(database.sql, () => undefined, edited);
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(first!.name);
    // Nothing was rewritten: the record still holds the checksum of what was applied.
    expect((await recorded(database.sql)).map((r) => r.checksum)).toEqual(onDisk.map((m) => m.checksum));
  });

  it("leaves nothing of a failing migration behind, records nothing for it, and can run again", async () => {
    const { database } = await freshStore();
    await migrate(database.sql);
    const broken = extraMigration(
      "29991231000000_broken",
      [
        `CREATE TYPE "BrokenProbe" AS ENUM ('A', 'B');`,
        `CREATE TABLE "broken_probe" ("id" INTEGER NOT NULL, "kind" "BrokenProbe");`,
        `INSERT INTO "broken_probe" VALUES (1, 'A');`,
        `ALTER TABLE "webhooks" ADD COLUMN "broken_probe" TEXT;`,
        `SELECT * FROM "no_such_table";`,
      ].join("\n"),
    );
    const all = [...readMigrations(), broken];

    const attempt = migrate(database.sql, () => undefined, all);
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(/29991231000000_broken failed: .*no_such_table/);

    expect(await exists(database.sql, "broken_probe")).toBe(false);
    const probeType = await database.sql.query(`SELECT 1 FROM pg_type WHERE typname = 'BrokenProbe'`);
    expect(probeType).toEqual([]);
    const probeColumn = await database.sql.query(
      `SELECT 1 FROM information_schema.columns WHERE table_name = 'webhooks' AND column_name = 'broken_probe'`,
    );
    expect(probeColumn).toEqual([]);
    expect((await recorded(database.sql)).map((r) => r.migration_name)).toEqual(names);
    expect(await pendingMigrations(database.sql, all)).toEqual([broken.name]);

    // The lock and the connection were given back: the store still migrates.
    expect(await migrate(database.sql)).toEqual({ applied: [], alreadyApplied: names });
  });

  it("commits each migration on its own: a failure rolls back that migration only, and those before it stay applied", async () => {
    const { database } = await freshStore();
    const broken = extraMigration("29991231000000_broken", `SELECT * FROM "no_such_table";`);

    await expect(migrate(database.sql, () => undefined, [...readMigrations(), broken])).rejects.toThrow(broken.name);
    // One transaction per migration, so a lock is held for one migration at a time, never for a whole run.
    expect(await exists(database.sql, "webhooks")).toBe(true);
    expect(await pendingMigrations(database.sql, [...readMigrations(), broken])).toEqual([broken.name]);
    // Once the broken migration is gone, the same store has nothing left to do.
    expect(await migrate(database.sql)).toEqual({ applied: [], alreadyApplied: names });
  });

  it("applies a migration added later, leaving the earlier ones alone", async () => {
    const { database } = await freshStore();
    await migrate(database.sql);
    const later = extraMigration(
      "29991231000000_later",
      `-- AddColumn; with a semicolon in the comment\nALTER TABLE "customers" ADD COLUMN "probe" TEXT DEFAULT 'a;b';\nCREATE INDEX "customers_probe_idx" ON "customers"("probe");\n`,
    );
    const all = [...readMigrations(), later];
    expect(await pendingMigrations(database.sql, all)).toEqual([later.name]);

    expect(await migrate(database.sql, () => undefined, all)).toEqual({ applied: [later.name], alreadyApplied: names });
    expect(await pendingMigrations(database.sql, all)).toEqual([]);
    const [row] = (await recorded(database.sql)).filter((r) => r.migration_name === later.name);
    expect(row?.checksum).toBe(later.checksum);
    expect(await exists(database.sql, "customers_probe_idx")).toBe(true);
  });
});

describe(`pendingMigrations() (${storeKind()})`, () => {
  it("reports every migration on a database that has never been migrated", async () => {
    const { database } = await freshStore();
    expect(await pendingMigrations(database.sql)).toEqual(names);
    // Asking creates nothing.
    expect(await exists(database.sql, "_prisma_migrations")).toBe(false);
  });

  it("counts a migration that started but never finished, or was rolled back, as pending", async () => {
    const { database } = await freshStore();
    await migrate(database.sql);
    const unfinished = extraMigration("29991231000001_unfinished", `SELECT 1;`);
    const rolledBack = extraMigration("29991231000002_rolled_back", `CREATE TABLE "rolled_back_probe" ("id" INTEGER);`);
    await database.sql.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, rolled_back_at, applied_steps_count)
       VALUES ('00000000-0000-4000-8000-000000000001', $1, NULL, $2, NULL, 0),
              ('00000000-0000-4000-8000-000000000002', $3, now(), $4, now(), 1)`,
      [unfinished.checksum, unfinished.name, rolledBack.checksum, rolledBack.name],
    );
    const all = [...readMigrations(), unfinished, rolledBack];
    expect(await pendingMigrations(database.sql, all)).toEqual([unfinished.name, rolledBack.name]);

    // migrate() will not guess about a half-applied migration (Prisma's P3009 situation).
    await expect(migrate(database.sql, () => undefined, all)).rejects.toThrow(
      new MigrationError(`migration ${unfinished.name} started earlier but never finished`),
    );
    // A rolled-back one (`prisma migrate resolve --rolled-back`) is applied again.
    await database.sql.query(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`, [unfinished.name]);
    const report = await migrate(database.sql, () => undefined, [...readMigrations(), rolledBack]);
    expect(report.applied).toEqual([rolledBack.name]);
    expect(await exists(database.sql, "rolled_back_probe")).toBe(true);
  });
});

describe(`concurrent migrate() (${storeKind()})`, () => {
  async function expectMigratedOnce(sql: SqlClient, reports: { applied: string[]; alreadyApplied: string[] }[]) {
    // One caller applied everything, the others found it done; nobody failed or applied twice.
    expect(reports.flatMap((r) => r.applied).sort()).toEqual(names);
    for (const report of reports) expect([...report.applied, ...report.alreadyApplied].sort()).toEqual(names);
    const rows = await recorded(sql);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    expect(rows.every((r) => r.finished_at instanceof Date)).toBe(true);
  }

  if (storeKind() === "postgres") {
    it("two processes' connections to one empty PostgreSQL database both succeed and record each migration once", async () => {
      const { url, drop } = await createPostgresDatabase();
      const a = await openDatabase({ url, poolSize: 2 });
      const b = await openDatabase({ url, poolSize: 2 });
      try {
        const reports = await Promise.all([migrate(a.sql), migrate(b.sql)]);
        await expectMigratedOnce(a.sql, reports);
        expect(await pendingMigrations(b.sql)).toEqual([]);
      } finally {
        await a.close();
        await b.close();
        await drop();
      }
    });
  } else {
    // PGlite is one connection in one process; overlapping calls (a restart racing the CLI's
    // `hookgate migrate` in-process, or two startGateway calls) must still serialise.
    it("two overlapping calls on one embedded database both succeed and record each migration once", async () => {
      const { database } = await freshStore();
      const reports = await Promise.all([migrate(database.sql), migrate(database.sql)]);
      await expectMigratedOnce(database.sql, reports);
    });
  }
});

describe("splitStatements()", () => {
  it("splits at semicolons that end statements and drops empty ones", () => {
    expect(splitStatements("SELECT 1;\n\n  SELECT 2 ;;\nSELECT 3")).toEqual(["SELECT 1", "SELECT 2", "SELECT 3"]);
    expect(splitStatements("  \n;\n ")).toEqual([]);
  });

  it("keeps semicolons inside string literals and quoted identifiers", () => {
    expect(splitStatements(`INSERT INTO "a;b" VALUES ('x;y');SELECT ';';`)).toEqual([
      `INSERT INTO "a;b" VALUES ('x;y')`,
      `SELECT ';'`,
    ]);
    // Doubled quotes escape a quote and do not end the literal or identifier.
    expect(splitStatements(`SELECT 'it''s; fine', "we""ird;name"; SELECT 2`)).toEqual([
      `SELECT 'it''s; fine', "we""ird;name"`,
      "SELECT 2",
    ]);
  });

  it("ignores -- comments, including semicolons and quotes in them", () => {
    expect(splitStatements("-- CreateTable; don't split here\nCREATE TABLE t (id int); -- trailing; comment\nSELECT 1 -- it's fine")).toEqual([
      "CREATE TABLE t (id int)",
      "SELECT 1",
    ]);
    expect(splitStatements("-- only a comment; nothing else")).toEqual([]);
  });

  it("keeps $$-quoted bodies whole, with their semicolons, quotes and dashes", () => {
    const fn = `CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  DELETE FROM t WHERE s = 'a;b'; -- it's\n  RETURN NULL;\nEND $$`;
    expect(splitStatements(`${fn};\nSELECT '$$;'; SELECT 2`)).toEqual([fn, `SELECT '$$;'`, "SELECT 2"]);
  });

  it("treats -- inside a string literal or identifier as text, not a comment", () => {
    expect(splitStatements(`SELECT '--not; a comment', "--id;"; SELECT 2`)).toEqual([
      `SELECT '--not; a comment', "--id;"`,
      "SELECT 2",
    ]);
  });

  it("splits the real migrations into statements that each start as Prisma writes them", () => {
    for (const migration of readMigrations()) {
      const statements = splitStatements(migration.sql);
      // Prisma heads every statement with a "-- Kind" comment line.
      expect(statements.length, migration.name).toBe(migration.sql.match(/^-- \w+$/gm)?.length);
      for (const statement of statements) expect(statement).toMatch(/^(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE|COMMENT|LOCK) /);
    }
  });
});
