import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import type { TypedEvent, TypedEventTarget } from "@graphql-yoga/typed-event-target";
import type { Redis } from "ioredis";
import type { Logger } from "../log.js";
import { openRedis, type RedisConnection } from "../store/redis.js";

/**
 * Topics and messages between gateway instances. One topic per event type, so an instance
 * subscribes to (and Redis sends it) only the event types its live subscribers asked for;
 * one topic per webhook for the live attempt log. The bus puts every topic under the
 * installation's HOOKGATE_REDIS_KEY_PREFIX (see createBus); topics themselves carry none.
 */
export const topics = {
  eventType: (eventTypeId: number) => `event-type:${eventTypeId}`,
  webhookAttempts: (webhookId: number) => `webhook-attempts:${webhookId}`,
  /** A pulled webhook's queue changed (notifications acknowledged): its waiting consumers look again. */
  pullQueue: (webhookId: number) => `pull-queue:${webhookId}`,
  /** Deliveries were queued: every process's dispatcher looks now rather than at its next poll. */
  deliveriesQueued: "deliveries-queued",
} as const;

type Listener = (message: unknown) => void;

/**
 * Publish/subscribe by topic. With Redis, graphql-yoga's Redis event target carries messages
 * between processes (SUBSCRIBE per topic, while this process has a listener on it); without,
 * an EventTarget inside this process.
 */
export interface Bus {
  /** True when messages cross processes (Redis). */
  readonly shared: boolean;
  publish(topic: string, message: unknown): void;
  /** Listens until the returned function is called. */
  subscribe(topic: string, listener: Listener): () => void;
  /** Which of these topics have a listener in any process (Redis PUBSUB NUMSUB). */
  listened(topicList: readonly string[]): Promise<boolean[]>;
  /** Redis up (always true in-process); for readiness and metrics. */
  isReady(): boolean;
  close(): Promise<void>;
}

/**
 * With Redis, every channel is `<prefix><topic>` (HOOKGATE_REDIS_KEY_PREFIX): installations that
 * share one Redis with different prefixes never hear each other's events or attempts (ids are
 * per database, so another installation's event 42 would otherwise pass for this one's, and
 * its higher ids would move this one's feed past events it has not seen). The default prefix,
 * `hookgate:`, gives the channel names of releases before the prefix applied to them.
 */
export function createBus(redisUrl: string | undefined, logger: Logger, prefix: string): Bus {
  if (!redisUrl) {
    const bus = eventTargetBus(new EventTarget() as TypedEventTarget<TypedEvent>, false, () => true, async () => {}, (topic) => topic);
    return { ...bus, listened: async (list) => list.map((topic) => bus.localListeners(topic) > 0) };
  }
  const channel = (topic: string) => `${prefix}${topic}`;
  const publisher = openRedis(redisUrl, logger, "publish");
  // SUBSCRIBE commands given while Redis is down wait for it; ioredis re-subscribes on reconnect.
  const subscriber = openRedis(redisUrl, logger, "subscribe", { queueWhileDown: true });
  const target = createRedisEventTarget({
    publishClient: quietPublisher(publisher, logger),
    subscribeClient: quietSubscriber(subscriber, logger),
    // A message that is not JSON (not ours) would throw inside ioredis' event handler and end
    // the process; it becomes null, which the listeners ignore.
    serializer: {
      stringify: JSON.stringify,
      parse: (text: string) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return null;
        }
      },
    },
  });
  const bus = eventTargetBus(
    target,
    true,
    () => publisher.isReady() && subscriber.isReady(),
    async () => {
      await Promise.all([publisher.close(), subscriber.close()]);
    },
    channel,
  );
  return {
    ...bus,
    async listened(list) {
      if (!list.length) return [];
      // Reply: channel, count, channel, count, ...
      const reply = (await publisher.client.call("PUBSUB", "NUMSUB", ...list.map(channel))) as (string | number)[];
      return list.map((_, i) => Number(reply[i * 2 + 1]) > 0);
    },
  };
}

function eventTargetBus(
  target: TypedEventTarget<TypedEvent>,
  shared: boolean,
  isReady: () => boolean,
  close: () => Promise<void>,
  channel: (topic: string) => string,
): Omit<Bus, "listened"> & { localListeners(topic: string): number } {
  const counts = new Map<string, number>();
  return {
    localListeners: (topic) => counts.get(topic) ?? 0,
    shared,
    publish(topic, message) {
      target.dispatchEvent(new CustomEvent(channel(topic), { detail: message }) as unknown as TypedEvent);
    },
    subscribe(topic, listener) {
      const handler = (event: TypedEvent) => listener(event.detail);
      target.addEventListener(channel(topic), handler);
      counts.set(topic, (counts.get(topic) ?? 0) + 1);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        target.removeEventListener(channel(topic), handler);
        const left = (counts.get(topic) ?? 1) - 1;
        if (left) counts.set(topic, left);
        else counts.delete(topic);
      };
    },
    isReady,
    close,
  };
}

/*
 * The Redis event target calls publish/subscribe and drops the promises. A rejected one (Redis
 * down) would be an unhandled rejection, which ends a Node process; these wrappers log instead.
 * Live subscribers lose nothing by it: they read what they missed from the store.
 */
function quietPublisher(connection: RedisConnection, logger: Logger): Redis {
  return {
    publish: (channel: string, message: string) =>
      connection.client.publish(channel, message).catch((error: Error) => {
        logger.debug({ err: { message: error.message } }, "live publish skipped: redis unavailable");
        return 0;
      }),
  } as unknown as Redis;
}

function quietSubscriber(connection: RedisConnection, logger: Logger): Redis {
  const { client } = connection;
  const warn = (error: Error) => logger.warn({ err: { message: error.message } }, "redis subscribe command failed");
  return {
    on: (event: string, fn: (...args: unknown[]) => void) => client.on(event, fn),
    subscribe: (channel: string) => client.subscribe(channel).catch(warn),
    unsubscribe: (channel: string) => client.unsubscribe(channel).catch(warn),
  } as unknown as Redis;
}
