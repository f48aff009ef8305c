import type { Config } from "../config.js";
import type { AttemptRecord } from "../dispatcher/delivery-queue.js";
import type { Logger } from "../log.js";
import type { StoredEvent } from "../publishing/publisher.js";
import { createBus, topics, type Bus } from "../pubsub/bus.js";
import type { PrismaClient, SqlClient } from "../store/database.js";
import { EventFeed, publishStoredEvents } from "./event-feed.js";
import { EventStream, type EventFilter } from "./event-stream.js";
import { readClusterId, TX, type Position } from "./position.js";

/** A recorded attempt as deliveryAttempted yields it (the DeliveryAttempt row). */
export interface LiveAttempt {
  readonly id: bigint;
  readonly deliveryId: bigint;
  readonly attemptNumber: number;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly requestUrl: string;
  readonly requestMethod: string;
  readonly requestHeaders: unknown;
  readonly requestBody: string;
  readonly responseStatus: number | null;
  readonly responseHeaders: unknown;
  readonly responseBody: string | null;
  readonly responseBodyEncoding: string | null;
  readonly errorClass: string | null;
  readonly errorMessage: string | null;
  readonly succeeded: boolean;
}

/** Live subscriptions: what the publisher, the dispatcher and the schema use. */
export interface Live {
  readonly bus: Bus;
  readonly feed: EventFeed;
  /** After a publishing transaction commits: tell every instance. */
  eventsCommitted(events: readonly StoredEvent[]): void;
  /** The stream one eventPublished subscription reads, from after a position (or what comes next). */
  events(filter: EventFilter, after: Position | undefined): Promise<EventStream>;
  /** The store's cluster identity (cursors carry it); read once. */
  clusterId(): Promise<string>;
  /** An event's position; undefined when there is no such event. */
  positionOfEvent(id: bigint): Promise<Position | undefined>;
  /** After the dispatcher stored attempts: publish those someone is watching. */
  attemptsRecorded(records: readonly AttemptRecord[]): void;
  /** The attempts of one webhook, live. */
  attempts(webhookId: number): AsyncIterableIterator<LiveAttempt>;
  close(): Promise<void>;
}

export interface LiveDeps {
  readonly prisma: PrismaClient;
  readonly sql: SqlClient;
  readonly logger: Logger;
  /** Counts open subscriptions (the metrics gauge). */
  readonly liveSubscriptions?: { inc(): void; dec(): void };
}

export function createLive(config: Config, deps: LiveDeps): Live {
  const open = deps.liveSubscriptions ?? { inc: () => undefined, dec: () => undefined };
  const bus = createBus(config.REDIS_URL, deps.logger, config.HOOKGATE_REDIS_KEY_PREFIX);
  const feed = new EventFeed({ sql: deps.sql, bus, logger: deps.logger, pollMs: config.HOOKGATE_LIVE_POLL_MS });
  let clusterId: Promise<string> | undefined;
  const readCluster = () =>
    (clusterId ??= readClusterId(deps.sql).catch((error: unknown) => {
      clusterId = undefined; // the store was down: ask again next time
      throw error;
    }));
  return {
    bus,
    feed,
    eventsCommitted: (events) => publishStoredEvents(bus, events),
    events: async (filter, after) => {
      const cluster = await readCluster();
      open.inc();
      return new EventStream(feed, deps.sql, filter, after, cluster, config.HOOKGATE_LIVE_BUFFER, () => open.dec());
    },
    clusterId: readCluster,
    async positionOfEvent(id) {
      const [row] = await deps.sql.query<{ tx: string }>(`SELECT ${TX}::text AS tx FROM events e WHERE e.id = $1::bigint`, [id.toString()]);
      return row ? { tx: BigInt(row.tx), id } : undefined;
    },
    attemptsRecorded(records) {
      publishWatchedAttempts(bus, deps.sql, records).catch((error: unknown) =>
        deps.logger.warn({ err: error }, "live attempt log not published"),
      );
    },
    attempts: (webhookId) => {
      open.inc();
      return attemptStream(bus, webhookId, config.HOOKGATE_LIVE_BUFFER, () => open.dec());
    },
    async close() {
      feed.close();
      await bus.close();
    },
  };
}

/**
 * Attempts go out only for webhooks someone watches (one PUBSUB NUMSUB per recorded batch), so
 * the dispatcher's hot path pays nothing for dashboards nobody has open. The attempt ids come
 * from the store: the dispatcher records attempts without reading them back.
 */
async function publishWatchedAttempts(bus: Bus, sql: SqlClient, records: readonly AttemptRecord[]): Promise<void> {
  const webhookIds = [...new Set(records.map((r) => r.webhookId))];
  const listened = await bus.listened(webhookIds.map(topics.webhookAttempts));
  const watched = new Set(webhookIds.filter((_, i) => listened[i]));
  if (!watched.size) return;
  const wanted = records.filter((r) => watched.has(r.webhookId));
  const ids = await sql.query<{ id: string; delivery_id: string; attempt_number: number }>(
    `SELECT id::text, delivery_id::text, attempt_number FROM delivery_attempts WHERE delivery_id = ANY($1::bigint[])`,
    [wanted.map((r) => r.deliveryId)],
  );
  const byKey = new Map(ids.map((r) => [`${r.delivery_id}:${r.attempt_number}`, r.id]));
  for (const r of wanted) {
    const id = byKey.get(`${r.deliveryId}:${r.attemptNumber}`);
    if (!id) continue; // dropped with its delivery
    bus.publish(topics.webhookAttempts(r.webhookId), {
      id,
      deliveryId: r.deliveryId,
      attemptNumber: r.attemptNumber,
      startedAt: r.startedAt.toISOString(),
      durationMs: r.durationMs,
      requestUrl: r.requestUrl,
      requestMethod: r.requestMethod,
      requestHeaders: r.requestHeaders,
      requestBody: r.requestBody,
      responseStatus: r.responseStatus,
      responseHeaders: r.responseHeaders,
      responseBody: r.responseBody,
      responseBodyEncoding: r.responseBodyEncoding,
      errorClass: r.errorClass,
      errorMessage: r.errorMessage,
      succeeded: r.succeeded,
    });
  }
}

/** A bounded queue of one webhook's attempts; a consumer that falls behind loses the oldest. */
function attemptStream(bus: Bus, webhookId: number, maxBuffered: number, onEnd: () => void): AsyncIterableIterator<LiveAttempt> {
  const queue: LiveAttempt[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const unsubscribe = bus.subscribe(topics.webhookAttempts(webhookId), (message) => {
    const m = message as Record<string, unknown> | null;
    if (!m || typeof m.id !== "string" || typeof m.deliveryId !== "string") return; // not ours
    // The attempt log is a dashboard view, not a guarantee (webhookLogs is): drop the oldest.
    if (queue.length >= maxBuffered) queue.shift();
    queue.push({
      ...(m as unknown as LiveAttempt),
      id: BigInt(m.id as string),
      deliveryId: BigInt(m.deliveryId as string),
      startedAt: new Date(m.startedAt as string),
    });
    wake?.();
    wake = undefined;
  });
  const iterator: AsyncIterableIterator<LiveAttempt> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      while (!done && !queue.length) await new Promise<void>((resolve) => (wake = resolve));
      if (done) return { done: true, value: undefined };
      return { done: false, value: queue.shift()! };
    },
    async return() {
      if (!done) onEnd();
      done = true;
      unsubscribe();
      wake?.();
      return { done: true, value: undefined };
    },
  };
  return iterator;
}
