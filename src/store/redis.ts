import { Redis } from "ioredis";
import type { Logger } from "../log.js";

/**
 * One Redis connection with the behaviour every user of Redis in Hookgate needs:
 * - it reconnects forever (ioredis' default), so an outage ends by itself;
 * - commands fail at once while it is down instead of queueing without bound, so callers
 *   (rate limits, live publishing) can decide to carry on without Redis;
 * - the outage is logged once when it starts and once when it ends, never with the URL
 *   (it may hold a password).
 */
export interface RedisConnection {
  readonly client: Redis;
  /** True while the connection is up and usable. */
  isReady(): boolean;
  close(): Promise<void>;
}

export interface RedisOptions {
  /**
   * Keep commands given while disconnected until the connection is back. Only for the
   * subscriber connection, whose commands (SUBSCRIBE) are few and must not be lost; other
   * connections reject at once.
   */
  readonly queueWhileDown?: boolean;
  /**
   * How long a command may wait for its answer before it fails: a Redis that accepts the
   * connection but never answers (stopped, a half-open network path) must not stall callers.
   */
  readonly commandTimeoutMs?: number;
}

export function openRedis(url: string, logger: Logger, role: string, options: RedisOptions = {}): RedisConnection {
  const client = new Redis(url, {
    enableOfflineQueue: options.queueWhileDown ?? false,
    maxRetriesPerRequest: options.queueWhileDown ? null : 1,
    connectionName: `hookgate-${role}`,
    ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
    // Back off to at most 2 s between tries: a restarted Redis is found quickly.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  });
  let down = false;
  client.on("ready", () => {
    if (down) logger.info({ redis: role }, "redis connection restored");
    down = false;
  });
  client.on("error", (error: Error) => {
    if (!down) logger.error({ redis: role, err: { message: error.message } }, "redis unavailable; retrying");
    down = true;
  });
  client.on("end", () => {
    down = true;
  });
  return {
    client,
    isReady: () => client.status === "ready",
    async close() {
      client.removeAllListeners("error");
      client.on("error", () => undefined);
      // QUIT waits for Redis' answer; one that never answers must not hold up a shutdown.
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000).unref()));
      await Promise.race([client.quit().catch(() => undefined), gaveUp]);
      clearTimeout(timer);
      client.disconnect();
    },
  };
}
