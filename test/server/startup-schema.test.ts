// `hookgate start` and `hookgate worker` against a schema this release does not match: one line
// naming what to do, exit code 2, no stack trace (src/store/schema-gate.ts).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import { migrate, readMigrations } from "../../src/store/migrator.js";
import { runHookgate } from "../support/processes.js";
import { createPostgresDatabase, storeKind } from "../support/store.js";

const kind = storeKind();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function run(command: string, env: Record<string, string>) {
  const child = runHookgate(command, { HOOKGATE_PORT: "0", HOOKGATE_LOG_LEVEL: "warn", ...env });
  return { code: await child.exited, output: child.output() };
}

/** A store of its own, as the environment of a process and as an open database for the test. */
async function store(): Promise<{ env: Record<string, string>; open: () => ReturnType<typeof openDatabase>; where: string }> {
  if (kind === "pglite") {
    const dir = mkdtempSync(join(tmpdir(), "hookgate-startup-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    return { env: { HOOKGATE_DATA_DIR: dir }, open: () => openDatabase({ dataDir: dir }), where: dir };
  }
  const { url, drop } = await createPostgresDatabase();
  cleanups.push(drop);
  return { env: { DATABASE_URL: url, HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64") }, open: () => openDatabase({ url }), where: url };
}

describe(`start-up schema checks (${kind})`, () => {
  // A store a newer release migrated, prepared before the test (opening PGlite takes long on a busy machine).
  let s: Awaited<ReturnType<typeof store>>;
  beforeAll(async () => {
    s = await store();
    const database = await s.open();
    try {
      await migrate(database.sql);
      await database.sql.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
         VALUES ('00000000-0000-4000-8000-00000000000a', 'x', now(), '29990101000000_from_a_newer_release', 1)`,
      );
    } finally {
      await database.close();
    }
  });

  it("refuses a database a newer release migrated, in one line, exit code 2", async () => {
    const result = await run(kind === "pglite" ? "start" : "worker", s.env);
    expect(result.code, result.output).toBe(2);
    expect(result.output).toBe(
      kind === "pglite"
        ? `hookgate: the data directory ${s.where} is from a newer Hookgate release (it has migration 29990101000000_from_a_newer_release, which this release does not know); start that release, or restore a backup-* directory (HOOKGATE_DATA_DIR)\n`
        : "hookgate: the database is newer than this release (it has migration 29990101000000_from_a_newer_release, which this release does not ship); run the newer release, or point DATABASE_URL elsewhere\n",
    );
  });

  if (kind === "postgres") {
    // (That it starts once `hookgate migrate` has run is the rolling upgrade's takeover, test/upgrade.)
    it("refuses pending migrations with HOOKGATE_MIGRATE=off (the default), in one line, exit code 2", async () => {
      const fresh = await store();
      const names = readMigrations().map((m) => m.name);
      const refused = await run("worker", fresh.env);
      expect(refused.code, refused.output).toBe(2);
      expect(refused.output).toBe(
        `hookgate: the database needs ${names.length} migration(s) this release ships (${names[0]}, …); run hookgate migrate first (HOOKGATE_MIGRATE=off)\n`,
      );
    });
  }
});
