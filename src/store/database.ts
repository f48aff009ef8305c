import { execFile } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PreparedStatements } from "./pglite-prepared.js";
import { ConfigError } from "../config.js";
import { PrismaClient } from "./generated/prisma/client.js";

export type { PrismaClient };

const execFileAsync = promisify(execFile);

/** Plain SQL next to Prisma: the migrator and the dispatcher's claim query need it. */
export interface SqlQuery {
  /**
   * `name` makes it a prepared statement, parsed and planned once per connection (PostgreSQL's
   * protocol; on PGlite an SQL PREPARE, see pglite-prepared.ts): for the hot statements
   * (publishing, claiming, recording). One name, one text.
   */
  query<R = Record<string, unknown>>(text: string, params?: unknown[], name?: string): Promise<R[]>;
}

/** One connection of its own, outside any transaction (see SqlClient.session). */
export interface SqlSession extends SqlQuery {
  /** Runs one statement (no parameters) in its own implicit transaction; resolves with the rows it changed. */
  run(text: string): Promise<number>;
}

export interface SqlClient extends SqlQuery {
  /** Runs a multi-statement script (no parameters). */
  exec(script: string): Promise<void>;
  /** Runs fn in one transaction on one connection. */
  transaction<T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T>;
  /**
   * Runs fn on one connection, outside a transaction: for session-level advisory locks and
   * settings, and for statements a transaction block refuses (CREATE INDEX CONCURRENTLY). The
   * connection is closed afterwards, so nothing fn set or locked outlives it (PostgreSQL; PGlite
   * has its one connection, and fn must undo what it set).
   */
  session<T>(fn: (s: SqlSession) => Promise<T>): Promise<T>;
}

export interface Database {
  readonly kind: "pglite" | "postgres";
  readonly prisma: PrismaClient;
  readonly sql: SqlClient;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgresql://… for PostgreSQL; otherwise PGlite. */
  readonly url?: string | undefined;
  /** Hookgate's data directory (PGlite keeps its files in <dataDir>/pglite), or "memory://" for a throw-away database. */
  readonly dataDir?: string;
  /** Connections in the PostgreSQL pool. */
  readonly poolSize?: number;
  /**
   * PostgreSQL: idle_in_transaction_session_timeout for every connection (default 30 s). A
   * transaction left open holds back the horizon every live feed waits for.
   */
  readonly idleInTransactionTimeoutMs?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url
    ? openPostgres(options.url, options.poolSize ?? 10, options.idleInTransactionTimeoutMs ?? 30_000)
    : openPglite(options.dataDir ?? "memory://");
}

/**
 * PGlite's settings, for a small idle footprint (README, "Footprint"): PostgreSQL's defaults size
 * its buffers for a server (shared_buffers 128 MB), and inside WASM what the heap once held is never
 * given back. A webhook gateway's working set is small; these keep the heap near 200 MB.
 */
const PGLITE_OPTIONS: PGliteOptions = {
  postgresqlconf: ["shared_buffers=16MB", "work_mem=2MB", "maintenance_work_mem=16MB", "temp_buffers=2MB", "wal_buffers=1MB"],
};

/**
 * Creates a new cluster at `location` in a child process. initdb grows PGlite's WASM heap to
 * about 700 MB; an instance closed in this process gives it back only when the garbage collector
 * happens to run, which an idle gateway may not do for hours.
 */
async function createCluster(location: string): Promise<void> {
  const code = `try {
    const { PGlite } = await import(process.argv[1]);
    await (await PGlite.create(process.argv[2], JSON.parse(process.argv[3]))).close();
  } catch (error) {
    process.stderr.write(JSON.stringify({ code: error.code, message: error.message }));
    process.exit(1);
  }`;
  const entry = pathToFileURL(createRequire(import.meta.url).resolve("@electric-sql/pglite")).href;
  try {
    await execFileAsync(process.execPath, ["--input-type=module", "-e", code, entry, location, JSON.stringify(PGLITE_OPTIONS)]);
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "");
    let reported: { code?: string; message?: string } | undefined;
    try {
      reported = JSON.parse(stderr) as { code?: string; message?: string };
    } catch {
      // not the child's report (it could not start): the error as it is
    }
    throw Object.assign(new Error(reported?.message ?? firstLine(stderr) ?? (error as Error).message), { code: reported?.code });
  }
}

async function openPglite(dataDir: string): Promise<Database> {
  // PGlite gets a folder of its own, so the data directory can hold other files (the encryption key).
  const location = dataDir.startsWith("memory://") ? dataDir : join(dataDir, "pglite");
  let lite: PGlite;
  try {
    if (location !== dataDir) {
      mkdirSync(location, { recursive: true });
      // mkdir succeeds on an existing directory the process may not write to (PGlite would fail later, with a stack).
      accessSync(location, constants.W_OK);
    }
    if (location !== dataDir && !existsSync(join(location, "PG_VERSION"))) await createCluster(location);
    lite = await PGlite.create(location, PGLITE_OPTIONS);
  } catch (error) {
    throw new ConfigError(`HOOKGATE_DATA_DIR ${dataDir} cannot hold the embedded database: ${dataDirProblem(error)}`);
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(lite) });
  const prepared = new PreparedStatements(lite);
  const sql: SqlClient = {
    query: async (text, params, name) =>
      ((name ? await prepared.query(name, text, params) : undefined) ?? (await lite.query(text, params)).rows) as never,
    exec: async (script) => {
      await lite.exec(script);
    },
    transaction: (fn) =>
      lite.transaction((tx) => fn({ query: async (text, params) => (await tx.query(text, params)).rows as never })),
    session: (fn) =>
      fn({
        query: async (text, params) => (await lite.query(text, params)).rows as never,
        run: async (text) => (await lite.query(text)).affectedRows ?? 0,
      }),
  };
  return {
    kind: "pglite",
    prisma,
    sql,
    close: async () => {
      await prisma.$disconnect();
      await lite.close();
    },
  };
}

async function openPostgres(url: string, poolSize: number, idleInTransactionMs: number): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    options: `-c idle_in_transaction_session_timeout=${Math.trunc(idleInTransactionMs)}`,
  });
  // A pool error (a dropped idle connection) must not crash the process; queries report their own errors.
  pool.on("error", () => undefined);
  // One round trip now, so a wrong DATABASE_URL is one line at start-up rather than a stack later.
  try {
    await pool.query("SELECT 1");
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new ConfigError(`DATABASE_URL: cannot use ${describePostgres(url)}: ${postgresProblem(error)}`);
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const sql: SqlClient = {
    query: async (text, params, name) => (await (name ? pool.query({ name, text, values: params }) : pool.query(text, params))).rows,
    exec: async (script) => {
      await pool.query(script);
    },
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn({ query: async (text, params) => (await client.query(text, params)).rows });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    session: async (fn) => {
      const client = await pool.connect();
      try {
        return await fn({
          query: async (text, params) => (await client.query(text, params)).rows,
          run: async (text) => (await client.query(text)).rowCount ?? 0,
        });
      } finally {
        // Destroyed, not returned to the pool: its session locks and settings end with it.
        client.release(true);
      }
    },
  };
  return {
    kind: "postgres",
    prisma,
    sql,
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/*
 * Errors that mean "the database cannot be reached now" rather than "this request is wrong":
 * refused or dropped connections, a server shutting down or starting up, a pool that cannot
 * hand out a connection. Prisma wraps the driver's error, so the whole cause chain is read.
 */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND",
  "57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
  "08000", "08001", "08003", "08006", // connection exceptions
  "P1001", "P1002", "P1017", "P2024", // Prisma: can't reach, timed out, closed, pool timeout
]);
/** What Prisma's driver adapters call it (the error's cause.kind), e.g. a connection closed mid-transaction. */
const UNAVAILABLE_KINDS = new Set(["ConnectionClosed", "DatabaseNotReachable", "SocketTimeout"]);
const UNAVAILABLE_TEXT = /ECONNREFUSED|ECONNRESET|Connection terminated|connection (is )?closed|closed the connection|terminating connection|the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)|Can't reach database server|Timed out fetching a new connection/i;

export function isStoreUnavailable(error: unknown): boolean {
  const pending: unknown[] = [error];
  for (let seen = 0; pending.length && seen < 16; seen++) {
    const e = pending.shift();
    if (!e || typeof e !== "object") continue;
    const { code, kind, message, originalCode, cause, meta, originalError } = e as Record<string, unknown>;
    if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) return true;
    if (typeof kind === "string" && UNAVAILABLE_KINDS.has(kind)) return true;
    if (typeof originalCode === "string" && UNAVAILABLE_CODES.has(originalCode)) return true;
    if (typeof message === "string" && UNAVAILABLE_TEXT.test(message)) return true;
    // Prisma keeps the driver adapter's error under meta, the driver's under cause.
    pending.push(cause, originalError, (meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError);
  }
  return false;
}

/** Why a data directory cannot be used, in words (the error's own text as a last resort). */
/** Why a data directory cannot be used, in words (for the one-line start-up error). */
export function dataDirProblem(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === "ENOTDIR" || code === "EEXIST") return "it (or a parent) is a file, not a directory";
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return "it is not writable by this process";
  return firstLine(message) ?? String(error);
}

/** The database a URL names, without its credentials: "PostgreSQL database app on db:5432". */
export function describePostgres(url: string): string {
  const parsed = new URL(url);
  return `PostgreSQL database ${decodeURIComponent(parsed.pathname.slice(1)) || "(default)"} on ${parsed.host || "(local socket)"}`;
}

function postgresProblem(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (is PostgreSQL running there?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve";
    case "ETIMEDOUT":
      return "the connection timed out";
    case "3D000":
      return "the database does not exist (create it first)";
    case "28P01":
    case "28000":
      return "authentication failed";
    default:
      return firstLine(message) ?? String(error);
  }
}

const firstLine = (text: string | undefined) => text?.split("\n")[0] || undefined;
