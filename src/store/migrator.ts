import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SqlClient, SqlQuery, SqlSession } from "./database.js";

// Applies prisma/migrations so that processes of the previous release keep running meanwhile
// (expand and contract; README, Development). Three kinds of work, each run its own way:
//  - migration.sql, by default: one transaction per migration, every statement under a short
//    lock_timeout, so a migration waits behind traffic instead of traffic queueing behind it;
//    a lock timeout rolls the migration back and it is tried again after a pause.
//  - migration.sql whose first line is `-- hookgate:no-transaction`: statement by statement,
//    outside a transaction (CREATE INDEX CONCURRENTLY). Its statements are idempotent (IF NOT
//    EXISTS), so an interrupted one is resumed from the start; an INVALID index left by a failed
//    concurrent build is dropped and built again.
//  - backfill.sql beside it: one idempotent statement handling one batch, run again and again
//    outside a transaction until it changes no row; progress is kept in hookgate_backfills so a
//    restart resumes, and it is recorded finished only when a batch changes nothing.
// Bookkeeping stays Prisma's (_prisma_migrations, column for column), so `prisma migrate status`
// reads it; backfill state has a table of its own.

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

/** The advisory lock Prisma Migrate takes, so our migrator and `prisma migrate deploy` never race. */
export const PRISMA_MIGRATE_LOCK = 72707369;
/**
 * Held by the one process running backfills; others do not wait for it. Two int4 keys: a key
 * space apart from every single-bigint advisory lock (the publisher's event-order lock is
 * 72707370; sharing it would stop every publish for as long as a backfill runs).
 */
const BACKFILL_LOCK: [number, number] = [PRISMA_MIGRATE_LOCK, 1];

/** The first line of a migration.sql that must run outside a transaction. */
export const NO_TRANSACTION_MARK = "-- hookgate:no-transaction";

export interface Migration {
  readonly name: string;
  readonly sql: string;
  /** Prisma's checksum: hex SHA-256 of migration.sql. */
  readonly checksum: string;
  /** backfill.sql beside migration.sql: one idempotent statement that handles one batch. */
  readonly backfill?: string | undefined;
}

export interface MigrationReport {
  readonly applied: string[];
  readonly alreadyApplied: string[];
}

export interface MigrateOptions {
  /** How long one statement may wait for a lock (lock_timeout) before the migration is rolled back and retried. */
  readonly lockTimeoutMs?: number;
  /** Tries after the first one when a statement times out on a lock. */
  readonly lockRetries?: number;
  /** Pause before the first retry; each next one doubles it. */
  readonly retryPauseMs?: number;
  /** Waits between retries and while another process migrates (tests inject one that does not sleep). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** A clock in milliseconds, for backfill rates. */
  readonly now?: () => number;
  /** Run the backfills after the schema (default true). */
  readonly backfills?: boolean;
  /** How often a running backfill logs its progress. */
  readonly progressEveryMs?: number;
}

const DEFAULTS = {
  // Traffic that needs the table queues behind a statement waiting for its lock: this is the
  // longest it can be held up (a publish must not wait a second), so it is short and retried often.
  lockTimeoutMs: 500,
  lockRetries: 10,
  retryPauseMs: 1_000,
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  now: () => performance.now(),
  backfills: true,
  progressEveryMs: 5_000,
};
type Settings = typeof DEFAULTS;

export class MigrationError extends Error {
  override name = "MigrationError";
}

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, "migration.sql"), "utf8");
      const backfillFile = join(dir, name, "backfill.sql");
      const backfill = existsSync(backfillFile) ? readFileSync(backfillFile, "utf8") : undefined;
      if (backfill !== undefined && splitStatements(backfill).length !== 1) {
        throw new MigrationError(`${name}/backfill.sql must hold exactly one statement (one batch), not ${splitStatements(backfill).length}`);
      }
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex"), ...(backfill === undefined ? {} : { backfill }) };
    });
}

/** Its first line is exactly `-- hookgate:no-transaction`. */
export function runsOutsideTransaction(migration: Migration): boolean {
  return migration.sql.split(/\r?\n/, 1)[0] === NO_TRANSACTION_MARK;
}

/**
 * Changes or removes existing data, so embedded mode backs up its data directory first: it has a
 * backfill, or a line `-- hookgate:rewrites-data` or `-- hookgate:contract` (a contract step drops).
 */
export function rewritesData(migration: Migration): boolean {
  return migration.backfill !== undefined || /^-- hookgate:(rewrites-data|contract)\s*$/m.test(migration.sql);
}

// Prisma's own bookkeeping table, column for column, so `prisma migrate deploy` reads our rows.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

// Ours: one row per backfill begun; finished_at only once a batch changed nothing.
const CREATE_BACKFILLS_TABLE = `
CREATE TABLE IF NOT EXISTS "hookgate_backfills" (
    "migration_name"  VARCHAR(255) PRIMARY KEY NOT NULL,
    "rows_done"       BIGINT NOT NULL DEFAULT 0,
    "batches"         INTEGER NOT NULL DEFAULT 0,
    "started_at"      TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at"      TIMESTAMPTZ NOT NULL DEFAULT now(),
    "finished_at"     TIMESTAMPTZ
)`;

interface AppliedRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

// PGlite is one connection, on which advisory locks are re-entrant: overlapping calls in one
// process are put in a queue here (on PostgreSQL each call has a connection and the lock works).
const queues = new WeakMap<SqlClient, Promise<unknown>>();
function serialised<T>(sql: SqlClient, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(sql) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  queues.set(sql, next.catch(() => undefined));
  return next;
}

/**
 * Applies every migration not yet recorded, each in its own transaction (or outside one, see
 * above), under Prisma's advisory lock; then runs unfinished backfills under a lock of their own
 * (skipped, not waited for, when another process holds it). A process finding the lock taken
 * logs that it waits, then reads the bookkeeping again. A migration that fails is rolled back and
 * recorded nowhere; those before it stay applied. A recorded migration whose file changed, or one
 * recorded that this release does not ship (the database is newer), is refused.
 */
export async function migrate(
  sql: SqlClient,
  onProgress: (line: string) => void = () => undefined,
  migrations: Migration[] = readMigrations(),
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const settings: Settings = { ...DEFAULTS, ...definedOnly(options) };
  return serialised(sql, () =>
    sql.session(async (session) => {
      const report = await withLock(session, PRISMA_MIGRATE_LOCK, "wait", onProgress, async () => {
        await session.query(CREATE_MIGRATIONS_TABLE);
        await session.query(CREATE_BACKFILLS_TABLE);
        return applySchema(sql, session, migrations, onProgress, settings);
      });
      if (settings.backfills && migrations.some((m) => m.backfill !== undefined)) {
        await withLock(session, BACKFILL_LOCK, "skip", onProgress, () => runBackfills(session, migrations, onProgress, settings));
      }
      return report!;
    }),
  );
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function withLock<T>(
  session: SqlSession,
  key: number | [number, number],
  busy: "wait" | "skip",
  log: (line: string) => void,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  const [args, params] = typeof key === "number" ? ["$1::bigint", [key]] : ["$1::int, $2::int", key];
  const [row] = await session.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${args}) AS ok`, params);
  if (!row?.ok) {
    if (busy === "skip") {
      log("another process is running the backfills; not waiting for it");
      return undefined;
    }
    log(`another process is migrating this database (advisory lock ${key}); waiting for it to finish, then checking again`);
    // Polled, not waited for in one statement: a statement blocked on the lock is a running
    // transaction, and the holder's CREATE INDEX CONCURRENTLY waits for every running
    // transaction to end, so the two would deadlock.
    for (let pause = 50; ; pause = Math.min(pause * 2, 1_000)) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      const [again] = await session.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${args}) AS ok`, params);
      if (again?.ok) break;
    }
  }
  try {
    return await fn();
  } finally {
    await session.query(`SELECT pg_advisory_unlock(${args})`, params).catch(() => undefined);
  }
}

async function applySchema(
  sql: SqlClient,
  session: SqlSession,
  migrations: Migration[],
  log: (line: string) => void,
  settings: Settings,
): Promise<MigrationReport> {
  const rows = await session.query<AppliedRow>(
    `SELECT id, migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at`,
  );
  const shipped = new Set(migrations.map((m) => m.name));
  const unknown = rows.filter((r) => !shipped.has(r.migration_name)).map((r) => r.migration_name);
  if (unknown.length) {
    throw new MigrationError(
      `the database has migration ${unknown.sort().at(-1)} that this release does not ship: a newer release migrated it; run that release`,
    );
  }
  const recorded = new Map(rows.map((row) => [row.migration_name, row]));
  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  for (const migration of migrations) {
    const row = recorded.get(migration.name);
    if (row?.finished_at) {
      if (row.checksum !== migration.checksum) {
        throw new MigrationError(`migration ${migration.name} was changed after it was applied (checksum differs)`);
      }
      report.alreadyApplied.push(migration.name);
      continue;
    }
    const outside = runsOutsideTransaction(migration);
    // A transactional migration is never half-applied by us; an unfinished record is someone
    // else's failure (Prisma's P3009) and is not guessed about. An outside-transaction one is
    // idempotent by contract and is resumed.
    if (row && !outside) throw new MigrationError(`migration ${migration.name} started earlier but never finished`);
    if (row && row.checksum !== migration.checksum) {
      throw new MigrationError(`migration ${migration.name} was changed after it was started (checksum differs)`);
    }
    log(row ? `resuming ${migration.name} (interrupted earlier; its statements are idempotent)` : `applying ${migration.name}`);
    if (outside) await applyOutsideTransaction(session, migration, row?.id, log, settings);
    else await applyInTransaction(sql, migration, log, settings);
    report.applied.push(migration.name);
  }
  return report;
}

/** SQLSTATE 55P03 lock_not_available (lock_timeout) and 40P01 deadlock: the statement can be tried again. */
function isLockConflict(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.code === "55P03" || e.code === "40P01") return true;
  }
  return false;
}

async function retryingLockConflicts<T>(
  what: string,
  log: (line: string) => void,
  settings: Settings,
  fn: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isLockConflict(error) || attempt >= settings.lockRetries) throw error;
      const pause = Math.min(settings.retryPauseMs * 2 ** attempt, 30_000);
      log(
        `${what} gave up waiting for a lock after ${settings.lockTimeoutMs} ms (traffic holds it); rolled back, retrying in ${pause} ms (retry ${attempt + 1} of ${settings.lockRetries})`,
      );
      await settings.sleep(pause);
    }
  }
}

function failed(migration: Migration, statement: string, error: unknown): MigrationError {
  return new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}\n${statement}`, { cause: error });
}

async function applyInTransaction(sql: SqlClient, migration: Migration, log: (line: string) => void, settings: Settings) {
  await retryingLockConflicts(migration.name, log, settings, () =>
    sql.transaction(async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = ${Math.round(settings.lockTimeoutMs)}`);
      // Statements run one by one so a failure names its statement; the set shares the transaction.
      for (const statement of splitStatements(migration.sql)) {
        try {
          await tx.query(statement);
        } catch (error) {
          throw failed(migration, statement, error);
        }
      }
      await tx.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
         VALUES ($1, $2, now(), $3, now(), 1)`,
        [randomUUID(), migration.checksum, migration.name],
      );
    }),
  );
}

const CONCURRENT_INDEX = /^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+("(?:[^"]|"")+"|\w+)/i;
const CONCURRENTLY = /\bCONCURRENTLY\b/i;

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier.toLowerCase();
}

async function indexValidity(session: SqlQuery, name: string): Promise<boolean | undefined> {
  const [row] = await session.query<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`,
    [name],
  );
  return row?.valid;
}

async function applyOutsideTransaction(
  session: SqlSession,
  migration: Migration,
  existingId: string | undefined,
  log: (line: string) => void,
  settings: Settings,
) {
  // Recorded as started first: a crash leaves an unfinished row, which the next run resumes.
  const id = existingId ?? randomUUID();
  if (!existingId) {
    await session.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, NULL, $3, now(), 0)`,
      [id, migration.checksum, migration.name],
    );
  }
  const statements = splitStatements(migration.sql);
  for (const [step, statement] of statements.entries()) {
    await retryingLockConflicts(`${migration.name} (statement ${step + 1})`, log, settings, async () => {
      const index = statement.match(CONCURRENT_INDEX)?.[1];
      // A concurrent build that failed (here or in an earlier run) leaves an INVALID index that
      // IF NOT EXISTS would keep for good: drop it and build again.
      if (index && (await indexValidity(session, unquote(index))) === false) {
        log(`${migration.name}: index ${unquote(index)} is INVALID (an earlier build failed); dropping and building it again`);
        await session.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
      }
      // CONCURRENTLY takes a lock that writes do not conflict with, and waits for transactions
      // older than it: no lock_timeout for it (it would only restart a long build). Anything
      // else waits at most lockTimeoutMs, as in a transaction.
      const timeout = CONCURRENTLY.test(statement) ? 0 : Math.round(settings.lockTimeoutMs);
      await session.query(`SET lock_timeout = ${timeout}`);
      try {
        await session.query(statement);
      } catch (error) {
        if (isLockConflict(error)) throw error;
        throw failed(migration, statement, error);
      } finally {
        await session.query(`RESET lock_timeout`);
      }
      if (index && (await indexValidity(session, unquote(index))) === false) {
        throw new MigrationError(`migration ${migration.name}: index ${unquote(index)} is INVALID after its build\n${statement}`);
      }
    });
    await session.query(`UPDATE "_prisma_migrations" SET applied_steps_count = $2 WHERE id = $1`, [id, step + 1]);
  }
  await session.query(`UPDATE "_prisma_migrations" SET finished_at = now(), logs = NULL WHERE id = $1`, [id]);
}

interface BackfillRow {
  rows_done: string;
  finished_at: Date | null;
}

async function runBackfills(session: SqlSession, migrations: Migration[], log: (line: string) => void, settings: Settings) {
  for (const migration of migrations) {
    if (migration.backfill === undefined) continue;
    const [state] = await session.query<BackfillRow>(
      `SELECT rows_done::text AS rows_done, finished_at FROM "hookgate_backfills" WHERE migration_name = $1`,
      [migration.name],
    );
    if (state?.finished_at) continue;
    await session.query(`INSERT INTO "hookgate_backfills" (migration_name) VALUES ($1) ON CONFLICT DO NOTHING`, [migration.name]);
    let rows = Number(state?.rows_done ?? 0);
    const resumedFrom = rows;
    log(state ? `backfilling ${migration.name}: resuming after ${rows} rows` : `backfilling ${migration.name}`);
    const started = settings.now();
    let lastLog = started;
    const statement = splitStatements(migration.backfill)[0]!;
    await session.query(`SET lock_timeout = ${Math.round(settings.lockTimeoutMs)}`);
    try {
      for (;;) {
        const changed = await retryingLockConflicts(`${migration.name} backfill`, log, settings, async () => {
          try {
            return await session.run(statement);
          } catch (error) {
            if (isLockConflict(error)) throw error;
            throw new MigrationError(`backfill of ${migration.name} failed: ${(error as Error).message}\n${statement}`, { cause: error });
          }
        });
        if (changed === 0) break;
        rows += changed;
        await session.query(
          `UPDATE "hookgate_backfills" SET rows_done = $2, batches = batches + 1, updated_at = now() WHERE migration_name = $1`,
          [migration.name, rows],
        );
        const now = settings.now();
        if (now - lastLog >= settings.progressEveryMs) {
          lastLog = now;
          log(`backfilling ${migration.name}: ${rows} rows so far, ${rate(rows - resumedFrom, now - started)} rows/s`);
        }
      }
    } finally {
      await session.query(`RESET lock_timeout`);
    }
    await session.query(`UPDATE "hookgate_backfills" SET finished_at = now(), updated_at = now() WHERE migration_name = $1`, [
      migration.name,
    ]);
    const ms = settings.now() - started;
    log(`backfilled ${migration.name}: ${rows} rows in ${Math.round(ms)} ms (${rate(rows - resumedFrom, ms)} rows/s)`);
  }
}

function rate(rows: number, ms: number): number {
  return ms > 0 ? Math.round((rows * 1000) / ms) : rows;
}

export interface SchemaStatus {
  /** Shipped by this release, migration.sql not (completely) applied. */
  readonly pending: string[];
  /** Applied to the database but not shipped by this release: a newer release migrated it. */
  readonly unknown: string[];
  /** Shipped with a backfill.sql that has not finished (its migration.sql is applied or pending). */
  readonly backfilling: string[];
}

/** Where the database stands against this release's migrations; reads only, creates nothing. */
export async function schemaStatus(sql: SqlQuery, migrations: Migration[] = readMigrations()): Promise<SchemaStatus> {
  const [tables] = await sql.query<{ m: string | null; b: string | null }>(
    `SELECT to_regclass('"_prisma_migrations"')::text AS m, to_regclass('"hookgate_backfills"')::text AS b`,
  );
  const withBackfill = migrations.filter((m) => m.backfill !== undefined).map((m) => m.name);
  if (!tables?.m) return { pending: migrations.map((m) => m.name), unknown: [], backfilling: withBackfill };
  const rows = await sql.query<{ migration_name: string; finished: boolean }>(
    `SELECT migration_name, finished_at IS NOT NULL AS finished FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
  );
  const done = new Set(rows.filter((r) => r.finished).map((r) => r.migration_name));
  const shipped = new Set(migrations.map((m) => m.name));
  const backfilled = tables.b
    ? new Set(
        (await sql.query<{ migration_name: string }>(`SELECT migration_name FROM "hookgate_backfills" WHERE finished_at IS NOT NULL`)).map(
          (r) => r.migration_name,
        ),
      )
    : new Set<string>();
  return {
    pending: migrations.filter((m) => !done.has(m.name)).map((m) => m.name),
    unknown: [...new Set(rows.map((r) => r.migration_name).filter((name) => !shipped.has(name)))].sort(),
    backfilling: withBackfill.filter((name) => !backfilled.has(name)),
  };
}

/** The names of migrations on disk that the database has not recorded (for readiness checks). */
export async function pendingMigrations(sql: SqlQuery, migrations: Migration[] = readMigrations()): Promise<string[]> {
  return (await schemaStatus(sql, migrations)).pending;
}

/**
 * Splits a migration script at the semicolons that end statements, respecting quotes, -- comments
 * and $$-quoted bodies (trigger functions; tagged $name$ quotes are not used in our migrations).
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = "";
  let quote: '"' | "'" | "$$" | null = null;
  for (let i = 0; i < script.length; i++) {
    const ch = script[i]!;
    if (!quote && ch === "-" && script[i + 1] === "-") {
      const end = script.indexOf("\n", i);
      i = end === -1 ? script.length : end;
      current += "\n";
      continue;
    }
    if ((!quote || quote === "$$") && ch === "$" && script[i + 1] === "$") {
      quote = quote ? null : "$$";
      current += "$$";
      i++;
      continue;
    }
    if (quote === "$$") {
      current += ch;
      continue;
    }
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === ";") {
      if (current.trim()) statements.push(current.trim());
      current = "";
      continue;
    }
    current += ch;
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}
