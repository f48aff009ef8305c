import { ConfigError, type Config } from "../config.js";
import type { Logger } from "../log.js";
import { askHolder, DataDirInUse, DataDirLockError, describeHolder, lockDataDir, type DataDirLock } from "../store/data-dir-lock.js";
import type { Database } from "../store/database.js";
import { createAdminToken } from "../auth/admin-tokens.js";

/** The CLI commands that open the store. */
export type StoreCommand = "start" | "worker" | "migrate" | "token" | "replay";

/** True when the store is an embedded data directory on disk (PGlite), which one process may hold. */
export function embeddedOnDisk(config: Config): boolean {
  return !config.DATABASE_URL && !config.HOOKGATE_DATA_DIR.startsWith("memory://");
}

/**
 * Embedded mode (PGlite) is one process: it must run both the API and the dispatcher. An api
 * process and a worker process would each open the data directory (the second would corrupt
 * it) or, refused, leave deliveries pending forever.
 */
export function checkEmbeddedRole(config: Config, command: StoreCommand): void {
  if (config.DATABASE_URL || config.HOOKGATE_ROLE === "all") return;
  const who = command === "worker" ? "hookgate worker" : `HOOKGATE_ROLE=${config.HOOKGATE_ROLE}`;
  throw new ConfigError(
    `${who} needs PostgreSQL (DATABASE_URL): the embedded database (PGlite, HOOKGATE_DATA_DIR) serves one process, which runs the API and the dispatcher together (HOOKGATE_ROLE=all, the default)`,
  );
}

/** What the second opener should do instead, by its command. */
const ADVICE: Record<StoreCommand, string> = {
  start: "stop it first, or give this process another HOOKGATE_DATA_DIR (several processes on one database need PostgreSQL, DATABASE_URL)",
  worker: "stop it first (several processes on one database need PostgreSQL, DATABASE_URL)",
  migrate: "a gateway applies migrations when it starts; stop it first to run migrate",
  token: "try again when it has finished, or stop it",
  replay: "use the replayWebhook mutation on the running gateway, or stop it first",
};

/**
 * Takes the embedded data directory for this command, or stops with one line (exit code 2)
 * naming the process that holds it and what to do instead. Nothing to take with PostgreSQL.
 */
export async function holdDataDir(config: Config, command: StoreCommand): Promise<DataDirLock | undefined> {
  if (!embeddedOnDisk(config)) return undefined;
  try {
    return await lockDataDir(config.HOOKGATE_DATA_DIR, {
      command,
      role: command === "start" || command === "worker" ? config.HOOKGATE_ROLE : undefined,
    });
  } catch (error) {
    if (error instanceof DataDirInUse) throw new ConfigError(`${error.message}; ${ADVICE[command]}`);
    if (error instanceof DataDirLockError) throw new ConfigError(error.message);
    throw error;
  }
}

/** The op a running gateway answers on its data-directory socket. */
const MINT_TOKEN = "mint-admin-token";
const MAX_LABEL = 200;

/** A running embedded gateway mints admin tokens for `hookgate token`, which cannot open the database. */
export function serveTokenRequests(lock: DataDirLock, database: Database, logger: Logger): void {
  lock.handle(MINT_TOKEN, async (request) => {
    const label = request.label;
    if (typeof label !== "string" || !label.trim() || label.length > MAX_LABEL) {
      throw new Error(`the label must be 1 to ${MAX_LABEL} characters`);
    }
    const token = await createAdminToken(database, label);
    // The token itself is never logged.
    logger.info({ label }, "admin token created for hookgate token (data-directory socket)");
    return { token };
  });
}

/**
 * `hookgate token` in embedded mode: the token, minted by the running gateway over its socket;
 * undefined when no process holds the data directory (the caller then opens it itself).
 * A holder that is not a gateway (migrate, replay) is reported as in use.
 */
export async function tokenFromRunningGateway(config: Config, label: string): Promise<string | undefined> {
  if (!embeddedOnDisk(config)) return undefined;
  let answer: Record<string, unknown> | undefined;
  try {
    answer = await askHolder(config.HOOKGATE_DATA_DIR, { op: MINT_TOKEN, label });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ECONNREFUSED") return undefined; // a stale socket: nobody runs
    if (error instanceof DataDirLockError) throw new ConfigError(error.message);
    throw new ConfigError(`HOOKGATE_DATA_DIR ${config.HOOKGATE_DATA_DIR} is in use by ${describeHolder(undefined)}; ${ADVICE.token}`);
  }
  if (!answer) return undefined;
  if (answer.ok === true && typeof answer.token === "string") return answer.token;
  const holder = describeHolder(answer.holder as never);
  const why = typeof answer.error === "string" ? answer.error : "no token in its answer";
  if ((answer.holder as { command?: string } | undefined)?.command !== "start") {
    throw new ConfigError(`HOOKGATE_DATA_DIR ${config.HOOKGATE_DATA_DIR} is in use by ${holder}; ${ADVICE.token}`);
  }
  throw new TokenRefused(`the running gateway, ${holder}, did not create a token: ${why}`);
}

/** The running gateway refused to mint (exit code 1: the message says why). */
export class TokenRefused extends Error {
  override name = "TokenRefused";
}
