import { canSeeEvent, routedToSql, visibleEventsSql } from "../auth/event-visibility.js";
import type { Principal } from "../auth/principal.js";
import { gatewayError } from "../errors.js";
import { payloadFilterSql } from "../publishing/payload-filter.js";
import type { SqlClient } from "../store/database.js";
import type { StoredEvent } from "../publishing/publisher.js";
import { loadEventRows, type EventFeed, type FeedListener } from "./event-feed.js";
import { compare, encodeCursor, positionOf, TX, type Position } from "./position.js";

/** What one eventPublished subscription receives; every condition must hold. */
export interface EventFilter {
  readonly principal: Principal;
  /** Event type ids, or "all". */
  readonly types: ReadonlySet<number> | "all";
  readonly customerId?: number;
  readonly webhookId?: number;
  readonly serviceId?: number;
  /**
   * A payload filter (publishing/payload-filter.ts, already checked): PostgreSQL evaluates it, for
   * replayed events in the replay query and for live ones in one query per batch, so a stream
   * and routing answer alike. Without one, no query is made.
   */
  readonly payloadFilter?: string;
}

/** An event as a subscription yields it: a stored Event row (routing is only known for live ones). */
export type StreamEvent = Omit<StoredEvent, "webhookIds" | "serviceIds">;

const REPLAY_PAGE = 500;

/**
 * One subscription's events: first the stored ones after `after` (replay), then live ones from
 * the feed, in position order (see position.ts), each once. Live events that arrive during the
 * replay wait in a bounded queue; a subscriber that lets more than `maxBuffered` events pile up
 * is ended with SLOW_CONSUMER and the cursor to resume after, instead of letting memory grow.
 */
export class EventStream implements AsyncIterableIterator<StreamEvent> {
  private readonly queue: StoredEvent[] = [];
  /** With a payload filter: live events that passed the other conditions, before PostgreSQL checks their payloads. */
  private unchecked: StoredEvent[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private registered = false;
  private finished = false;
  private failure: Error | undefined;
  /** The last position yielded (or the resume point): nothing at or before it is yielded again. */
  private last: Position;
  private replayTo: Position | undefined;
  private replayBuffer: StreamEvent[] = [];
  private ready: Promise<void>;
  private readonly listener: FeedListener;

  constructor(
    private readonly feed: EventFeed,
    private readonly sql: SqlClient,
    private readonly filter: EventFilter,
    after: Position | undefined,
    /** The store's cluster identity, for the cursor a SLOW_CONSUMER error carries. */
    private readonly clusterId: string,
    private readonly maxBuffered: number,
    /** Called once when the stream ends, however it ends. */
    private readonly onEnd: () => void = () => undefined,
  ) {
    this.last = after ?? { tx: 0n, id: 0n };
    this.listener = { types: filter.types, push: (events) => this.push(events) };
    this.ready = feed.register(this.listener).then(({ position, head }) => {
      this.registered = true;
      if (this.finished) return this.feed.unregister(this.listener);
      // Without `after`: what is stored after this moment (the feed may still bring a few older ones).
      if (after === undefined) this.last = compare(head, position) > 0 ? head : position;
      else if (compare(after, position) < 0) this.replayTo = position;
    });
    this.ready.catch(() => undefined); // seen by next(); never an unhandled rejection
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<StreamEvent>> {
    try {
      await this.ready;
      for (;;) {
        if (this.failure) {
          const failure = this.failure;
          this.finish();
          throw failure;
        }
        if (this.finished) return { done: true, value: undefined };
        if (this.replayTo !== undefined) {
          const replayed = await this.nextReplayed();
          if (replayed) return { done: false, value: replayed };
        }
        while (this.head < this.queue.length) {
          const event = this.queue[this.head]!;
          this.queue[this.head++] = undefined as unknown as StoredEvent;
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue.splice(0, this.head);
            this.head = 0;
          }
          const at = positionOf(event);
          if (compare(at, this.last) <= 0) continue; // already sent by the replay
          this.last = at;
          return { done: false, value: event };
        }
        if (this.unchecked.length) {
          const batch = this.unchecked;
          this.unchecked = [];
          const kept = await keepMatchingPayloads(this.sql, this.filter.payloadFilter!, batch);
          if (!this.finished && !this.failure) this.queue.push(...kept);
          continue;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } catch (error) {
      // Consumers do not call return() after next() throws: let go of the feed here.
      this.finish();
      throw error;
    }
  }

  async return(): Promise<IteratorResult<StreamEvent>> {
    this.finish();
    return { done: true, value: undefined };
  }

  /**
   * One drain of the feed. A burst of any size is taken as long as the subscriber had read all
   * but `maxBuffered` of the previous ones: the bound measures falling behind, not burst size
   * (Node hands a whole burst over before the consumer can run at all).
   */
  private push(events: readonly StoredEvent[]): void {
    if (this.finished || this.failure) return;
    if (this.queue.length - this.head + this.unchecked.length >= this.maxBuffered) {
      const cursor = encodeCursor(this.clusterId, this.last);
      this.failure = gatewayError(
        "SLOW_CONSUMER",
        `this subscription fell more than ${this.maxBuffered} events behind and was ended; subscribe again with after: "${cursor}" to continue without a gap`,
        { after: cursor, lastEventId: this.last.id === 0n ? null : this.last.id.toString() },
      );
      this.queue.length = 0;
      this.head = 0;
      this.unchecked = [];
      this.feed.unregister(this.listener);
    } else {
      let added = false;
      for (const event of events) {
        if (matches(this.filter, event)) {
          (this.filter.payloadFilter === undefined ? this.queue : this.unchecked).push(event);
          added = true;
        }
      }
      if (!added) return;
    }
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async nextReplayed(): Promise<StreamEvent | undefined> {
    if (this.replayTo === undefined) return undefined;
    if (!this.replayBuffer.length) {
      const rows = await replayPage(this.sql, this.filter, this.last, this.replayTo);
      if (!rows.length) {
        this.replayTo = undefined; // caught up: live from here
        return undefined;
      }
      this.replayBuffer = rows.reverse();
    }
    const event = this.replayBuffer.pop()!;
    this.last = positionOf(event);
    return event;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onEnd();
    this.queue.length = 0;
    this.unchecked = [];
    if (this.registered) this.feed.unregister(this.listener);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** The live form of the filter replayPage applies to the store (but the payload filter: keepMatchingPayloads). */
export function matches(filter: EventFilter, event: StoredEvent): boolean {
  if (!canSeeEvent(filter.principal, event)) return false;
  if (filter.customerId !== undefined && event.customerId !== filter.customerId) return false;
  if (filter.webhookId !== undefined && !event.webhookIds.includes(filter.webhookId)) return false;
  if (filter.serviceId !== undefined && !event.serviceIds.includes(filter.serviceId)) return false;
  return filter.types === "all" || filter.types.has(event.eventTypeId);
}

/**
 * The stored events after `from` up to `to` that the filter lets through (who sees what:
 * auth/event-visibility.ts), in order.
 */
async function replayPage(sql: SqlClient, filter: EventFilter, from: Position, to: Position): Promise<StreamEvent[]> {
  const params: unknown[] = [from.tx.toString(), from.id.toString(), to.tx.toString(), to.id.toString()];
  const and: string[] = [`(${TX}, e.id) > ($1::bigint, $2::bigint)`, `(${TX}, e.id) <= ($3::bigint, $4::bigint)`];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const visible = visibleEventsSql(filter.principal, param);
  if (visible) and.push(visible);
  if (filter.types !== "all") and.push(`e.event_type_id = ANY(${param([...filter.types])}::int[])`);
  if (filter.customerId !== undefined) and.push(`e.customer_id = ${param(filter.customerId)}::int`);
  if (filter.webhookId !== undefined) and.push(routedToSql("d.webhook_id", param(filter.webhookId)));
  if (filter.serviceId !== undefined) and.push(routedToSql("w.service_id", param(filter.serviceId)));
  if (filter.payloadFilter !== undefined) and.push(payloadFilterSql("e.payload", `${param(filter.payloadFilter)}::text`));
  const ids = await sql.query<{ id: string }>(
    `SELECT e.id::text AS id FROM events e WHERE ${and.join(" AND ")} ORDER BY ${TX}, e.id LIMIT ${REPLAY_PAGE}`,
    params,
  );
  if (!ids.length) return [];
  const events = await loadEventRows(sql, ids.map((r) => BigInt(r.id)));
  return events.sort((a, b) => compare(positionOf(a), positionOf(b)));
}

/**
 * The live events whose payload satisfies the filter, in order: one query, the same operator and
 * the same jsonb the publish statement routes with (each payload's stored text, cast to jsonb).
 */
async function keepMatchingPayloads(sql: SqlClient, filter: string, events: readonly StoredEvent[]): Promise<StoredEvent[]> {
  const rows = await sql.query<{ i: number }>(
    `SELECT (x.n - 1)::int AS i FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(p, n) WHERE ${payloadFilterSql("x.p", "$2::text")} ORDER BY x.n`,
    [`[${events.map((e) => e.payloadText).join(",")}]`, filter],
  );
  return rows.map((r) => events[r.i]!);
}
