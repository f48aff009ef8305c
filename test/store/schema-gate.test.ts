// What a gateway or worker does about the schema at start (src/store/schema-gate.ts), on the store
// of this vitest project: PostgreSQL with HOOKGATE_MIGRATE=off refuses pending migrations, every
// store refuses a schema from a newer release, a backfill still running does not block start, and
// embedded mode migrates in place, backing up its data directory first when a migration rewrites data.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import { migrate, readMigrations, schemaStatus, type Migration } from "../../src/store/migrator.js";
import { prepareSchema, SchemaMismatchError } from "../../src/store/schema-gate.js";
import { openTestStore, storeKind, type TestStore } from "../support/store.js";
import { insertWebhookAndEvent } from "../support/store-rows.js";

const kind = storeKind();
const real = readMigrations();
const synthetic = (name: string, sql: string, backfill?: string): Migration => ({ name, sql, checksum: name.padEnd(64, "0").slice(0, 64), backfill });
const withBackfill = synthetic(
  "29990101000001_probe_backfill",
  `ALTER TABLE "events" ADD COLUMN "probe" TEXT;`,
  `UPDATE "events" SET "probe" = 'x' WHERE "id" IN (SELECT "id" FROM "events" WHERE "probe" IS NULL ORDER BY "id" LIMIT 100)`,
);

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
const dirs: string[] = [];
afterAll(async () => {
  await shared?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe(`prepareSchema() at start (${kind})`, () => {
  it(kind === "postgres" ? "with HOOKGATE_MIGRATE=off refuses pending migrations in one line, applying nothing" : "migrates an embedded database in place whatever HOOKGATE_MIGRATE says", async () => {
    const { database } = await freshStore();
    const log: string[] = [];
    const attempt = prepareSchema(database, { mode: "off", dataDir: "memory://", log: (l) => log.push(l) });
    if (kind === "postgres") {
      await expect(attempt).rejects.toThrow(
        new SchemaMismatchError(`the database needs ${real.length} migration(s) this release ships (${real[0]!.name}, …); run hookgate migrate first (HOOKGATE_MIGRATE=off)`),
      );
      expect((await schemaStatus(database.sql)).pending).toHaveLength(real.length);
    } else {
      await attempt;
      expect(log.at(-1)).toBe(`migrations applied: ${real.map((m) => m.name).join(", ")}`);
      expect((await schemaStatus(database.sql)).pending).toEqual([]);
    }
  });

  it("with HOOKGATE_MIGRATE=auto applies what is pending and starts", async () => {
    const { database } = await freshStore();
    await prepareSchema(database, { mode: "auto", dataDir: "memory://", log: () => undefined });
    expect(await schemaStatus(database.sql)).toEqual({ pending: [], unknown: [], backfilling: [] });
  });

  it("refuses, in one line, a database that a newer release migrated", async () => {
    const { database } = await freshStore();
    await migrate(database.sql, () => undefined, [...real, synthetic("29990101000002_newer", `CREATE TABLE "newer_probe" ("id" INTEGER);`)]);
    const attempt = prepareSchema(database, { mode: "auto", dataDir: "./data", log: () => undefined });
    await expect(attempt).rejects.toBeInstanceOf(SchemaMismatchError);
    await expect(attempt).rejects.toThrow(
      kind === "postgres"
        ? "the database is newer than this release (it has migration 29990101000002_newer, which this release does not ship); run the newer release, or point DATABASE_URL elsewhere"
        : "the data directory ./data is from a newer Hookgate release (it has migration 29990101000002_newer, which this release does not know); start that release, or restore a backup-* directory (HOOKGATE_DATA_DIR)",
    );
  });

  it("with HOOKGATE_MIGRATE=off starts while a backfill has not finished, saying so; embedded mode finishes it first", async () => {
    const { database } = await freshStore();
    const all = [...real, withBackfill];
    await migrate(database.sql, () => undefined, all, { backfills: false });
    await insertWebhookAndEvent(database.sql);
    const log: string[] = [];
    await prepareSchema(database, { mode: "off", dataDir: "memory://", log: (l) => log.push(l), migrations: all });
    if (kind === "postgres") {
      // (The real migrations' own backfills are unfinished too here, and said the same way.)
      expect(log.filter((l) => l.includes(withBackfill.name))).toEqual([
        `the backfill of ${withBackfill.name} has not finished (hookgate migrate runs it); this release works meanwhile`,
      ]);
      expect(await database.sql.query(`SELECT probe FROM events`)).toEqual([{ probe: null }]);
    } else {
      expect(log.filter((l) => l.startsWith(`backfilled ${withBackfill.name}: 1 rows in `))).toHaveLength(1);
      expect(await database.sql.query(`SELECT probe FROM events`)).toEqual([{ probe: "x" }]);
    }
  });
});

if (kind === "pglite") {
  describe("embedded mode on disk", () => {
    // Each PGlite open takes long on a busy machine, so the two (the data directory, then its
    // backup) happen in hooks and the test checks what they saw.
    const dataDir = mkdtempSync(join(tmpdir(), "hookgate-embedded-upgrade-"));
    dirs.push(dataDir);
    const backup = join(dataDir, "backup-2026-11-29T08-00-00-000Z");
    const log: string[] = [];
    const seen: { backupsAfterFirstStart?: string[]; probe?: unknown; restoredEvents?: unknown; restoredPending?: string[] } = {};
    beforeAll(async () => {
      const first = await openDatabase({ dataDir });
      try {
        // A fresh directory has nothing to back up.
        await prepareSchema(first, { mode: "off", dataDir, log: (l) => log.push(l), migrations: real });
        seen.backupsAfterFirstStart = readdirSync(dataDir).filter((f) => f.startsWith("backup-"));
        await insertWebhookAndEvent(first.sql);
        // The next release ships a migration with a backfill.
        await prepareSchema(first, { mode: "off", dataDir, log: (l) => log.push(l), migrations: [...real, withBackfill], now: () => Date.UTC(2026, 10, 29, 8) });
        seen.probe = await first.sql.query(`SELECT probe FROM events`);
      } finally {
        await first.close();
      }
    });
    beforeAll(async () => {
      if (!existsSync(join(backup, "pglite"))) return;
      const restored = await openDatabase({ dataDir: backup });
      try {
        seen.restoredEvents = await restored.sql.query(`SELECT id::int AS id, event_name FROM events`);
        seen.restoredPending = (await schemaStatus(restored.sql, [...real, withBackfill])).pending;
      } finally {
        await restored.close();
      }
    });

    it("backs up the data directory before a migration that rewrites data, and the backup opens as it was", () => {
      expect(seen.backupsAfterFirstStart).toEqual([]);
      expect(log).toContain(`backed up the embedded database to ${join(backup, "pglite")} before migrating (${withBackfill.name} rewrites data)`);
      expect(seen.probe).toEqual([{ probe: "x" }]);
      expect(seen.restoredEvents).toEqual([{ id: 1, event_name: "t" }]);
      expect(seen.restoredPending).toEqual([withBackfill.name]);
    });
  });
}
