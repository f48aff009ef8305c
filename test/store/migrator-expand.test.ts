// Expand and contract, as the migrator runs it (src/store/migrator.ts): migrations outside a
// transaction (concurrent indexes, INVALID ones rebuilt), backfills in batches that resume after a
// failure, the lock timeout that makes a migration wait instead of traffic, one migrating process
// at a time, and the refusal of a database a newer release migrated. Migrations are written to
// temporary directories beside copies of the real ones, and read with readMigrations(dir).
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import {
  MIGRATIONS_DIR,
  MigrationError,
  PRISMA_MIGRATE_LOCK,
  migrate,
  readMigrations,
  schemaStatus,
  type Migration,
} from "../../src/store/migrator.js";
import { createPostgresDatabase, openTestStore, storeKind, type TestStore } from "../support/store.js";

const kind = storeKind();
const dirs: string[] = [];

/** The real migrations plus the given ones (name → files), in a directory of their own. */
function migrationsWith(extra: Record<string, Record<string, string>>): Migration[] {
  const dir = mkdtempSync(join(tmpdir(), "hookgate-migrations-"));
  dirs.push(dir);
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  for (const [name, files] of Object.entries(extra)) {
    mkdirSync(join(dir, name));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, name, file), text);
  }
  return readMigrations(dir);
}

let shared: TestStore | undefined;
// Opening PGlite takes long on a busy machine: once, before the tests, not inside the first one.
beforeAll(async () => {
  shared = await openTestStore();
});
async function freshStore(): Promise<TestStore> {
  shared ??= await openTestStore();
  await shared.database.sql.exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public;`);
  return shared;
}
afterAll(async () => {
  await shared?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const noSleep = async () => undefined;

/** n events of type 1, event_name 't' (needs the real schema applied). */
async function insertEvents(store: TestStore, n: number) {
  await store.database.sql.exec(`
    INSERT INTO event_types (id, name, sample_data) VALUES (1, 't', '{}');
    INSERT INTO events (event_type_id, event_name, payload) SELECT 1, 't', jsonb_build_object('n', g) FROM generate_series(1, ${n}) g;
  `);
}

const ADD_COLUMN = `-- AlterTable\nALTER TABLE "events" ADD COLUMN "probe_n" INTEGER;\n`;
const BACKFILL = `UPDATE "events" SET "probe_n" = ("payload"->>'n')::int / ("payload"->>'n')::int * ("payload"->>'n')::int
WHERE "id" IN (SELECT "id" FROM "events" WHERE "probe_n" IS NULL ORDER BY "id" LIMIT 1000);\n`;

describe(`migrations outside a transaction (${kind})`, () => {
  const index = {
    "29990101000000_probe_index": {
      "migration.sql": `-- hookgate:no-transaction\n-- CreateIndex\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "events_probe_idx" ON "events"("created_at", "id");\n`,
    },
  };

  it("runs a `-- hookgate:no-transaction` migration statement by statement and records it as Prisma does", async () => {
    const store = await freshStore();
    await migrate(store.database.sql);
    await insertEvents(store, 100);
    const all = migrationsWith(index);
    const log: string[] = [];
    expect((await migrate(store.database.sql, (l) => log.push(l), all)).applied).toEqual(["29990101000000_probe_index"]);
    const [row] = await store.database.sql.query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'events_probe_idx'`,
    );
    expect(row?.valid).toBe(true);
    const [record] = await store.database.sql.query<{ finished: boolean; steps: number }>(
      `SELECT finished_at IS NOT NULL AS finished, applied_steps_count AS steps FROM "_prisma_migrations" WHERE migration_name = '29990101000000_probe_index'`,
    );
    expect(record).toEqual({ finished: true, steps: 1 });
    expect((await schemaStatus(store.database.sql, all)).pending).toEqual([]);
  });

  it("resumes one that was interrupted (recorded as started, not finished)", async () => {
    const store = await freshStore();
    await migrate(store.database.sql);
    const all = migrationsWith(index);
    const probe = all.find((m) => m.name === "29990101000000_probe_index")!;
    await store.database.sql.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
       VALUES ('00000000-0000-4000-8000-000000000009', $1, NULL, $2, 0)`,
      [probe.checksum, probe.name],
    );
    const log: string[] = [];
    expect((await migrate(store.database.sql, (l) => log.push(l), all)).applied).toEqual([probe.name]);
    expect(log).toContain(`resuming ${probe.name} (interrupted earlier; its statements are idempotent)`);
    expect((await schemaStatus(store.database.sql, all)).pending).toEqual([]);
  });

  if (kind === "postgres") {
    it("drops an INVALID index a failed concurrent build left, and builds it again", async () => {
      const store = await freshStore();
      await migrate(store.database.sql);
      await insertEvents(store, 10);
      // A unique concurrent build over duplicates fails and leaves the index INVALID, as a crash or cancel would.
      await expect(store.database.sql.query(`CREATE UNIQUE INDEX CONCURRENTLY "events_probe_idx" ON "events"("event_name")`)).rejects.toThrow();
      const validity = async () =>
        (
          await store.database.sql.query<{ valid: boolean }>(
            `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'events_probe_idx'`,
          )
        )[0]?.valid;
      expect(await validity()).toBe(false);

      const log: string[] = [];
      await migrate(store.database.sql, (l) => log.push(l), migrationsWith(index));
      expect(log).toContain("29990101000000_probe_index: index events_probe_idx is INVALID (an earlier build failed); dropping and building it again");
      expect(await validity()).toBe(true);
    });
  }
});

describe(`backfills (${kind})`, () => {
  const withBackfill = (backfill: string) => ({ "29990101000001_probe_backfill": { "migration.sql": ADD_COLUMN, "backfill.sql": backfill } });

  it("runs backfill.sql in batches until it changes nothing, logging progress, and records it finished", async () => {
    const store = await freshStore();
    await migrate(store.database.sql);
    await insertEvents(store, 3_500);
    const all = migrationsWith(withBackfill(BACKFILL));
    let clock = 0;
    const log: string[] = [];
    const report = await migrate(store.database.sql, (l) => log.push(l), all, { now: () => (clock += 250), progressEveryMs: 500 });
    expect(report.applied).toEqual(["29990101000001_probe_backfill"]);
    const [left] = await store.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE probe_n IS NULL`);
    expect(left?.n).toBe(0);
    expect(log).toContain("backfilling 29990101000001_probe_backfill");
    expect(log.some((l) => /^backfilling 29990101000001_probe_backfill: \d+ rows so far, \d+ rows\/s$/.test(l))).toBe(true);
    expect(log.at(-1)).toMatch(/^backfilled 29990101000001_probe_backfill: 3500 rows in \d+ ms \(\d+ rows\/s\)$/);
    const [state] = await store.database.sql.query<{ rows_done: string; batches: number; finished: boolean }>(
      `SELECT rows_done::text, batches, finished_at IS NOT NULL AS finished FROM hookgate_backfills WHERE migration_name = '29990101000001_probe_backfill'`,
    );
    expect(state).toEqual({ rows_done: "3500", batches: 4, finished: true });
    expect(await schemaStatus(store.database.sql, all)).toEqual({ pending: [], unknown: [], backfilling: [] });
  });

  it("leaves a failed backfill unfinished (the schema counts as applied) and resumes it on the next run", async () => {
    const store = await freshStore();
    await migrate(store.database.sql);
    await insertEvents(store, 2_500);
    // Event 1700 makes the batch divide by zero: the backfill stops after the batches before it.
    await store.database.sql.query(`UPDATE events SET payload = '{"n": 0}' WHERE id = 1700`);
    const all = migrationsWith(withBackfill(BACKFILL));
    await expect(migrate(store.database.sql, () => undefined, all)).rejects.toThrow(/backfill of 29990101000001_probe_backfill failed: division by zero/);
    expect(await schemaStatus(store.database.sql, all)).toEqual({ pending: [], unknown: [], backfilling: ["29990101000001_probe_backfill"] });
    const [state] = await store.database.sql.query<{ rows_done: string; finished: boolean }>(
      `SELECT rows_done::text, finished_at IS NOT NULL AS finished FROM hookgate_backfills WHERE migration_name = '29990101000001_probe_backfill'`,
    );
    expect(state).toEqual({ rows_done: "1000", finished: false });

    await store.database.sql.query(`UPDATE events SET payload = '{"n": 1700}' WHERE id = 1700`);
    const log: string[] = [];
    expect((await migrate(store.database.sql, (l) => log.push(l), all)).applied).toEqual([]);
    expect(log[0]).toBe("backfilling 29990101000001_probe_backfill: resuming after 1000 rows");
    expect(log.at(-1)).toMatch(/^backfilled 29990101000001_probe_backfill: 2500 rows/);
    const [wrong] = await store.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE probe_n IS DISTINCT FROM (payload->>'n')::int`);
    expect(wrong?.n).toBe(0);
    expect((await schemaStatus(store.database.sql, all)).backfilling).toEqual([]);
  });

  it("refuses a backfill.sql of more than one statement when reading the migrations", () => {
    expect(() => migrationsWith(withBackfill(`${BACKFILL};\nSELECT 1;`))).toThrow(
      new MigrationError("29990101000001_probe_backfill/backfill.sql must hold exactly one statement (one batch), not 2"),
    );
  });
});

describe(`a database migrated by a newer release (${kind})`, () => {
  it("is refused, naming the migration this release does not ship, and nothing is applied", async () => {
    const store = await freshStore();
    const newer = migrationsWith({ "29990101000002_from_the_future": { "migration.sql": `CREATE TABLE "future_probe" ("id" INTEGER);\n` } });
    await migrate(store.database.sql, () => undefined, newer);
    await expect(migrate(store.database.sql)).rejects.toThrow(
      new MigrationError("the database has migration 29990101000002_from_the_future that this release does not ship: a newer release migrated it; run that release"),
    );
    expect(await schemaStatus(store.database.sql)).toEqual({ pending: [], unknown: ["29990101000002_from_the_future"], backfilling: [] });
  });
});

if (kind === "postgres") {
  describe("lock timeouts and the migration lock (postgres)", () => {
    it("a migration that cannot get its lock gives up after lock_timeout and retries, so reads never queue behind it", async () => {
      const store = await freshStore();
      await migrate(store.database.sql);
      await insertEvents(store, 10);
      // A long transaction of the old release holds a lock that ALTER TABLE must wait for.
      const blocker = new pg.Client({ connectionString: store.url });
      await blocker.connect();
      await blocker.query(`BEGIN; SELECT count(*) FROM events`);
      const reader = new pg.Client({ connectionString: store.url });
      await reader.connect();
      try {
        const pauses: number[] = [];
        const log: string[] = [];
        let released = false;
        const migration = migrate(store.database.sql, (l) => log.push(l), migrationsWith({ "29990101000003_probe_column": { "migration.sql": ADD_COLUMN } }), {
          lockTimeoutMs: 300,
          lockRetries: 3,
          retryPauseMs: 100,
          // The blocker commits during the second pause; the third try gets its lock.
          sleep: async (ms) => {
            pauses.push(ms);
            if (pauses.length === 2 && !released) {
              released = true;
              await blocker.query("COMMIT");
            }
          },
        });
        // Meanwhile traffic reads the table: with no lock_timeout a read would queue behind the
        // waiting ALTER TABLE for as long as the blocker lives (here: for ever).
        const readTimes: number[] = [];
        while (!released) {
          const started = performance.now();
          await reader.query({ text: `SELECT count(*) FROM events`, query_timeout: 5_000 } as never);
          readTimes.push(performance.now() - started);
        }
        expect((await migration).applied).toEqual(["29990101000003_probe_column"]);
        expect(pauses).toEqual([100, 200]);
        expect(log.filter((l) => l.includes("gave up waiting for a lock"))).toEqual([
          "29990101000003_probe_column gave up waiting for a lock after 300 ms (traffic holds it); rolled back, retrying in 100 ms (retry 1 of 3)",
          "29990101000003_probe_column gave up waiting for a lock after 300 ms (traffic holds it); rolled back, retrying in 200 ms (retry 2 of 3)",
        ]);
        expect(Math.max(...readTimes)).toBeLessThan(1_000);
      } finally {
        await blocker.end();
        await reader.end();
      }
    });

    it("a second process finds the migration lock taken, says it waits, and then finds the work done", async () => {
      const { url, drop } = await createPostgresDatabase();
      const a = await openDatabase({ url, poolSize: 2 });
      const b = await openDatabase({ url, poolSize: 2 });
      const blocker = new pg.Client({ connectionString: url });
      await blocker.connect();
      try {
        await migrate(a.sql);
        const all = migrationsWith({ "29990101000003_probe_column": { "migration.sql": ADD_COLUMN } });
        const names = all.map((m) => m.name);
        // The first process's migration waits for a lock traffic holds, so it is still migrating when the second starts.
        await blocker.query(`BEGIN; SELECT count(*) FROM events`);
        const log: string[] = [];
        let second: Promise<unknown> | undefined;
        const saidItWaits = new Promise<void>((resolve) => {
          const first = migrate(a.sql, () => undefined, all, {
            lockTimeoutMs: 200,
            retryPauseMs: 10,
            sleep: async () => {
              if (second) return;
              second = migrate(b.sql, (l) => {
                log.push(l);
                resolve();
              }, all);
              await saidItWaits;
              await blocker.query("COMMIT");
            },
          });
          void first.then((report) => log.push(`first: ${report.applied.join(",")}`));
        });
        await saidItWaits;
        expect(await second).toEqual({ applied: [], alreadyApplied: names });
        expect(log).toEqual([
          `another process is migrating this database (advisory lock ${PRISMA_MIGRATE_LOCK}); waiting for it to finish, then checking again`,
          "first: 29990101000003_probe_column",
        ]);
      } finally {
        await blocker.end();
        await a.close();
        await b.close();
        await drop();
      }
    });
  });
}
