import type { Config } from "../config.js";
import type { AttemptRecord } from "../dispatcher/delivery-queue.js";
import type { Logger } from "../log.js";
import type { StoredEvent } from "../publishing/publisher.js";
import { createBus, topics, type Bus } from "../pubsub/bus.js";
import type { PrismaClient, SqlClient } from "../store/database.js";
import { EventFeed, publishStoredEvents } from "./event-feed.js";
import { EventStream, type EventFilter } from "./event-stream.js";
import { AttemptStream, type LiveAttempt } from "./attempt-stream.js";
import { HorizonReader } from "./horizon.js";
import { readClusterId, TX, type AttemptPoint, type Position } from "./position.js";

export type { LiveAttempt } from "./attempt-stream.js";

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
  /** The attempts of one webhook, live: after a cursor's point, or from now. */
  attempts(webhookId: number, after: AttemptPoint | undefined): Promise<AsyncIterableIterator<LiveAttempt>>;
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
  // One reader per process: its fallback to the cluster-wide horizon is learnt once.
  const horizons = new HorizonReader(deps.sql, deps.logger);
  const feed = new EventFeed({ sql: deps.sql, bus, logger: deps.logger, pollMs: config.HOOKGATE_LIVE_POLL_MS, horizons });
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
      pokeWatchedAttempts(bus, records).catch((error: unknown) =>
        deps.logger.warn({ err: error }, "live attempt log not published"),
      );
    },
    attempts: async (webhookId, after) => {
      const streamDeps = { sql: deps.sql, horizons, bus, logger: deps.logger, pollMs: config.HOOKGATE_LIVE_POLL_MS, clusterId: await readCluster() };
      const stream = await AttemptStream.open(streamDeps, webhookId, after, () => open.dec());
      open.inc();
      return stream;
    },
    async close() {
      feed.close();
      await bus.close();
    },
  };
}

/**
 * Tells the subscribers of these attempts' webhooks to read the store (AttemptStream): only for
 * webhooks someone watches (one PUBSUB NUMSUB per recorded batch), so the dispatcher's hot path
 * pays nothing for dashboards nobody has open. The message carries no attempt: the store is the
 * record, and a subscriber reads it in order.
 */
async function pokeWatchedAttempts(bus: Bus, records: readonly AttemptRecord[]): Promise<void> {
  const webhookIds = [...new Set(records.map((r) => r.webhookId))];
  const listened = await bus.listened(webhookIds.map(topics.webhookAttempts));
  webhookIds.forEach((id, i) => {
    if (listened[i]) bus.publish(topics.webhookAttempts(id), { w: id });
  });
}
