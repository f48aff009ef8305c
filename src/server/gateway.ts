import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import { Gauge } from "prom-client";
import type { AddressInfo } from "node:net";
import { createPrincipalResolver } from "../auth/principal.js";
import { createRevocationWatch } from "../auth/revocation-watch.js";
import { ConfigError, type Config } from "../config.js";
import { checkEncryptionKey } from "../store/key-check.js";
import { createSecretBox, encryptionKeyFile, resolveEncryptionKey, type SecretBox } from "../crypto/secret-box.js";
import { systemClock, type Clock } from "../clock.js";
import { createDispatcher, type Dispatcher } from "../dispatcher/index.js";
import { createTargetGuard, systemResolver, type Resolver } from "../dispatcher/target-guard.js";
import { createLogger, type Logger } from "../log.js";
import { createOperationalEvents } from "../publishing/operational-events.js";
import { createPublisher } from "../publishing/publisher.js";
import { PayloadSchemas } from "../publishing/payload-schema.js";
import { createPruner, type Pruner } from "../retention/pruner.js";
import { createQueueVacuum, type QueueVacuum } from "../dispatcher/queue-vacuum.js";
import type { GatewayServices } from "../schema/context.js";
import { openDatabase, type Database } from "../store/database.js";
import { pendingMigrations } from "../store/migrator.js";
import { prepareSchema } from "../store/schema-gate.js";
import { openRedis, type RedisConnection } from "../store/redis.js";
import { ensureAdminToken } from "../auth/admin-tokens.js";
import { createClientAddress } from "./client-address.js";
import { createHttpHandler } from "./http.js";
import { createLive, type Live } from "../live/live.js";
import { createWakeSignal } from "../dispatcher/wake-signal.js";
import { PullQueue } from "../dispatcher/pull-consumer.js";
import { attachWebsocketServer } from "./websocket.js";
import { createMetrics } from "../metrics/metrics.js";
import { createMetricsServer } from "./metrics-server.js";
import { createRateLimits } from "../auth/rate-limits.js";
import { createSubscriptionSlots } from "./subscription-slots.js";
import { createGatewayYoga } from "./yoga.js";

/** How often the queue is vacuumed where autovacuum does not run (as often as autovacuum's default naptime, twice). */
const QUEUE_VACUUM_INTERVAL_MS = 30_000;

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
  /** http://host:port/metrics of the HOOKGATE_METRICS_PORT server; undefined when that is unset. */
  readonly metricsUrl: string | undefined;
  readonly database: Database;
  readonly services: GatewayServices;
  readonly dispatcher: Dispatcher | undefined;
  /** The retention pruner, where the dispatcher runs (tests run a round with runOnce). */
  readonly pruner: Pruner | undefined;
  /** Vacuums the delivery queue where autovacuum does not (PGlite; autovacuum off), where the dispatcher runs. */
  readonly queueVacuum: QueueVacuum | undefined;
  close(): Promise<void>;
}

/**
 * Opens the store, checks its schema (src/store/schema-gate.ts: migrates in embedded mode and with
 * HOOKGATE_MIGRATE=auto, refuses a schema newer or older than this release), and runs what HOOKGATE_ROLE asks for: the GraphQL API
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
  let opened: Database | undefined;
  const keyDir = config.DATABASE_URL ? undefined : config.HOOKGATE_DATA_DIR;
  const keyFile = encryptionKeyFile(config.HOOKGATE_ENCRYPTION_KEY, keyDir);
  let secrets: SecretBox;
  try {
    opened =
      options.database ??
      (await openDatabase({
        url: config.DATABASE_URL,
        dataDir: config.HOOKGATE_DATA_DIR,
        idleInTransactionTimeoutMs: config.HOOKGATE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      }));
    await prepareSchema(opened, {
      mode: config.HOOKGATE_MIGRATE,
      dataDir: config.HOOKGATE_DATA_DIR,
      lockTimeoutMs: config.HOOKGATE_MIGRATION_LOCK_TIMEOUT_MS,
      log: (line) => logger.info(line),
    });
    secrets = createSecretBox(resolveEncryptionKey(config.HOOKGATE_ENCRYPTION_KEY, keyDir));
    // A key that does not open the stored secrets stops the start here (one line), rather than
    // every delivery failing later (README, HOOKGATE_ENCRYPTION_KEY).
    await checkEncryptionKey(opened.sql, secrets, { keyFile, log: (line) => logger.info(line) });
  } catch (error) {
    server?.close();
    if (ownsDatabase) await opened?.close().catch(() => undefined);
    throw error;
  }
  const database: Database = opened;

  const redis = config.REDIS_URL ? openRedis(config.REDIS_URL, logger, "commands", { commandTimeoutMs: config.HOOKGATE_REDIS_COMMAND_TIMEOUT_MS }) : undefined;
  const targets = createTargetGuard(config.HOOKGATE_ALLOW_PRIVATE_TARGETS, options.resolver ?? systemResolver);
  const metrics = createMetrics({ sql: database.sql, redis, clock, logger });
  const live = createLive(config, {
    prisma: database.prisma,
    sql: database.sql,
    logger,
    liveSubscriptions: metrics.liveSubscriptions,
  });
  const rateLimits = createRateLimits(config, redis, { onLimited: (kind) => metrics.rateLimited(kind) });
  // Where the dispatcher runs: vacuums the queue it churns when autovacuum does not.
  const queueVacuum =
    config.HOOKGATE_ROLE === "api"
      ? undefined
      : createQueueVacuum({ sql: database.sql, kind: database.kind, logger, intervalMs: QUEUE_VACUUM_INTERVAL_MS });
  const dispatcher =
    config.HOOKGATE_ROLE === "api"
      ? undefined
      : createDispatcher(
          config,
          { sql: database.sql, secrets, logger, clock, guard: targets },
          {
            random: options.random,
            onRecorded: (records, disabled, failing) => {
              queueVacuum?.recorded(records.length);
              metrics.attemptsRecorded(records, disabled);
              live.attemptsRecorded(records);
              operational.recorded(records, disabled, failing);
            },
            onRecordFailed: (count, outcome) => metrics.recordFailed(count, outcome),
          },
        );
  // Deliveries queued here wake this process's dispatcher, and over Redis every other process's.
  const wakes = createWakeSignal(live.bus, dispatcher ? () => dispatcher.wake() : undefined);
  // Pruning runs where the dispatcher runs (an API-only process stays lean); one at a time.
  const pruner: Pruner | undefined = dispatcher
    ? createPruner(
        {
          retentionDays: config.HOOKGATE_RETENTION_DAYS,
          bodyRetentionDays: config.HOOKGATE_ATTEMPT_BODY_RETENTION_DAYS,
          intervalMs: config.HOOKGATE_RETENTION_INTERVAL_MS,
          batchSize: 1_000,
        },
        { sql: database.sql, clock, logger, onPruned: (kind, rows) => metrics.pruned(kind, rows) },
      )
    : undefined;
  const schemas = new PayloadSchemas();
  // Everything that stores events or makes deliveries due comes through here.
  const publisher = createPublisher(database.sql, {
    schemas,
    maxPayloadBytes: config.HOOKGATE_MAX_PAYLOAD_BYTES,
    clock,
    groups: {
      statement: (calls, events) => metrics.publishStatement(calls, events),
      retried: (reason, calls) => metrics.publishRetried(reason, calls),
    },
    afterCommit: (events, deliveriesQueued) => {
      if (deliveriesQueued) wakes.queued();
      if (events.length) {
        metrics.eventsPublished(events.length);
        live.eventsCommitted(events);
      }
    },
  });
  // Deliveries failed finally and webhooks disabled, told to their owning service (README, "Operational events").
  const operational = createOperationalEvents(database.sql, publisher, logger);
  new Gauge({
    name: "hookgate_live_horizon_wait_seconds",
    help:
      "How long live events have been waiting for a transaction still open somewhere on the database server (0 when none wait). Live subscribers get nothing newer until it ends; the session holding it is logged.",
    registers: [metrics.registry],
    collect() {
      this.set(live.feed.horizonLagSeconds());
    },
  });
  const services: GatewayServices = {
    prisma: database.prisma,
    config,
    secrets,
    publisher,
    schemas,
    logger,
    targets,
    clock,
    redis,
    metrics,
    rateLimits,
    live,
    pull: new PullQueue({
      sql: database.sql,
      bus: live.bus,
      clock,
      horizon: () => live.feed.horizon(),
      visibilitySeconds: config.HOOKGATE_PULL_VISIBILITY_SECONDS,
      pollMs: config.HOOKGATE_LIVE_POLL_MS,
      onPulled: (kind, count) => metrics.pulled(kind, count),
    }),
    tokens: createRevocationWatch(database.prisma, config.HOOKGATE_LIVE_POLL_MS, logger, clock),
  };

  let websockets: { close(): Promise<void> } | undefined;
  let url: string | undefined;
  let port: number | undefined;
  const principals = createPrincipalResolver(database.prisma, config.HOOKGATE_ADMIN_TOKEN, clock);
  if (server) {
    const slots = createSubscriptionSlots(config.HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN);
    const clientAddress = createClientAddress(config.HOOKGATE_TRUSTED_PROXIES ?? []);
    const yoga = createGatewayYoga(services, slots);
    server.removeListener("request", starting);
    server.on("request", createHttpHandler({ yoga, services, principals, clientAddress, readiness: () => readiness(database, redis, live) }));
    websockets = attachWebsocketServer(server, yoga, services, { principals, slots, clientAddress });
    // Only once the server listens: a start that fails must not consume the one-time token.
    const adminToken = await ensureAdminToken(database, config.HOOKGATE_ADMIN_TOKEN);
    if (adminToken) (options.onAdminTokenCreated ?? printAdminToken)(adminToken);
    port = (server.address() as AddressInfo).port;
    url = `http://${hostForUrl(config.HOOKGATE_HOST)}:${port}/graphql`;
  }
  let metricsServer: Server | undefined;
  let metricsUrl: string | undefined;
  if (config.HOOKGATE_METRICS_PORT !== undefined) {
    metricsServer = createMetricsServer({ config, metrics, principals }, logger);
    await listen(metricsServer, config.HOOKGATE_METRICS_PORT, config.HOOKGATE_HOST);
    metricsUrl = `http://${hostForUrl(config.HOOKGATE_HOST)}:${(metricsServer.address() as AddressInfo).port}/metrics`;
  }
  dispatcher?.start();
  pruner?.start();
  queueVacuum?.start();
  // Written at every log level (bar silent): it is how a supervisor or a script learns the URL.
  const startedLogger = logger.level === "silent" ? logger : logger.child({}, { level: "info" });
  startedLogger.info({ url, metricsUrl, store: database.kind, role: config.HOOKGATE_ROLE }, "hookgate started");

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    metricsUrl,
    database,
    services,
    dispatcher,
    pruner,
    queueVacuum,
    close: () =>
      (closed ??= (async () => {
        await websockets?.close();
        live.feed.close();
        wakes.close();
        if (server) {
          const s = server;
          s.closeAllConnections();
          await new Promise<void>((resolve) => s.close(() => resolve()));
        }
        if (metricsServer) {
          const m = metricsServer;
          m.closeAllConnections();
          await new Promise<void>((resolve) => m.close(() => resolve()));
        }
        // In-flight calls get the delivery timeout to finish; the rest are given back.
        await pruner?.stop();
        await queueVacuum?.stop();
        await dispatcher?.stop(config.HOOKGATE_DELIVERY_TIMEOUT_MS);
        await operational.idle();
        await redis?.close();
        services.tokens.close();
        await live.close();
        if (ownsDatabase) await database.close();
      })()),
  };
}

/**
 * A connection that sends nothing, or sends its request too slowly, is answered 408 and closed;
 * an idle keep-alive connection is closed after HOOKGATE_HTTP_KEEP_ALIVE_TIMEOUT_MS. The request
 * timeout covers receiving the request only, so SSE responses stream on, and upgraded
 * (websocket) sockets leave the HTTP server's care. Node checks these on a timer; it runs often
 * enough that a timeout is kept to within a quarter of itself (at most 1 s late).
 */
function httpTimeouts(config: Config): ServerOptions {
  const headersTimeout = config.HOOKGATE_HTTP_HEADERS_TIMEOUT_MS;
  return {
    headersTimeout,
    requestTimeout: config.HOOKGATE_HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HOOKGATE_HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4))),
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

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** What the server answers while the store is opened and migrated. */
function starting(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(503, { "content-type": "text/plain", "retry-after": "1" }).end("starting\n");
}

/** A server listening on HOOKGATE_HOST:HOOKGATE_PORT, or a ConfigError naming the setting to change. */
async function bind(config: Config): Promise<Server> {
  const server = createServer(httpTimeouts(config), starting);
  try {
    await listen(server, config.HOOKGATE_PORT, config.HOOKGATE_HOST);
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
