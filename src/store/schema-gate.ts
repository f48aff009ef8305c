import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../config.js";
import type { Database } from "./database.js";
import { migrate, readMigrations, rewritesData, schemaStatus, type MigrateOptions, type Migration } from "./migrator.js";

// What a gateway or worker does about the schema when it starts (README, "Upgrading"):
//  - the database has a migration this release does not ship: a newer release migrated it;
//    refuse (the code may not understand the schema).
//  - migrations this release ships are pending: embedded mode applies them in place (one process
//    by construction), after backing up the data directory when one of them rewrites data;
//    PostgreSQL applies them with HOOKGATE_MIGRATE=auto (one process migrates, the others wait
//    and check again) and refuses with HOOKGATE_MIGRATE=off (run `hookgate migrate`).
//  - a backfill still running does not block start: code tolerates rows it has not reached
//    (embedded mode and `auto` run an unfinished one before starting; `off` leaves it to migrate).

/** The schema does not match this release; one line for the operator (exit code 2, as a setting error). */
export class SchemaMismatchError extends ConfigError {
  override name = "SchemaMismatchError";
}

export type MigrateMode = "auto" | "off";

export interface SchemaGateOptions extends MigrateOptions {
  readonly mode: MigrateMode;
  /** HOOKGATE_DATA_DIR (embedded mode backs up <dir>/pglite before a migration that rewrites data). */
  readonly dataDir: string;
  readonly log: (line: string) => void;
  readonly migrations?: Migration[];
  /** Time for the backup directory's name. */
  readonly now?: () => number;
}

export async function prepareSchema(database: Database, options: SchemaGateOptions): Promise<void> {
  const migrations = options.migrations ?? readMigrations();
  const embedded = database.kind === "pglite";
  const status = await schemaStatus(database.sql, migrations);
  if (status.unknown.length) {
    const newest = status.unknown.at(-1);
    throw new SchemaMismatchError(
      embedded
        ? `the data directory ${options.dataDir} is from a newer Hookgate release (it has migration ${newest}, which this release does not know); start that release, or restore a backup-* directory (HOOKGATE_DATA_DIR)`
        : `the database is newer than this release (it has migration ${newest}, which this release does not ship); run the newer release, or point DATABASE_URL elsewhere`,
    );
  }
  // Embedded mode and `auto` also finish a backfill an earlier run left (a crash, a restart).
  const mayMigrate = embedded || options.mode === "auto";
  if (status.pending.length || (status.backfilling.length && mayMigrate)) {
    if (status.pending.length && !mayMigrate) {
      throw new SchemaMismatchError(
        `the database needs ${status.pending.length} migration(s) this release ships (${status.pending[0]}${status.pending.length > 1 ? ", …" : ""}); run hookgate migrate first (HOOKGATE_MIGRATE=off)`,
      );
    }
    if (embedded) await backUpBeforeRewrite(database, options, migrations, status.pending, status.pending.length < migrations.length);
    await migrateQuietly(database, options, migrations);
  }
  const after = await schemaStatus(database.sql, migrations);
  if (after.pending.length) {
    throw new SchemaMismatchError(`the database still needs migration ${after.pending[0]}; run hookgate migrate (HOOKGATE_MIGRATE)`);
  }
  for (const name of after.backfilling) {
    options.log(`the backfill of ${name} has not finished (hookgate migrate runs it); this release works meanwhile`);
  }
}

async function migrateQuietly(database: Database, options: SchemaGateOptions, migrations: Migration[]) {
  const report = await migrate(database.sql, options.log, migrations, options);
  if (report.applied.length) options.log(`migrations applied: ${report.applied.join(", ")}`);
}

/** Copies <dataDir>/pglite to <dataDir>/backup-<time>/pglite when a pending migration rewrites data. */
async function backUpBeforeRewrite(database: Database, options: SchemaGateOptions, migrations: Migration[], pending: string[], hasData: boolean) {
  if (!hasData || options.dataDir.startsWith("memory://")) return;
  const rewriting = migrations.filter((m) => pending.includes(m.name) && rewritesData(m));
  if (!rewriting.length) return;
  const source = join(options.dataDir, "pglite");
  if (!existsSync(source)) return;
  const stamp = new Date((options.now ?? Date.now)()).toISOString().replace(/[:.]/g, "-");
  const target = join(options.dataDir, `backup-${stamp}`, "pglite");
  // CHECKPOINT writes every change into the data files, and nothing else uses the database during
  // start-up: the copy is a database that opens as it was (test/store/embedded-upgrade.test.ts).
  await database.sql.query("CHECKPOINT");
  cpSync(source, target, { recursive: true, errorOnExist: true, force: false });
  options.log(`backed up the embedded database to ${target} before migrating (${rewriting[0]!.name} rewrites data)`);
}
