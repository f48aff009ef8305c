import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Clock } from "../clock.js";
import { readQueueState, type AttemptRecord, type DisabledWebhook, type QueueState } from "../dispatcher/delivery-queue.js";
import type { Logger } from "../log.js";
import type { SqlClient } from "../store/database.js";
import type { RedisConnection } from "../store/redis.js";

/**
 * Hookgate's Prometheus metrics, in a registry of this gateway's own (several gateways may run
 * in one process; the global default registry is never used). Counters are fed by hooks
 * (publisher, dispatcher, HTTP server); queue and health gauges are read at scrape time.
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** Live subscriptions open on this process (fed by the live-subscription server). */
  readonly liveSubscriptions: Gauge;
  /** Websocket connections open on this process (fed by the websocket server). */
  readonly websocketConnections: Gauge;
  /** From the publisher's afterCommit: events stored (duplicates of an idempotency key excluded). */
  eventsPublished(count: number): void;
  /** The dispatcher's onRecorded: attempts stored, and webhooks disabled by them. Never throws. */
  attemptsRecorded(records: readonly AttemptRecord[], disabled: readonly DisabledWebhook[]): void;
  /** The dispatcher's onRecordFailed: attempts the store refused (kept without their response) or could not take. */
  recordFailed(attempts: number, outcome: "stored_without_response" | "not_stored"): void;
  /** The publisher's group commit: a publish statement ran for this many calls and events. */
  publishStatement(calls: number, events: number): void;
  /** The publisher's group commit: calls that went again, and why ("blocked": another call's input did not resolve; "refused": the store refused the group's statement). */
  publishRetried(reason: "blocked" | "refused", calls: number): void;
  /** A request refused by a rate limit. */
  rateLimited(kind: string): void;
  /** Rows the retention pruner removed: events deleted, or attempts whose bodies it cleared. */
  pruned(kind: "events" | "attempt_bodies", rows: number): void;
  /** An HTTP response sent. */
  httpResponse(status: number): void;
  /** The pull queue's onHandedOut / onAcknowledged: notifications handed out (again, after a timeout, included) or acknowledged. */
  pulled(kind: "handed_out" | "acknowledged", count: number): void;
  /** The exposition text; scrape-time gauges are read here. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsDeps {
  readonly sql: SqlClient;
  readonly redis: RedisConnection | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Bound on each scrape-time query (default 2000 ms). */
  readonly scrapeTimeoutMs?: number;
}

export function createMetrics(deps: MetricsDeps): GatewayMetrics {
  const timeoutMs = deps.scrapeTimeoutMs ?? 2_000;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "hookgate_" });
  // prom-client's sums of the active handles/requests/resources are gauges named …_total, which
  // `promtool check metrics` refuses (that suffix means a counter); the per-type gauges stay.
  for (const name of ["active_handles_total", "active_requests_total", "active_resources_total"]) {
    registry.removeSingleMetric(`hookgate_nodejs_${name}`);
  }

  const published = new Counter({ name: "hookgate_events_published_total", help: "Events stored by publishEvent(s), duplicates excluded.", registers: [registry] });
  const groupCalls = new Histogram({
    name: "hookgate_publish_statement_calls",
    help: "Publish calls per publish statement (group commit: concurrent calls in this process share one statement and one transaction).",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const groupEvents = new Counter({ name: "hookgate_publish_statement_events_total", help: "Events sent in publish statements, stored or not.", registers: [registry] });
  const groupRetries = new Counter({
    name: "hookgate_publish_calls_retried_total",
    help: "Publish calls that went again in another statement: blocked (another call in their group named an unknown type or customer), refused (the store refused the group's statement; it was split).",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const attempts = new Counter({
    name: "hookgate_delivery_attempts_total",
    help: "Delivery attempts recorded, by outcome: succeeded, retrying (failed, another attempt scheduled) or failed (schedule spent).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const attemptErrors = new Counter({
    name: "hookgate_delivery_attempt_errors_total",
    help: "Failed delivery attempts by error class (HTTP_STATUS, TIMEOUT, CONNECTION_REFUSED, DNS, TLS, BLOCKED_TARGET, SECRET_UNREADABLE, ...).",
    labelNames: ["error_class"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "hookgate_delivery_attempt_duration_seconds",
    help: "Duration of a delivery attempt, connect to last byte, by outcome.",
    labelNames: ["outcome"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60],
    registers: [registry],
  });
  // One child per outcome, looked up once: labelling every observation costs a hash of the labels.
  const byOutcome = Object.fromEntries(
    (["SUCCEEDED", "RETRYING", "FAILED"] as const).map((status) => {
      const outcome = status.toLowerCase();
      return [status, { attempts: attempts.labels(outcome), latency: latency.labels(outcome) }];
    }),
  ) as Record<AttemptRecord["status"], { attempts: Counter.Internal; latency: Histogram.Internal<"outcome"> }>;
  const recordFailures = new Counter({
    name: "hookgate_record_failures_total",
    help: "Delivery attempts the dispatcher could not record as they were: stored_without_response (kept as RECORD_FAILED) or not_stored (the delivery is sent again).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const disabledWebhooks = new Counter({ name: "hookgate_webhooks_disabled_total", help: "Webhooks disabled after repeated delivery failures.", registers: [registry] });
  const limited = new Counter({ name: "hookgate_rate_limited_total", help: "Requests refused by a rate limit, by kind (publish, mutation, query, connection, unauthenticated).", labelNames: ["kind"] as const, registers: [registry] });
  const responses = new Counter({ name: "hookgate_http_responses_total", help: "HTTP responses by status code.", labelNames: ["status"] as const, registers: [registry] });

  // One queue query per scrape, shared by the gauges that show it (render() starts a new one).
  let queueRead: { at: number; result: Promise<QueueState | undefined> } | undefined;
  const queueState = () => {
    const now = Date.now();
    if (!queueRead || now - queueRead.at > 100) {
      queueRead = { at: now, result: readQueue(deps, timeoutMs).catch((error: unknown) => {
        deps.logger.warn({ err: { message: (error as Error).message } }, "metrics: reading the delivery queue failed");
        return undefined;
      }) };
    }
    return queueRead.result;
  };
  const queueGauge = (name: string, help: string, pick: (state: QueueState) => number) =>
    new Gauge({
      name,
      help: `${help} Read at scrape; NaN when the store did not answer in time.`,
      registers: [registry],
      async collect() {
        const state = await queueState();
        // NaN, not 0, when the store did not answer: an empty queue and an unknown one differ.
        this.set(state ? pick(state) : NaN);
      },
    });
  queueGauge("hookgate_queue_depth", "Deliveries waiting to be sent or in flight (pending or retrying; those of disabled webhooks excluded).", (s) => s.queued);
  queueGauge("hookgate_queue_due", "Deliveries due now and not yet claimed by a worker.", (s) => s.due);
  queueGauge(
    "hookgate_queue_oldest_pending_age_seconds",
    "How long the longest-waiting due delivery has been due (0 when none is): grows when workers fall behind.",
    (s) => s.oldestSeconds,
  );
  queueGauge(
    "hookgate_queue_dead_rows",
    "Dead rows in the delivery queue's table, as PostgreSQL's statistics count them: they grow when vacuum does not keep up (autovacuum off, or a long transaction on the server).",
    (s) => s.deadRows,
  );
  queueGauge(
    "hookgate_queue_table_bytes",
    "The delivery queue table's size on disk (without indexes). It holds only deliveries still to be attempted, so it should stay small; growth means dead rows are not vacuumed away.",
    (s) => s.tableBytes,
  );
  queueGauge(
    "hookgate_pull_queue_depth",
    "PULL webhooks' notifications not yet acknowledged (waiting to be received, or handed out): grows when consumers fall behind.",
    (s) => s.pullQueued,
  );
  queueGauge("hookgate_pull_queue_out", "PULL webhooks' notifications handed out and within their visibility timeout.", (s) => s.pullOut);
  const pullNotifications = new Counter({
    name: "hookgate_pull_notifications_total",
    help: "PULL webhooks' notifications handed out by receiveNotifications (again after a visibility timeout included) and acknowledged.",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "hookgate_database_up",
    help: "1 when the database answered a query within the scrape timeout, else 0.",
    registers: [registry],
    async collect() {
      this.set((await succeeds(deps.sql.query("SELECT 1"), timeoutMs)) ? 1 : 0);
    },
  });
  const redis = deps.redis;
  if (redis) {
    new Gauge({
      name: "hookgate_redis_up",
      help: "1 when Redis answered PING within the scrape timeout, else 0. Absent without REDIS_URL.",
      registers: [registry],
      async collect() {
        this.set((await succeeds(redis.client.ping(), timeoutMs)) ? 1 : 0);
      },
    });
  }
  const pruned = new Counter({
    name: "hookgate_pruned_total",
    help: "Rows removed by retention: events (deleted with their deliveries and attempts) and attempt_bodies (attempts whose bodies were cleared).",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const liveSubscriptions = new Gauge({ name: "hookgate_live_subscriptions", help: "Live GraphQL subscriptions open on this process.", registers: [registry] });
  const websocketConnections = new Gauge({ name: "hookgate_websocket_connections", help: "Websocket connections open on this process.", registers: [registry] });

  return {
    registry,
    liveSubscriptions,
    websocketConnections,
    eventsPublished: (count) => published.inc(count),
    publishStatement: (calls, events) => {
      groupCalls.observe(calls);
      groupEvents.inc(events);
    },
    publishRetried: (reason, calls) => groupRetries.inc({ reason }, calls),
    attemptsRecorded(records, disabled) {
      // Called inside the dispatcher's recording step: a throw here must not fail the batch.
      try {
        for (const r of records) {
          const child = byOutcome[r.status];
          child.attempts.inc();
          child.latency.observe(r.durationMs / 1000);
          if (!r.succeeded) attemptErrors.inc({ error_class: r.errorClass ?? "UNKNOWN" });
        }
        if (disabled.length) disabledWebhooks.inc(disabled.length);
      } catch (error) {
        deps.logger.warn({ err: error }, "metrics: counting recorded attempts failed");
      }
    },
    recordFailed: (count, outcome) => recordFailures.inc({ outcome }, count),
    rateLimited: (kind) => limited.inc({ kind }),
    pruned: (kind, rows) => pruned.inc({ kind }, rows),
    httpResponse: (status) => responses.inc({ status: String(status) }),
    pulled: (kind, count) => pullNotifications.inc({ kind }, count),
    async render() {
      queueRead = undefined;
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

// The store gives up after timeoutMs too (PostgreSQL); the race bounds the scrape on both stores.
function readQueue(deps: MetricsDeps, timeoutMs: number): Promise<QueueState> {
  return withTimeout(readQueueState(deps.sql, deps.clock.now(), timeoutMs), timeoutMs);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function succeeds(promise: Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await withTimeout(promise, ms);
    return true;
  } catch {
    return false;
  }
}
