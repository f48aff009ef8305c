import type { Principal } from "../auth/principal.js";
import type { RevocationWatch } from "../auth/revocation-watch.js";
import type { Config } from "../config.js";
import type { Clock } from "../clock.js";
import type { TargetGuard } from "../dispatcher/target-guard.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Logger } from "../log.js";
import type { Publisher } from "../publishing/publisher.js";
import type { PayloadSchemas } from "../publishing/payload-schema.js";
import type { PrismaClient } from "../store/database.js";
import type { RedisConnection } from "../store/redis.js";
import type { GatewayMetrics } from "../metrics/metrics.js";
import type { RateLimits } from "../auth/rate-limits.js";
import type { Live } from "../live/live.js";
import type { PullQueue } from "../dispatcher/pull-consumer.js";

/** What every resolver can reach. Built once per gateway; `principal` per request. */
export interface GatewayServices {
  readonly prisma: PrismaClient;
  readonly config: Config;
  readonly secrets: SecretBox;
  /** The one door for events and deliveries (publish, test events, replay, retries made due). */
  readonly publisher: Publisher;
  /** Event types' payload schemas: checked when set, applied when publishing. */
  readonly schemas: PayloadSchemas;
  readonly logger: Logger;
  /** SSRF checks for webhook URLs at creation and update. */
  readonly targets: TargetGuard;
  readonly clock: Clock;
  /** The shared Redis connection for commands (rate limits, publishing); undefined without REDIS_URL. */
  readonly redis: RedisConnection | undefined;
  /** This gateway's Prometheus metrics (its own registry). */
  readonly metrics: GatewayMetrics;
  /** Per-token rate limits (Redis-backed with REDIS_URL). */
  readonly rateLimits: RateLimits;
  /** Live subscriptions: the event feed, the pub/sub bus, the live attempt log. */
  readonly live: Live;
  /** PULL webhooks' notifications: received (long polling) and acknowledged. */
  readonly pull: PullQueue;
  /** Ends open streams whose token is revoked (on any gateway). */
  readonly tokens: RevocationWatch;
}

export interface GatewayContext extends GatewayServices {
  readonly principal: Principal | undefined;
  /**
   * Who rate limits count this request against (rateLimitKey: the token's hash, or the client
   * address); without one, the principal's kind and id.
   */
  readonly rateLimitKey?: string;
  /** scheme://host[:port] the request came to (its Host header, when well-formed). */
  readonly requestOrigin?: string;
}
