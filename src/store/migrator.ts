import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SqlClient } from "./database.js";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

/** The advisory lock Prisma Migrate takes, so our migrator and `prisma migrate deploy` never race. */
const PRISMA_MIGRATE_LOCK = 72707369;

export interface Migration {
  readonly name: string;
  readonly sql: string;
  /** Prisma's checksum: hex SHA-256 of migration.sql. */
  readonly checksum: string;
}

export interface MigrationReport {
  readonly applied: string[];
  readonly alreadyApplied: string[];
}

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
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
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

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

/**
 * Applies every migration not yet recorded, all in one transaction under Prisma's advisory
 * lock: a failure rolls back the whole run, including migrations applied before it in the same
 * call, and records nothing. A recorded migration whose file changed is refused.
 */
export async function migrate(
  sql: SqlClient,
  onProgress: (line: string) => void = () => undefined,
  migrations: Migration[] = readMigrations(),
): Promise<MigrationReport> {
  // A `-- hookgate:no-transaction` migration (CREATE INDEX CONCURRENTLY) cannot run inside the
  // run's transaction: the migrations before it are applied and committed first, then it runs
  // statement by statement (its statements are idempotent: IF NOT EXISTS), then the rest.
  // (Minimal support until the zero-downtime migrator lands.)
  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  let from = 0;
  while (from < migrations.length) {
    const cut = migrations.findIndex((m, i) => i >= from && isNoTransaction(m));
    const upTo = cut === -1 ? migrations.length : cut;
    const part = await migrateInTransaction(sql, onProgress, migrations.slice(from, upTo));
    report.applied.push(...part.applied);
    report.alreadyApplied.push(...part.alreadyApplied);
    if (cut === -1) break;
    const migration = migrations[cut]!;
    if ((await pendingMigrations(sql, [migration])).length) {
      onProgress(`applying ${migration.name}`);
      for (const statement of splitStatements(migration.sql)) {
        try {
          await sql.query(statement);
        } catch (error) {
          throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}\n${statement}`);
        }
      }
    }
    const recorded = await migrateInTransaction(sql, onProgress, [migration], true);
    report.applied.push(...recorded.applied);
    report.alreadyApplied.push(...recorded.alreadyApplied);
    from = cut + 1;
  }
  return report;
}

function isNoTransaction(migration: Migration): boolean {
  return migration.sql.split("\n", 1)[0]!.trim() === "-- hookgate:no-transaction";
}

async function migrateInTransaction(
  sql: SqlClient,
  onProgress: (line: string) => void,
  migrations: Migration[],
  recordOnly = false,
): Promise<MigrationReport> {
  return sql.transaction(async (tx) => {
    // Transaction-scoped, so it is released even when a migration fails.
    await tx.query(`SELECT pg_advisory_xact_lock(${PRISMA_MIGRATE_LOCK})`);
    await tx.query(CREATE_MIGRATIONS_TABLE);
    const rows = await tx.query<AppliedRow>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    const recorded = new Map(rows.map((row) => [row.migration_name, row]));
    const report: MigrationReport = { applied: [], alreadyApplied: [] };
    for (const migration of migrations) {
      const row = recorded.get(migration.name);
      if (row) {
        if (!row.finished_at) throw new MigrationError(`migration ${migration.name} started earlier but never finished`);
        if (row.checksum !== migration.checksum) {
          throw new MigrationError(`migration ${migration.name} was changed after it was applied (checksum differs)`);
        }
        report.alreadyApplied.push(migration.name);
        continue;
      }
      if (!recordOnly) onProgress(`applying ${migration.name}`);
      // Statements run one by one so a failure names its statement; the whole set shares the transaction.
      for (const statement of recordOnly ? [] : splitStatements(migration.sql)) {
        try {
          await tx.query(statement);
        } catch (error) {
          throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}\n${statement}`);
        }
      }
      await tx.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
         VALUES ($1, $2, now(), $3, now(), 1)`,
        [randomUUID(), migration.checksum, migration.name],
      );
      report.applied.push(migration.name);
    }
    return report;
  });
}

/** The names of migrations on disk that the database has not recorded (for readiness checks). */
export async function pendingMigrations(sql: SqlClient, migrations: Migration[] = readMigrations()): Promise<string[]> {
  const exists = await sql.query<{ t: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
  if (!exists[0]?.t) return migrations.map((m) => m.name);
  const rows = await sql.query<{ migration_name: string }>(
    `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  const done = new Set(rows.map((r) => r.migration_name));
  return migrations.filter((m) => !done.has(m.name)).map((m) => m.name);
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
