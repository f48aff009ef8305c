import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createPrincipalResolver } from "../auth/principal.js";
import { ConfigError, type Config } from "../config.js";
import { createSecretBox, resolveEncryptionKey } from "../crypto/secret-box.js";
import { systemClock, type Clock } from "../dispatcher/clock.js";
import { createDispatcher, type Dispatcher } from "../dispatcher/index.js";
import { createTargetGuard, systemResolver, type Resolver } from "../dispatcher/target-guard.js";
import { createLogger, type Logger } from "../log.js";
import { createPublisher } from "../publishing/publisher.js";
import type { GatewayServices } from "../schema/context.js";
import { openDatabase, type Database } from "../store/database.js";
import { migrate, pendingMigrations } from "../store/migrator.js";
import { openRedis, type RedisConnection } from "../store/redis.js";
import { ensureAdminToken } from "./admin-token.js";
import { createHttpHandler } from "./http.js";
import { createLive, type Live } from "../live/live.js";
import { attachWebsocketServer } from "./websocket.js";
import { createMetrics } from "./metrics.js";
import { createRateLimits } from "./rate-limits.js";
import { createGatewayYoga } from "./yoga.js";

export interface GatewayOptions {
  readonly config: Config;
  readonly logger?: Logger;
  /** An open database to use instead of the one the config names (tests share one). */
  readonly database?: Database;
  /** Called with an admin token generated at first start; defaults to printing it to stdout. */
  readonly onAdminTokenCreated?: (token: string) => void;
  /** Time for retry scheduling (tests inject a manual clock). */
  readonly clock?: Clock;
  /** DNS for the SSRF guard (tests inject a fixed table so no query leaves the machine). */
  readonly resolver?: Resolver;
  /** Jitter source for retry delays. */
  readonly random?: () => number;
}

export interface Gateway {
  /** The GraphQL endpoint; undefined for a dispatcher-only process. */
  readonly url: string | undefined;
  readonly port: number | undefined;
  readonly database: Database;
  readonly services: GatewayServices;
  readonly dispatcher: Dispatcher | undefined;
  close(): Promise<void>;
}

/**
 * Opens the store, applies migrations, and runs what HOOKGATE_ROLE asks for: the GraphQL API
 * (with GraphiQL and health checks), the dispatcher, or both.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.HOOKGATE_LOG_LEVEL);
  const clock = options.clock ?? systemClock;
  const ownsDatabase = !options.database;
  // The port is taken first: a port in use or a host that is not ours fails at once, before the
  // database is opened and before the one-time admin token is made. Until the API is wired, it answers 503.
  const server = config.HOOKGATE_ROLE === "worker" ? undefined : await bind(config);
  let database: Database;
  try {
    database = options.database ?? (await openDatabase({ url: config.DATABASE_URL, dataDir: config.HOOKGATE_DATA_DIR }));
    const report = await migrate(database.sql, (line) => logger.info(line));
    if (report.applied.length) logger.info({ applied: report.applied }, "migrations applied");
  } catch (error) {
    server?.close();
    throw error;
  }

  const secrets = createSecretBox(
    resolveEncryptionKey(config.HOOKGATE_ENCRYPTION_KEY, config.DATABASE_URL ? undefined : config.HOOKGATE_DATA_DIR),
  );
  const redis = config.REDIS_URL ? openRedis(config.REDIS_URL, logger, "commands") : undefined;
  const targets = createTargetGuard(config.HOOKGATE_ALLOW_PRIVATE_TARGETS, options.resolver ?? systemResolver);
  const metrics = createMetrics({ sql: database.sql, redis, clock, logger });
  const live = createLive(config, {
    prisma: database.prisma,
    sql: database.sql,
    logger,
    liveSubscriptions: metrics.liveSubscriptions,
  });
  const rateLimits = createRateLimits(config, redis, { onLimited: (kind) => metrics.rateLimited(kind) });
  const dispatcher =
    config.HOOKGATE_ROLE === "api"
      ? undefined
      : createDispatcher(
          config,
          { sql: database.sql, secrets, logger, clock, guard: targets },
          {
            random: options.random,
            onRecorded: (records, disabled) => {
              metrics.attemptsRecorded(records, disabled);
              live.attemptsRecorded(records);
            },
          },
        );
  const deliveriesQueued = () => dispatcher?.wake();
  const publisher = createPublisher(database.prisma, {
    maxPayloadBytes: config.HOOKGATE_MAX_PAYLOAD_BYTES,
    clock,
    afterCommit: (events) => {
      metrics.eventsPublished(events.length);
      deliveriesQueued();
      live.eventsCommitted(events);
    },
  });
  const services: GatewayServices = {
    prisma: database.prisma,
    config,
    secrets,
    publisher,
    logger,
    targets,
    clock,
    deliveriesQueued,
    redis,
    metrics,
    rateLimits,
    live,
  };

  let websockets: { close(): Promise<void> } | undefined;
  let url: string | undefined;
  let port: number | undefined;
  if (server) {
    const principals = createPrincipalResolver(database.prisma, config.HOOKGATE_ADMIN_TOKEN);
    const yoga = createGatewayYoga(services, principals);
    server.removeListener("request", starting);
    server.on("request", createHttpHandler({ yoga, services, principals, readiness: () => readiness(database, redis, live) }));
    websockets = attachWebsocketServer(server, yoga, services, principals);
    // Only once the server listens: a start that fails must not consume the one-time token.
    const adminToken = await ensureAdminToken(database, config.HOOKGATE_ADMIN_TOKEN);
    if (adminToken) (options.onAdminTokenCreated ?? printAdminToken)(adminToken);
    port = (server.address() as AddressInfo).port;
    const host = config.HOOKGATE_HOST.includes(":") ? `[${config.HOOKGATE_HOST}]` : config.HOOKGATE_HOST;
    url = `http://${host}:${port}/graphql`;
  }
  dispatcher?.start();
  // Written at every log level (bar silent): it is how a supervisor or a script learns the URL.
  const startedLogger = logger.level === "silent" ? logger : logger.child({}, { level: "info" });
  startedLogger.info({ url, store: database.kind, role: config.HOOKGATE_ROLE }, "hookgate started");

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    database,
    services,
    dispatcher,
    close: () =>
      (closed ??= (async () => {
        await websockets?.close();
        live.feed.close();
        if (server) {
          const s = server;
          s.closeAllConnections();
          await new Promise<void>((resolve) => s.close(() => resolve()));
        }
        // In-flight calls get the delivery timeout to finish; the rest are given back.
        await dispatcher?.stop(config.HOOKGATE_DELIVERY_TIMEOUT_MS);
        await redis?.close();
        await live.close();
        if (ownsDatabase) await database.close();
      })()),
  };
}

/** Ready: the database answers, every migration is applied and, when configured, Redis is up. */
async function readiness(
  database: Database,
  redis: RedisConnection | undefined,
  live: Live,
): Promise<{ ok: boolean; detail: Record<string, unknown> }> {
  const detail: Record<string, unknown> = {};
  let ok = true;
  try {
    const pending = await pendingMigrations(database.sql);
    detail.database = "ok";
    detail.migrations = pending.length === 0 ? "applied" : { pending };
    ok = pending.length === 0;
  } catch (error) {
    detail.database = (error as Error).message;
    ok = false;
  }
  if (redis) {
    detail.redis = redis.isReady() ? "ok" : "unavailable";
    ok &&= redis.isReady();
  }
  if (live.bus.shared) {
    // Live subscribers still get every event while pub/sub is down (from the store, more slowly).
    detail.pubsub = live.bus.isReady() ? "ok" : "unavailable";
    ok &&= live.bus.isReady();
  }
  return { ok, detail };
}

/** What the server answers while the store is opened and migrated. */
function starting(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(503, { "content-type": "text/plain", "retry-after": "1" }).end("starting\n");
}

/** A server listening on HOOKGATE_HOST:HOOKGATE_PORT, or a ConfigError naming the setting to change. */
async function bind(config: Config): Promise<Server> {
  const server = createServer(starting);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.HOOKGATE_PORT, config.HOOKGATE_HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    throw listenError(error, config);
  }
  return server;
}

/** What went wrong binding the server, as one line naming the setting to change. */
function listenError(error: unknown, config: Config): unknown {
  const code = (error as { code?: string }).code;
  const address = `${config.HOOKGATE_HOST}:${config.HOOKGATE_PORT}`;
  switch (code) {
    case "EADDRINUSE":
      return new ConfigError(`${address} is already in use by another process; set HOOKGATE_PORT (or PORT) to a free port`);
    case "EACCES":
      return new ConfigError(`${address}: this process may not listen on port ${config.HOOKGATE_PORT}; set HOOKGATE_PORT (or PORT) to a port above 1023`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new ConfigError(`HOOKGATE_HOST ${config.HOOKGATE_HOST} does not resolve to an address; give an address of this machine (127.0.0.1, 0.0.0.0, ::)`);
    case "EADDRNOTAVAIL":
      return new ConfigError(`HOOKGATE_HOST ${config.HOOKGATE_HOST} is not an address of this machine; give one that is (127.0.0.1, 0.0.0.0, ::)`);
    default:
      return error;
  }
}

/** On stderr: stdout carries the JSON log lines. */
function printAdminToken(token: string): void {
  process.stderr.write(
    [
      "",
      "  Hookgate created an admin token. It is shown only this once; store it now:",
      "",
      `    ${token}`,
      "",
      "  Send it as: Authorization: Bearer <token>",
      "",
    ].join("\n") + "\n",
  );
}
