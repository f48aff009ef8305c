import type { Principal } from "../auth/principal.js";
import { gatewayError } from "../schema/errors.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import type { PrismaClient } from "../store/database.js";
import type { EventFeed, FeedEvent, FeedListener } from "./event-feed.js";

/** What one eventPublished subscription receives; every condition must hold. */
export interface EventFilter {
  readonly principal: Principal;
  /** Event type ids, or "all". */
  readonly types: ReadonlySet<number> | "all";
  readonly customerId?: number;
  readonly webhookId?: number;
  readonly serviceId?: number;
}

/** An event as a subscription yields it: a stored Event row (routing is only known for live ones). */
export type StreamEvent = Omit<FeedEvent, "webhookIds" | "serviceIds">;

const REPLAY_PAGE = 500;

/**
 * One subscription's events: first the stored ones after `after` (replay), then live ones from
 * the feed, in id order, each once. Live events that arrive during the replay wait in a bounded
 * queue; a subscriber that lets more than `maxBuffered` events pile up is ended with
 * SLOW_CONSUMER and the id to resume after, instead of letting memory grow.
 */
export class EventStream implements AsyncIterableIterator<StreamEvent> {
  private readonly queue: FeedEvent[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private registered = false;
  private finished = false;
  private failure: Error | undefined;
  /** The highest id yielded (or the resume point): nothing at or below it is yielded again. */
  private lastId: bigint;
  private replayTo: bigint | undefined;
  private replayBuffer: StreamEvent[] = [];
  private ready: Promise<void>;
  private readonly listener: FeedListener;

  constructor(
    private readonly feed: EventFeed,
    private readonly prisma: PrismaClient,
    private readonly filter: EventFilter,
    after: bigint | undefined,
    private readonly maxBuffered: number,
    /** Called once when the stream ends, however it ends. */
    private readonly onEnd: () => void = () => undefined,
  ) {
    this.lastId = after ?? 0n;
    this.listener = { types: filter.types, push: (events) => this.push(events) };
    this.ready = feed.register(this.listener).then(({ position, head }) => {
      this.registered = true;
      if (this.finished) return this.feed.unregister(this.listener);
      // Without `after`: what is stored after this moment (the feed may still bring a few older ones).
      if (after === undefined) this.lastId = head > position ? head : position;
      else if (after < position) this.replayTo = position;
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
          this.queue[this.head++] = undefined as unknown as FeedEvent;
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue.splice(0, this.head);
            this.head = 0;
          }
          if (event.id <= this.lastId) continue; // already sent by the replay
          this.lastId = event.id;
          return { done: false, value: event };
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
  private push(events: readonly FeedEvent[]): void {
    if (this.finished || this.failure) return;
    if (this.queue.length - this.head >= this.maxBuffered) {
      this.failure = gatewayError(
        "SLOW_CONSUMER",
        `this subscription fell more than ${this.maxBuffered} events behind and was ended; subscribe again with after: "${this.lastId}" to continue without a gap`,
        { lastEventId: this.lastId.toString() },
      );
      this.queue.length = 0;
      this.head = 0;
      this.feed.unregister(this.listener);
    } else {
      let added = false;
      for (const event of events) {
        if (matches(this.filter, event)) {
          this.queue.push(event);
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
      const rows = await this.prisma.event.findMany({
        where: { AND: [storedFilter(this.filter), { id: { gt: this.lastId, lte: this.replayTo } }] },
        orderBy: { id: "asc" },
        take: REPLAY_PAGE,
      });
      if (!rows.length) {
        this.replayTo = undefined; // caught up: live from here
        return undefined;
      }
      this.replayBuffer = rows.reverse();
    }
    const event = this.replayBuffer.pop()!;
    this.lastId = event.id;
    return event;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onEnd();
    this.queue.length = 0;
    if (this.registered) this.feed.unregister(this.listener);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** The live form of the rule storedFilter states for the store. */
export function matches(filter: EventFilter, event: FeedEvent): boolean {
  const p = filter.principal;
  if (p.kind === "customer" && event.customerId !== p.customerId) return false;
  if (p.kind === "service" && !event.serviceIds.includes(p.serviceId)) return false;
  if (filter.customerId !== undefined && event.customerId !== filter.customerId) return false;
  if (filter.webhookId !== undefined && !event.webhookIds.includes(filter.webhookId)) return false;
  if (filter.serviceId !== undefined && !event.serviceIds.includes(filter.serviceId)) return false;
  return filter.types === "all" || filter.types.has(event.eventTypeId);
}

/** Who sees what, as for the events query: admin all, a customer its own, a service what was routed to it. */
function storedFilter(filter: EventFilter): Prisma.EventWhereInput {
  const p = filter.principal;
  const and: Prisma.EventWhereInput[] = [];
  if (p.kind === "customer") and.push({ customerId: p.customerId });
  if (p.kind === "service") and.push({ deliveries: { some: { webhook: { serviceId: p.serviceId } } } });
  if (filter.types !== "all") and.push({ eventTypeId: { in: [...filter.types] } });
  if (filter.customerId !== undefined) and.push({ customerId: filter.customerId });
  if (filter.webhookId !== undefined) and.push({ deliveries: { some: { webhookId: filter.webhookId } } });
  if (filter.serviceId !== undefined) and.push({ deliveries: { some: { webhook: { serviceId: filter.serviceId } } } });
  return { AND: and };
}
