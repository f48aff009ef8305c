import { ConfigError, loadConfig, type Config } from "./config.js";
import { createLogger } from "./log.js";
import { createAdminToken } from "./auth/admin-tokens.js";
import { checkEmbeddedRole, holdDataDir, serveTokenRequests, tokenFromRunningGateway, TokenRefused, type StoreCommand } from "./server/embedded-lock.js";
import { startGateway } from "./server/gateway.js";
import { systemClock } from "./clock.js";
import { createPublisher, PublishError } from "./publishing/publisher.js";
import { PayloadSchemas } from "./publishing/payload-schema.js";
import { describePostgres, openDatabase, type Database } from "./store/database.js";
import { migrate, MigrationError, pendingMigrations } from "./store/migrator.js";
import { prepareSchema } from "./store/schema-gate.js";
import type { DataDirLock } from "./store/data-dir-lock.js";

const USAGE = `Usage: hookgate <command>

  start     the GraphQL API and the dispatcher (HOOKGATE_ROLE picks: all, api, worker)
  worker    the dispatcher only, for scaling out deliveries
  migrate   apply database migrations (then run their backfills) and exit;
            gateways and workers never migrate PostgreSQL unless HOOKGATE_MIGRATE=auto
  token     create an admin token and print it once (optional label as next argument);
            with the embedded database, a running gateway creates it
  replay    --webhook <id> --since <ISO 8601 time> [--only-failed]
            queue a new delivery of every event a webhook was sent since a time
            (what the replayWebhook mutation does); running dispatchers send them
`;

/** A command line the user must correct (exit code 2, with the usage). */
class UsageError extends Error {
  override name = "UsageError";
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(USAGE);
    return 0;
  }
  // No command is a question, not an order to open ./data and take port 4000: usage, exit 2.
  if (command === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    if (!["start", "worker", "migrate", "token", "replay"].includes(command)) throw new UsageError(`unknown command "${command}"`);
    // Arguments are checked before the configuration: a typo is reported as a typo.
    const replay = command === "replay" ? parseReplayArgs(rest) : undefined;
    const config = loadConfig(command === "worker" ? { ...process.env, HOOKGATE_ROLE: "worker" } : process.env);
    if (command === "start" || command === "worker") checkEmbeddedRole(config, command);
    const label = rest[0] ?? "created by hookgate token";
    if (command === "token") {
      // Embedded and a gateway running: it holds the database, so it mints the token.
      const minted = await tokenFromRunningGateway(config, label);
      if (minted !== undefined) return printToken(minted);
    }
    // Embedded mode: one process at a time on the data directory (a second one would corrupt it).
    const lock = await holdDataDir(config, command as StoreCommand);
    try {
      switch (command) {
        case "start":
        case "worker":
          return await serve(config, lock);
        case "migrate":
          return await runMigrate(config);
        case "token":
          return await runToken(config, label);
        default:
          return await runReplay(config, replay!);
      }
    } finally {
      await lock?.release();
    }
  } catch (error) {
    if (error instanceof TokenRefused) {
      process.stderr.write(`hookgate: ${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`hookgate: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`hookgate: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

async function serve(config: Config, lock: DataDirLock | undefined): Promise<number> {
  const logger = createLogger(config.HOOKGATE_LOG_LEVEL);
  // Listen for signals before starting, so a SIGTERM during start-up also shuts down cleanly.
  const signalled = new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  const gateway = await startGateway({ config, logger });
  lock?.describe({ url: gateway.url });
  if (lock) serveTokenRequests(lock, gateway.database, logger);
  // stdout carries JSON log lines (the "hookgate started" line has the URL); a person at a terminal also gets a sentence.
  if (process.stdout.isTTY) {
    process.stdout.write(gateway.url ? `Hookgate is up: GraphQL API and GraphiQL at ${gateway.url}\n` : "Hookgate dispatcher is running\n");
    if (gateway.metricsUrl) process.stdout.write(`Hookgate metrics at ${gateway.metricsUrl}\n`);
  }
  const signal = await signalled;
  logger.info({ signal }, "stopping: no new claims; in-flight deliveries finish or are given back");
  await gateway.close();
  return 0;
}

/** Which database a command works on, for its first line of output: never the URL's credentials. */
function describeStore(config: Config): string {
  return config.DATABASE_URL ? describePostgres(config.DATABASE_URL) : `the embedded database in ${config.HOOKGATE_DATA_DIR}`;
}

async function runMigrate(config: Config): Promise<number> {
  const started = performance.now();
  process.stdout.write(`migrating ${describeStore(config)}\n`);
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.HOOKGATE_DATA_DIR });
  try {
    // Each migration commits on its own; "applying" and backfill lines are progress, the last line says it is done.
    const report = await migrate(database.sql, (line) => process.stdout.write(`  ${line}\n`), undefined, {
      lockTimeoutMs: config.HOOKGATE_MIGRATION_LOCK_TIMEOUT_MS,
    });
    const ms = Math.round(performance.now() - started);
    process.stdout.write(
      report.applied.length
        ? `applied ${report.applied.length} migration(s) in ${ms} ms; ${report.alreadyApplied.length} were already applied\n`
        : `database is up to date (${report.alreadyApplied.length} migrations applied)\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof MigrationError)) throw error;
    // What failed and why, without a stack: migrations before it stay applied; run it again once fixed.
    process.stderr.write(`hookgate: ${error.message.split("\n")[0]}\n`);
    return 1;
  } finally {
    await database.close();
  }
}

interface ReplayArgs {
  readonly webhookId: number;
  readonly since: Date;
  readonly onlyFailed: boolean;
}

function parseReplayArgs(args: readonly string[]): ReplayArgs {
  let webhook: string | undefined;
  let since: string | undefined;
  let onlyFailed = false;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined || v === "") throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === "--webhook") webhook = value();
    else if (flag === "--since") since = value();
    else if (flag === "--only-failed" && inline === undefined) onlyFailed = true;
    else throw new UsageError(`replay: unknown argument "${args[i]}"`);
  }
  if (webhook === undefined || since === undefined) throw new UsageError("replay needs --webhook <id> and --since <time>");
  if (!/^[1-9]\d{0,9}$/.test(webhook) || Number(webhook) > 2 ** 31 - 1) throw new UsageError(`--webhook must be a webhook id (got "${webhook}")`);
  // ISO 8601 with a date and, if a time is given, a zone: an operator's "since" must not depend on the machine's zone.
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/;
  const at = new Date(since);
  if (!iso.test(since) || Number.isNaN(at.getTime())) {
    throw new UsageError(`--since must be an ISO 8601 time such as 2026-11-23T08:00:00Z (got "${since}")`);
  }
  return { webhookId: Number(webhook), since: at, onlyFailed };
}

async function runReplay(config: Config, args: ReplayArgs): Promise<number> {
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.HOOKGATE_DATA_DIR });
  try {
    if (!(await ready(database))) return 1;
    const what = args.onlyFailed ? "failed deliveries" : "deliveries";
    process.stdout.write(`replaying webhook ${args.webhookId}: ${what} since ${args.since.toISOString()} (${describeStore(config)})\n`);
    const started = performance.now();
    // Through the publisher, as the replayWebhook mutation does (no dispatcher here to wake).
    const publisher = createPublisher(database.sql, {
      maxPayloadBytes: config.HOOKGATE_MAX_PAYLOAD_BYTES,
      clock: systemClock,
      schemas: new PayloadSchemas(),
    });
    let replay;
    try {
      replay = await publisher.replay(args);
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
      process.stderr.write(`hookgate: --${error.field} ${error.message}\n`);
      return 2;
    }
    if (!replay) {
      process.stderr.write(`hookgate: webhook ${args.webhookId} not found\n`);
      return 1;
    }
    const ms = Math.round(performance.now() - started);
    process.stdout.write(
      replay.queued
        ? `queued ${replay.queued} new deliveries to ${replay.url} in ${ms} ms; running dispatchers send them at their next poll\n`
        : `nothing to replay: no ${what} of webhook ${args.webhookId} since ${args.since.toISOString()}\n`,
    );
    return 0;
  } finally {
    await database.close();
  }
}

/** Operator commands other than migrate refuse a database whose migrations are not all applied. */
async function ready(database: Database): Promise<boolean> {
  const pending = await pendingMigrations(database.sql);
  if (!pending.length) return true;
  process.stderr.write(`hookgate: the database has ${pending.length} pending migration(s); run hookgate migrate first\n`);
  return false;
}

async function runToken(config: Config, label: string): Promise<number> {
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.HOOKGATE_DATA_DIR });
  try {
    await prepareSchema(database, {
      mode: config.HOOKGATE_MIGRATE,
      dataDir: config.HOOKGATE_DATA_DIR,
      lockTimeoutMs: config.HOOKGATE_MIGRATION_LOCK_TIMEOUT_MS,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    return printToken(await createAdminToken(database, label));
  } finally {
    await database.close();
  }
}

function printToken(token: string): number {
  process.stdout.write(`${token}\n`);
  process.stderr.write("This admin token is shown only once; only its hash is stored.\n");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`hookgate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
