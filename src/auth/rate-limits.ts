import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Config } from "../config.js";
import { gatewayError } from "../errors.js";
import type { RedisConnection } from "../store/redis.js";
import type { Principal } from "./principal.js";
import { hashToken } from "./tokens.js";

// The rate limits' rules: what a caller is counted under and how much it may do per minute. The
// GraphQL schema (publishing counts its events) and the server's plugins (operations,
// connections, unauthenticated requests) both count through here.

/** What a limit counts, per token (or client address) and per minute. */
export type RateLimitKind = "publish" | "mutation" | "query" | "connection" | "unauthenticated";

export interface RateLimits {
  /**
   * Takes `points` (default 1) from the caller's allowance for this kind; throws a GraphQL
   * error RATE_LIMITED (HTTP 429, extensions.retryAfterSeconds, a Retry-After header) when it
   * is spent. A kind whose limit is 0 is not counted.
   */
  consume(key: string, kind: RateLimitKind, points?: number): Promise<void>;
}

const WINDOW_SECONDS = 60;

/**
 * The key a caller is counted under: its bearer token (as a hash; tokens are never stored or
 * sent to Redis), or, without one, its client address.
 */
export function rateLimitKey(authorization: string | null | undefined, clientAddress: string | undefined): string {
  const token = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  if (token) return `token:${hashToken(token).slice(0, 32)}`;
  return `ip:${clientAddress ?? "unknown"}`;
}

/**
 * Per-token limits over a fixed one-minute window. With Redis the counters are shared by every
 * gateway using it (RateLimiterRedis on the shared command connection); while Redis is down,
 * each process counts on its own in memory (the insurance limiter) so the API keeps working
 * with the same per-process limits, and goes back to Redis when it returns. Without Redis the
 * counters are per process.
 */
export function createRateLimits(
  config: Config,
  redis: RedisConnection | undefined,
  options: { onLimited?: (kind: RateLimitKind) => void } = {},
): RateLimits {
  const limits: Record<RateLimitKind, number> = {
    publish: config.HOOKGATE_RATE_LIMIT_PUBLISH,
    mutation: config.HOOKGATE_RATE_LIMIT_MUTATIONS,
    query: config.HOOKGATE_RATE_LIMIT_QUERIES,
    connection: config.HOOKGATE_RATE_LIMIT_CONNECTIONS,
    unauthenticated: config.HOOKGATE_RATE_LIMIT_UNAUTHENTICATED,
  };
  const limiters = new Map<RateLimitKind, RateLimiterAbstract>();
  for (const kind of Object.keys(limits) as RateLimitKind[]) {
    const points = limits[kind];
    if (!points) continue;
    const keyPrefix = `${config.HOOKGATE_REDIS_KEY_PREFIX}rl:${kind}`;
    const memory = new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_SECONDS });
    limiters.set(
      kind,
      redis
        ? new RateLimiterRedis({
            storeClient: redis.client,
            keyPrefix,
            points,
            duration: WINDOW_SECONDS,
            // Not ready (down, or still connecting): count in memory at once instead of failing.
            rejectIfRedisNotReady: true,
            insuranceLimiter: memory,
          } as ConstructorParameters<typeof RateLimiterRedis>[0])
        : memory,
    );
  }
  return {
    async consume(key, kind, points = 1) {
      const limiter = limiters.get(kind);
      if (!limiter || points <= 0) return;
      try {
        await limiter.consume(key, points);
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
        options.onLimited?.(kind);
        throw rateLimited(kind, limits[kind], error.msBeforeNext);
      }
    },
  };
}

const WHAT: Record<RateLimitKind, string> = {
  publish: "events published (HOOKGATE_RATE_LIMIT_PUBLISH)",
  mutation: "mutations (HOOKGATE_RATE_LIMIT_MUTATIONS)",
  query: "query fields (HOOKGATE_RATE_LIMIT_QUERIES)",
  connection: "new websocket connections and SSE subscriptions (HOOKGATE_RATE_LIMIT_CONNECTIONS)",
  unauthenticated: "requests without a valid token from this address (HOOKGATE_RATE_LIMIT_UNAUTHENTICATED)",
};

function rateLimited(kind: RateLimitKind, limit: number, msBeforeNext: number) {
  const retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return gatewayError("RATE_LIMITED", `rate limit of ${limit} ${WHAT[kind]} per minute reached; retry in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
    http: { status: 429, headers: { "retry-after": String(retryAfterSeconds) } },
  });
}

/** Who a request is: what a GraphQL context carries (rateLimitKey set by the HTTP and websocket servers). */
export interface RateLimitedCaller {
  readonly rateLimitKey?: string | undefined;
  readonly principal: Principal | undefined;
}

/** The key of a GraphQL operation: the request's (token or address), else the principal's. */
export function contextRateLimitKey(ctx: RateLimitedCaller): string {
  return ctx.rateLimitKey ?? principalRateLimitKey(ctx.principal);
}

function principalRateLimitKey(p: Principal | undefined): string {
  if (!p) return "anonymous";
  if (p.kind === "admin") return "admin";
  return p.kind === "service" ? `service:${p.serviceId}` : `customer:${p.customerId}`;
}
