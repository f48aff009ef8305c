import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createPrincipalResolver } from "../auth/principal.js";
import type { Config } from "../config.js";
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
  const database =
    options.database ?? (await openDatabase({ url: config.DATABASE_URL, dataDir: config.HOOKGATE_DATA_DIR }));

  const report = await migrate(database.sql, (line) => logger.info(line));
  if (report.applied.length) logger.info({ applied: report.applied }, "migrations applied");

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
            onRecordFailed: (count, outcome) => metrics.recordFailed(count, outcome),
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

  let server: Server | undefined;
  let websockets: { close(): Promise<void> } | undefined;
  let url: string | undefined;
  let port: number | undefined;
  if (config.HOOKGATE_ROLE !== "worker") {
    const adminToken = await ensureAdminToken(database, config.HOOKGATE_ADMIN_TOKEN);
    if (adminToken) (options.onAdminTokenCreated ?? printAdminToken)(adminToken);
    const principals = createPrincipalResolver(database.prisma, config.HOOKGATE_ADMIN_TOKEN);
    const yoga = createGatewayYoga(services, principals);
    server = createServer(createHttpHandler({ yoga, services, principals, readiness: () => readiness(database, redis, live) }));
    websockets = attachWebsocketServer(server, yoga, services, principals);
    await listen(server, config.HOOKGATE_PORT, config.HOOKGATE_HOST);
    port = (server.address() as AddressInfo).port;
    const host = config.HOOKGATE_HOST.includes(":") ? `[${config.HOOKGATE_HOST}]` : config.HOOKGATE_HOST;
    url = `http://${host}:${port}/graphql`;
  }
  dispatcher?.start();
  logger.info({ url, store: database.kind, role: config.HOOKGATE_ROLE }, "hookgate started");

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

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function printAdminToken(token: string): void {
  process.stdout.write(
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
