import type { Principal } from "../auth/principal.js";
import type { Config } from "../config.js";
import type { Clock } from "../dispatcher/clock.js";
import type { TargetGuard } from "../dispatcher/target-guard.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Logger } from "../log.js";
import type { Publisher } from "../publishing/publisher.js";
import type { PrismaClient } from "../store/database.js";
import type { RedisConnection } from "../store/redis.js";

/** What every resolver can reach. Built once per gateway; `principal` per request. */
export interface GatewayServices {
  readonly prisma: PrismaClient;
  readonly config: Config;
  readonly secrets: SecretBox;
  readonly publisher: Publisher;
  readonly logger: Logger;
  /** SSRF checks for webhook URLs at creation and update. */
  readonly targets: TargetGuard;
  readonly clock: Clock;
  /** Tells an in-process dispatcher that deliveries were queued (replay, retry, test events). */
  readonly deliveriesQueued: () => void;
  /** The shared Redis connection for commands (rate limits, publishing); undefined without REDIS_URL. */
  readonly redis: RedisConnection | undefined;
}

export interface GatewayContext extends GatewayServices {
  readonly principal: Principal | undefined;
}
