import type { Logger } from "../log.js";
import type { StoredEvent } from "../publishing/publisher.js";
import { topics, type Bus } from "../pubsub/bus.js";
import type { SqlClient } from "../store/database.js";

/** An event as live subscribers receive it: the Event row plus where it was routed. */
export type FeedEvent = StoredEvent;

/** One live subscription as the feed sees it. */
export interface FeedListener {
  /** The event types it wants; "all" for every type. */
  readonly types: ReadonlySet<number> | "all";
  /**
   * Called once per drain with that drain's events of its types, in id order (the listener
   * applies its own filters). Never with an empty list.
   */
  push(events: readonly FeedEvent[]): void;
}

/** The wire form of an event on the bus (JSON: ids as strings, dates as ISO text). */
interface EventMessage {
  readonly id: string;
  readonly t: number;
  readonly n: string;
  readonly c: number | null;
  readonly p: unknown;
  readonly k: string | null;
  readonly at: string;
  readonly w: readonly number[];
  readonly s: readonly number[];
}

export function toMessage(e: StoredEvent): EventMessage {
  return {
    id: e.id.toString(),
    t: e.eventTypeId,
    n: e.eventName,
    c: e.customerId,
    p: e.payload,
    k: e.idempotencyKey,
    at: e.createdAt.toISOString(),
    w: e.webhookIds,
    s: e.serviceIds,
  };
}

function fromMessage(m: EventMessage): FeedEvent {
  if (typeof m.id !== "string" || typeof m.t !== "number" || !Array.isArray(m.w) || !Array.isArray(m.s)) {
    throw new TypeError("not an event message");
  }
  return {
    id: BigInt(m.id),
    eventTypeId: m.t,
    eventName: m.n,
    customerId: m.c,
    payload: m.p,
    idempotencyKey: m.k,
    createdAt: new Date(m.at),
    webhookIds: m.w,
    serviceIds: m.s,
  };
}

/** Publishes stored events to their type's topic (called after the publishing transaction commits). */
export function publishStoredEvents(bus: Bus, events: readonly StoredEvent[]): void {
  for (const e of events) bus.publish(topics.eventType(e.eventTypeId), toMessage(e));
}

export interface EventFeedOptions {
  readonly sql: SqlClient;
  readonly bus: Bus;
  readonly logger: Logger;
  /** How often the store is read for events the bus did not bring (Redis down, lost messages). */
  readonly pollMs: number;
}

const ALL_TYPES_REFRESH_MS = 5_000;
/** Most events one read of the store brings; the feed reads again at once for the rest. */
const PAGE = 1_000;

const EVENT_COLUMNS = `
  e.id, e.event_type_id, e.event_name, e.customer_id, e.payload, e.idempotency_key, e.created_at,
  coalesce(array_agg(d.webhook_id ORDER BY d.webhook_id) FILTER (WHERE d.webhook_id IS NOT NULL), '{}') AS webhook_ids,
  coalesce(array_agg(DISTINCT w.service_id) FILTER (WHERE w.service_id IS NOT NULL), '{}') AS service_ids`;

interface EventRow {
  id: string | bigint;
  event_type_id: number;
  event_name: string;
  customer_id: number | null;
  payload: unknown;
  idempotency_key: string | null;
  created_at: Date | string;
  webhook_ids: number[];
  service_ids: number[];
}

/**
 * The one ordered, gapless stream of events inside a gateway process, shared by all its live
 * subscriptions.
 *
 * Messages from the bus are fast but not a guarantee: two publishers' messages can arrive out
 * of order, and Redis drops what is published while it is down. The store is the truth, and
 * events become visible there in id order (publishing holds lockEventOrder until commit). So
 * before the feed passes on events up to id N, it asks the store which events of its types lie
 * between its position and N, reads any the bus did not bring, and emits them all in id order.
 * A timer does the same when the bus is quiet, so nothing waits for the next message.
 */
export class EventFeed {
  /** Every event of a covered type with an id up to here has been emitted. */
  private position = 0n;
  private started: Promise<void> | undefined;
  private readonly listeners = new Set<FeedListener>();
  private readonly typeRefs = new Map<number, { count: number; unsubscribe: () => void }>();
  /** Listeners that want every type; while there are any, every type's topic is subscribed. */
  private allTypes = 0;
  private allTypesReadAt = 0;
  private readonly allTypeTopics = new Map<number, () => void>();
  private readonly received = new Map<bigint, FeedEvent>();
  private highestReceived = 0n;
  private draining: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private storeDown = false;
  private warnedForeign = false;

  constructor(private readonly options: EventFeedOptions) {}

  /**
   * Adds a listener. It will get every event of its types with an id above `position`, and none
   * at or below it; `head` is the store's highest id just before it was added (a subscriber that
   * wants only what comes next skips up to there).
   */
  async register(listener: FeedListener): Promise<{ position: bigint; head: bigint }> {
    // A failed start (store down) is not kept: the next subscriber tries again.
    await (this.started ??= this.start().catch((error: unknown) => {
      this.started = undefined;
      throw error;
    }));
    if (listener.types === "all") {
      if (this.allTypes++ === 0) {
        try {
          await this.subscribeAllTypes();
        } catch (error) {
          if (--this.allTypes === 0) this.releaseAllTypes();
          throw error;
        }
      }
    } else {
      for (const type of listener.types) this.retainType(type);
    }
    // A drain in progress chose its event types before this listener existed: let it finish, so
    // everything above the position returned here is read with this listener's types included.
    while (this.draining) await this.draining;
    const [row] = await this.options.sql.query<{ max: string | null }>("SELECT max(id)::text AS max FROM events");
    const head = BigInt(row?.max ?? 0);
    // Nobody listens, so the position may be old: move it to the head. (Only while still nobody
    // listens: a listener registered meanwhile was promised everything after its position.)
    if (this.listeners.size === 0 && head > this.position) this.position = head;
    while (this.draining) await this.draining;
    this.listeners.add(listener);
    return { position: this.position, head };
  }

  /** Removes a listener; call it once its register() has resolved. */
  unregister(listener: FeedListener): void {
    if (!this.listeners.delete(listener)) return;
    if (listener.types === "all") {
      if (--this.allTypes === 0) this.releaseAllTypes();
    } else {
      for (const type of listener.types) this.releaseType(type);
    }
  }

  /** Events were stored by this process outside the publisher (test events): look now. */
  poke(): void {
    if (this.listeners.size) this.schedule();
  }

  get size(): number {
    return this.listeners.size;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const ref of this.typeRefs.values()) ref.unsubscribe();
    for (const unsubscribe of this.allTypeTopics.values()) unsubscribe();
    this.typeRefs.clear();
    this.allTypeTopics.clear();
    this.listeners.clear();
  }

  private async start(): Promise<void> {
    const [row] = await this.options.sql.query<{ max: string | null }>("SELECT max(id)::text AS max FROM events");
    this.position = BigInt(row?.max ?? 0);
    this.timer = setInterval(() => {
      if (this.listeners.size) this.schedule();
    }, this.options.pollMs);
    this.timer.unref();
  }

  private onMessage = (message: unknown): void => {
    let event: FeedEvent;
    try {
      event = fromMessage(message as EventMessage);
    } catch {
      // Not ours, or from another version: the store still has the event; the poll brings it.
      this.options.logger.warn("live feed ignored a malformed message");
      return;
    }
    if (event.id <= this.position) return;
    this.received.set(event.id, event);
    if (event.id > this.highestReceived) this.highestReceived = event.id;
    this.schedule();
  };

  private retainType(type: number): void {
    const ref = this.typeRefs.get(type);
    if (ref) ref.count++;
    else this.typeRefs.set(type, { count: 1, unsubscribe: this.options.bus.subscribe(topics.eventType(type), this.onMessage) });
  }

  private releaseType(type: number): void {
    const ref = this.typeRefs.get(type);
    if (!ref) return;
    if (--ref.count === 0) {
      ref.unsubscribe();
      this.typeRefs.delete(type);
    }
  }

  private releaseAllTypes(): void {
    for (const unsubscribe of this.allTypeTopics.values()) unsubscribe();
    this.allTypeTopics.clear();
  }

  /** Subscribes the topic of every event type; types created later are found by the timer. */
  private async subscribeAllTypes(): Promise<void> {
    this.allTypesReadAt = Date.now();
    const rows = await this.options.sql.query<{ id: number }>("SELECT id FROM event_types");
    if (!this.allTypes) return;
    for (const { id } of rows) {
      if (!this.allTypeTopics.has(id)) {
        this.allTypeTopics.set(id, this.options.bus.subscribe(topics.eventType(id), this.onMessage));
      }
    }
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain()
      .then(() => {
        if (this.storeDown) this.options.logger.info("live feed reads the store again");
        this.storeDown = false;
      })
      .catch((error: unknown) => {
        // The store is unreachable: keep what arrived; the timer tries again. Said once per outage.
        if (!this.storeDown) this.options.logger.warn({ err: error }, "live feed cannot read the store; retrying");
        this.storeDown = true;
      })
      .finally(() => {
        this.draining = undefined;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
  }

  /** Emits, in id order, every event of the covered types after the position. */
  private async drain(): Promise<void> {
    // Event types created since the last look get their topic (until then the store brings them).
    if (this.allTypes && Date.now() - this.allTypesReadAt > ALL_TYPES_REFRESH_MS) await this.subscribeAllTypes();
    const types = this.coveredTypes();
    const from = this.position;
    // Up to the highest id the bus brought, or (when it brought nothing) whatever the store has.
    const upTo = this.highestReceived > from ? this.highestReceived : undefined;
    const { ids: idsInStore, top } = await this.storedIds(from, upTo, types);
    const missing = idsInStore.filter((id) => !this.received.has(id));
    const loaded = missing.length ? await this.loadEvents(missing) : new Map<bigint, FeedEvent>();
    const ordered: FeedEvent[] = [];
    for (const id of idsInStore) {
      const event = this.received.get(id) ?? loaded.get(id);
      if (event) ordered.push(event); // absent: deleted between the two reads
    }
    // A full page: go on from its last id at once. Otherwise everything up to the bound (or, with
    // none, up to the store's highest id, read in the same statement) has been seen: the position
    // moves there even when no event of the covered types lies in between, so it never goes stale.
    // The store had every id up to `top` when the bus had brought everything up to `upTo`, and a
    // message is published only after its event commits: one above `top` is not this
    // installation's event. It must neither move the position nor reach a listener.
    const foreign = top !== undefined && upTo !== undefined && upTo > top;
    if (foreign) this.dropForeign(top, upTo);
    let last: bigint;
    if (idsInStore.length === PAGE) {
      last = idsInStore.at(-1)!;
      this.again = true;
    } else if (foreign || upTo === undefined) {
      last = top !== undefined && top > from ? top : from;
    } else {
      last = upTo;
    }
    if (last > this.position) this.position = last;
    for (const id of this.received.keys()) if (id <= this.position) this.received.delete(id);
    if (ordered.length) this.emit(ordered);
  }

  /** Forgets messages for ids in (top, upTo]: none of them is an event of this store. */
  private dropForeign(top: bigint, upTo: bigint): void {
    let highest = 0n;
    for (const id of this.received.keys()) {
      if (id > top && id <= upTo) this.received.delete(id);
      else if (id > highest) highest = id;
    }
    this.highestReceived = highest;
    if (!this.warnedForeign) {
      this.warnedForeign = true;
      this.options.logger.warn(
        { storeHighestId: top.toString(), messageId: upTo.toString() },
        "live feed ignored messages for events this database does not have: does another installation share this Redis with the same HOOKGATE_REDIS_KEY_PREFIX?",
      );
    }
  }

  private emit(events: FeedEvent[]): void {
    for (const listener of this.listeners) {
      const { types } = listener;
      const mine = types === "all" ? events : events.filter((e) => types.has(e.eventTypeId));
      if (mine.length) listener.push(mine);
    }
  }

  private coveredTypes(): number[] | "all" {
    return this.allTypes ? "all" : [...this.typeRefs.keys()];
  }

  /** The ids after `from` (up to `upTo`) of these types, a page at most, and the store's highest id (when read). */
  private async storedIds(
    from: bigint,
    upTo: bigint | undefined,
    types: number[] | "all",
  ): Promise<{ ids: bigint[]; top: bigint | undefined }> {
    // No types covered: nothing read (and no highest id known).
    if (types !== "all" && types.length === 0) return { ids: [], top: undefined };
    const params: unknown[] = [from.toString()];
    let where = "id > $1::bigint";
    if (upTo !== undefined) {
      params.push(upTo.toString());
      where += ` AND id <= $${params.length}::bigint`;
    }
    if (types !== "all") {
      params.push(types);
      where += ` AND event_type_id = ANY($${params.length}::int[])`;
    }
    // One statement, so the page and the highest id come from the same snapshot.
    const rows = await this.options.sql.query<{ id: string | null; top: string | null }>(
      `WITH page AS (SELECT id FROM events WHERE ${where} ORDER BY id LIMIT ${PAGE})
       SELECT page.id::text AS id, (SELECT max(id) FROM events)::text AS top
       FROM (SELECT 1) AS one LEFT JOIN page ON true ORDER BY page.id`,
      params,
    );
    return {
      ids: rows.filter((r) => r.id !== null).map((r) => BigInt(r.id!)),
      top: BigInt(rows[0]?.top ?? 0),
    };
  }

  private async loadEvents(ids: bigint[]): Promise<Map<bigint, FeedEvent>> {
    const rows = await loadEventRows(this.options.sql, ids);
    return new Map(rows.map((e) => [e.id, e]));
  }
}

/** Reads events with their routing, in id order. */
export async function loadEventRows(sql: SqlClient, ids: readonly bigint[]): Promise<FeedEvent[]> {
  const rows = await sql.query<EventRow>(
    `SELECT ${EVENT_COLUMNS}
     FROM events e
     LEFT JOIN deliveries d ON d.event_id = e.id
     LEFT JOIN webhooks w ON w.id = d.webhook_id
     WHERE e.id = ANY($1::bigint[])
     GROUP BY e.id
     ORDER BY e.id`,
    [ids.map(String)],
  );
  return rows.map(fromRow);
}

function fromRow(r: EventRow): FeedEvent {
  return {
    id: BigInt(r.id),
    eventTypeId: r.event_type_id,
    eventName: r.event_name,
    customerId: r.customer_id,
    payload: r.payload,
    idempotencyKey: r.idempotency_key,
    createdAt: new Date(r.created_at),
    webhookIds: r.webhook_ids.map(Number),
    serviceIds: r.service_ids.map(Number),
  };
}
