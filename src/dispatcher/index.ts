import type { Config } from "../config.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Logger } from "../log.js";
import type { SqlClient } from "../store/database.js";
import type { Clock } from "../clock.js";
import { Dispatcher, type DispatcherOptions } from "./dispatcher.js";
import { createHttpSender } from "./http-sender.js";
import type { TargetGuard } from "./target-guard.js";

export { Dispatcher } from "./dispatcher.js";

/** A dispatcher with the HTTP client and limits the configuration names. */
export function createDispatcher(
  config: Config,
  deps: { sql: SqlClient; secrets: SecretBox; logger: Logger; clock: Clock; guard: TargetGuard },
  extra: Pick<DispatcherOptions, "onRecorded" | "onRecordFailed" | "random"> = {},
): Dispatcher {
  const sender = createHttpSender({
    connectTimeoutMs: config.HOOKGATE_CONNECT_TIMEOUT_MS,
    totalTimeoutMs: config.HOOKGATE_DELIVERY_TIMEOUT_MS,
    maxResponseBytes: config.HOOKGATE_MAX_RESPONSE_BYTES,
    guard: deps.guard,
    connections: Math.max(16, Math.ceil(config.HOOKGATE_DISPATCH_CONCURRENCY / 2)),
  });
  return new Dispatcher({
    ...deps,
    ...extra,
    sender,
    batchSize: config.HOOKGATE_DISPATCH_BATCH,
    concurrency: config.HOOKGATE_DISPATCH_CONCURRENCY,
    maxInFlightPerWebhook: config.HOOKGATE_MAX_IN_FLIGHT_PER_WEBHOOK,
    leaseMs: config.HOOKGATE_LEASE_SECONDS * 1000,
    // As the configuration's own check counts it (the lease must outlast an attempt).
    attemptMs: config.HOOKGATE_DELIVERY_TIMEOUT_MS + config.HOOKGATE_CONNECT_TIMEOUT_MS + 1_000,
    pollMs: config.HOOKGATE_POLL_MS,
    autoDisable: {
      afterFailures: config.HOOKGATE_DISABLE_AFTER_FAILURES,
      afterDays: config.HOOKGATE_DISABLE_AFTER_DAYS,
      failingAfterFailures: config.HOOKGATE_FAILING_AFTER_FAILURES,
    },
  });
}
