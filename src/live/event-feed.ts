import type { Logger } from "../log.js";
import type { StoredEvent } from "../publishing/publisher.js";
import { topics, type Bus } from "../pubsub/bus.js";
import type { SqlClient } from "../store/database.js";
import { HorizonReader } from "./horizon.js";
import { compare, positionOf, START, TX, type Position } from "./position.js";

/** One live subscription as the feed sees it. */
export interface FeedListener {
  /** The event types it wants; "all" for every type. */
  readonly types: ReadonlySet<number> | "all";
  /**
   * Called once per drain with that drain's events of its types, in position order (the listener
   * applies its own filters). Never with an empty list.
   */
  push(events: readonly StoredEvent[]): void;
}

/**
 * The wire form of a StoredEvent on the bus (JSON: ids as strings, dates as ISO text, the
 * payload as its text). Keys are short because every message crosses Redis once per gateway
 * listening; each stands for the StoredEvent field named beside it. Renaming a key is a wire
 * change: gateways of the previous release read these during a rolling upgrade.
 */
interface EventMessage {
  /** id */
  readonly id: string;
  /** txId: the storing transaction's id ("" for none). */
  readonly x: string;
  /** eventTypeId */
  readonly t: number;
  /** eventName */
  readonly n: string;
  /** customerId */
  readonly c: number | null;
  /** payloadText */
  readonly pt: string;
  /** idempotencyKey */
  readonly k: string | null;
  /** createdAt */
  readonly at: string;
  /** webhookIds */
  readonly w: readonly number[];
  /** serviceIds */
  readonly s: readonly number[];
}

export function toMessage(e: StoredEvent): EventMessage {
  return {
    id: e.id.toString(),
    x: e.txId === null ? "" : e.txId.toString(),
    t: e.eventTypeId,
    n: e.eventName,
    c: e.customerId,
    pt: e.payloadText,
    k: e.idempotencyKey,
    at: e.createdAt.toISOString(),
    w: e.webhookIds,
    s: e.serviceIds,
  };
}

function fromMessage(m: EventMessage): StoredEvent {
  if (typeof m.id !== "string" || typeof m.x !== "string" || typeof m.t !== "number" || typeof m.pt !== "string" || !Array.isArray(m.w) || !Array.isArray(m.s)) {
    throw new TypeError("not an event message");
  }
  return {
    id: BigInt(m.id),
    txId: m.x === "" ? null : BigInt(m.x),
    eventTypeId: m.t,
    eventName: m.n,
    customerId: m.c,
    // Parsed once per process, whatever the number of subscribers.
    payload: JSON.parse(m.pt),
    payloadText: m.pt,
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
  /** How long events may wait for the visibility horizon before the session holding it back is logged. */
  readonly horizonWarnMs?: number;
  /** The process's horizon reader (shared with the live attempt log); one of its own by default. */
  readonly horizons?: HorizonReader;
}

const ALL_TYPES_REFRESH_MS = 5_000;
/** Most events one read of the store brings; the feed reads again at once for the rest. */
const PAGE = 1_000;
/** First look again after events were seen waiting for the horizon; doubles up to pollMs. */
const HORIZON_RETRY_MS = 5;

const EVENT_COLUMNS = `
  e.id, e.tx_id, e.event_type_id, e.event_name, e.customer_id, coalesce(e.payload_text, e.payload::text) AS payload_text,
  e.idempotency_key, e.created_at,
  coalesce(array_agg(d.webhook_id ORDER BY d.webhook_id) FILTER (WHERE d.webhook_id IS NOT NULL), '{}') AS webhook_ids,
  coalesce(array_agg(DISTINCT w.service_id) FILTER (WHERE w.service_id IS NOT NULL), '{}') AS service_ids`;

interface EventRow {
  id: string | bigint;
  tx_id: string | bigint | null;
  event_type_id: number;
  event_name: string;
  customer_id: number | null;
  payload_text: string;
  idempotency_key: string | null;
  created_at: Date | string;
  webhook_ids: number[];
  service_ids: number[];
}

/**
 * The one ordered, gapless stream of events inside a gateway process, shared by all its live
 * subscriptions.
 *
 * Publishers take no lock in common, so events do not become visible in id order: a slow
 * transaction can commit id 10 after id 11 was seen. Events are ordered by position instead,
 * (the storing transaction's id, then the event id), and the feed passes on only events whose
 * transaction id lies below the horizon, the oldest transaction still running anywhere on the
 * server: an event below it can be read now, and no event below it can appear later. So the
 * feed never has to go back, and every process sees the same order.
 *
 * Messages from the bus are fast but not a guarantee: two publishers' messages can arrive out
 * of order, and Redis drops what is published while it is down. The store is the truth. So a
 * message only makes the feed look: it reads which events of its types lie between its
 * position and the horizon, loads any the bus did not bring, and emits them all in order. A
 * timer does the same when the bus is quiet, so nothing waits for the next message; while
 * events wait for the horizon it looks again sooner.
 */
export class EventFeed {
  /** Every event of a covered type at or before this position has been emitted. */
  private position: Position = START;
  private started: Promise<void> | undefined;
  private readonly listeners = new Set<FeedListener>();
  private readonly typeRefs = new Map<number, { count: number; unsubscribe: () => void }>();
  /** Listeners that want every type; while there are any, every type's topic is subscribed. */
  private allTypes = 0;
  private allTypesReadAt = 0;
  private readonly allTypeTopics = new Map<number, () => void>();
  /** Events the bus brought that are not emitted yet, by id. */
  private readonly received = new Map<bigint, StoredEvent>();
  private draining: Promise<void> | undefined;
  private again = false;
  /** Listeners being registered: no drain starts until they are (see register). */
  private holds = 0;
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private retryMs = HORIZON_RETRY_MS;
  /** The first event waiting for the horizon, and since when it has been seen waiting (undefined: none wait). */
  private waiting: { first: Position; since: number } | undefined;
  private stallLogged = false;
  private closed = false;
  private storeDown = false;

  private readonly horizons: HorizonReader;

  constructor(private readonly options: EventFeedOptions) {
    this.horizons = options.horizons ?? new HorizonReader(options.sql, options.logger);
  }

  /**
   * Adds a listener. It will get every event of its types positioned after `position`, and none
   * at or before it; `head` is the store's position just before it was added (a subscriber that
   * wants only what comes next skips up to there).
   */
  async register(listener: FeedListener): Promise<{ position: Position; head: Position }> {
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
    // everything after the position returned here is read with this listener's types included.
    // No new drain starts meanwhile (under a steady stream of messages one would always be
    // running, and the listener would wait for ever).
    this.holds++;
    try {
      while (this.draining) await this.draining;
      const head = await this.head();
      // Nobody listens, so the position may be old: move it to the head. (Only while still nobody
      // listens: a listener registered meanwhile was promised everything after its position.)
      if (this.listeners.size === 0 && compare(head, this.position) > 0) this.position = head;
      this.listeners.add(listener);
      return { position: this.position, head };
    } finally {
      if (--this.holds === 0 && this.again) {
        this.again = false;
        this.schedule();
      }
    }
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

  /** Look at the store now. */
  poke(): void {
    if (this.listeners.size) this.schedule();
  }

  get size(): number {
    return this.listeners.size;
  }

  /** How long events have been waiting for the horizon, in seconds (0 when none wait). */
  horizonLagSeconds(): number {
    return this.waiting === undefined ? 0 : (Date.now() - this.waiting.since) / 1000;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retry) clearTimeout(this.retry);
    for (const ref of this.typeRefs.values()) ref.unsubscribe();
    for (const unsubscribe of this.allTypeTopics.values()) unsubscribe();
    this.typeRefs.clear();
    this.allTypeTopics.clear();
    this.listeners.clear();
  }

  private async start(): Promise<void> {
    this.position = await this.head();
    this.timer = setInterval(() => {
      if (this.listeners.size) this.schedule();
    }, this.options.pollMs);
    this.timer.unref();
  }

  /** The position right after every event below the horizon. */
  private async head(): Promise<Position> {
    return { tx: await this.horizon(), id: 0n };
  }

  /**
   * Reads the horizon; rows read by a later statement below it are final. Public for the pull
   * queue, which hands out deliveries in this same order (src/dispatcher/pull-queue.ts).
   */
  async horizon(): Promise<bigint> {
    return (await this.horizons.read()).horizon;
  }

  private onMessage = (message: unknown): void => {
    let event: StoredEvent;
    try {
      event = fromMessage(message as EventMessage);
    } catch {
      // Not ours, or from another version: the store still has the event; the poll brings it.
      this.options.logger.warn("live feed ignored a malformed message");
      return;
    }
    if (compare(positionOf(event), this.position) <= 0) return;
    this.received.set(event.id, event);
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
    if (this.draining || this.holds) {
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

  /** Emits, in order, every event of the covered types after the position and below the horizon. */
  private async drain(): Promise<void> {
    // Event types created since the last look get their topic (until then the store brings them).
    if (this.allTypes && Date.now() - this.allTypesReadAt > ALL_TYPES_REFRESH_MS) await this.subscribeAllTypes();
    const types = this.coveredTypes();
    const from = this.position;
    // The horizon first, in a statement of its own: the rows are read with a later snapshot, in
    // which every transaction below the horizon has finished.
    const horizon = await this.horizon();
    const positions = await this.storedPositions(from, horizon, types);
    const missing = positions.filter((p) => !this.received.has(p.id)).map((p) => p.id);
    const loaded = missing.length ? await this.loadEvents(missing) : new Map<bigint, StoredEvent>();
    const ordered: StoredEvent[] = [];
    for (const p of positions) {
      const event = this.received.get(p.id) ?? loaded.get(p.id);
      if (event) ordered.push(event); // absent: deleted between the two reads
    }
    // A full page: go on from its last position at once. Otherwise everything below the horizon
    // has been seen: the position moves there even when no event of the covered types lies in
    // between, so it never goes stale.
    let last: Position;
    if (positions.length === PAGE) {
      last = positions.at(-1)!;
      this.again = true;
    } else {
      last = { tx: horizon, id: 0n };
    }
    if (compare(last, this.position) > 0) this.position = last;
    for (const [id, event] of this.received) if (compare(positionOf(event), this.position) <= 0) this.received.delete(id);
    if (ordered.length) this.emit(ordered);
    // Events wait for the horizon when the bus brought some that lie above it, or (the bus may
    // have brought none: a resume, another process's publishes with Redis down) the store holds some.
    this.watchHorizon(positions.length === PAGE ? undefined : (this.firstReceived() ?? (await this.firstStoredAbove(horizon, types))));
  }

  /** The first (by position) event the bus brought that is not emitted yet. */
  private firstReceived(): Position | undefined {
    let first: Position | undefined;
    for (const event of this.received.values()) {
      const at = positionOf(event);
      if (!first || compare(at, first) < 0) first = at;
    }
    return first;
  }

  /**
   * Events above the horizon wait for a transaction somewhere on this database (or, where the
   * cluster-wide horizon is used, anywhere on the server). `first` is the first of them (by
   * position): the bus's, or else the store's (the bus may have brought none: a resume, another
   * process's publishes while Redis is down). Its wait is measured from when it was first seen
   * waiting: while publishing goes on normally the first waiting event changes from one look to
   * the next, and only a transaction that stays open keeps the same one waiting. Look again soon,
   * and say once per stall which session holds it back.
   */
  private watchHorizon(first: Position | undefined): void {
    if (!first) {
      this.waiting = undefined;
      this.stallLogged = false;
      this.retryMs = HORIZON_RETRY_MS;
      return;
    }
    const now = Date.now();
    if (!this.waiting || compare(this.waiting.first, first) !== 0) {
      this.waiting = { first, since: now };
      this.stallLogged = false;
    }
    if (!this.retry && !this.closed) {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.schedule();
      }, this.retryMs);
      this.retry.unref();
      this.retryMs = Math.min(this.retryMs * 2, this.options.pollMs);
    }
    if (!this.stallLogged && now - this.waiting.since >= (this.options.horizonWarnMs ?? 5_000)) {
      this.stallLogged = true;
      this.logHolder().catch(() => undefined);
    }
  }

  private async logHolder(): Promise<void> {
    // (With the cluster-wide horizon the holder may be in another database: not shown here.)
    const [session] = await this.options.sql.query<Record<string, unknown>>(HOLDER);
    const [prepared] = await this.options.sql.query<Record<string, unknown>>(PREPARED);
    this.options.logger.warn(
      { waitingSeconds: this.horizonLagSeconds(), oldestTransaction: session ?? null, oldestPreparedTransaction: prepared ?? null },
      "live events wait for a transaction still open on the database server (live subscribers see them once it ends; idle_in_transaction_session_timeout ends idle ones)",
    );
  }

  private emit(events: StoredEvent[]): void {
    for (const listener of this.listeners) {
      const { types } = listener;
      const mine = types === "all" ? events : events.filter((e) => types.has(e.eventTypeId));
      if (mine.length) listener.push(mine);
    }
  }

  private coveredTypes(): number[] | "all" {
    return this.allTypes ? "all" : [...this.typeRefs.keys()];
  }

  /** The positions after `from` and below the horizon of these types (a page at most), in order. */
  private storedPositions(from: Position, horizon: bigint, types: number[] | "all"): Promise<Position[]> {
    return this.positions(`(${TX}, e.id) > ($1::bigint, $2::bigint) AND ${TX} < $3::bigint`, [from.tx, from.id, horizon], types, PAGE);
  }

  /** The first stored event of these types at or above the horizon, if any (one index probe). */
  private async firstStoredAbove(horizon: bigint, types: number[] | "all"): Promise<Position | undefined> {
    const [first] = await this.positions(`${TX} >= $1::bigint`, [horizon], types, 1);
    return first;
  }

  /** Positions of the events of these types that meet `condition` (on $1…), in order, `limit` at most. */
  private async positions(condition: string, bounds: bigint[], types: number[] | "all", limit: number): Promise<Position[]> {
    const params: unknown[] = bounds.map(String);
    let where = condition;
    if (types !== "all") {
      params.push(types);
      where += ` AND e.event_type_id = ANY($${params.length}::int[])`;
    }
    const rows = await this.options.sql.query<{ tx: string; id: string }>(
      `SELECT ${TX}::text AS tx, e.id::text AS id FROM events e WHERE ${where} ORDER BY ${TX}, e.id LIMIT ${limit}`,
      params,
    );
    return rows.map((r) => ({ tx: BigInt(r.tx), id: BigInt(r.id) }));
  }

  private async loadEvents(ids: bigint[]): Promise<Map<bigint, StoredEvent>> {
    const rows = await loadEventRows(this.options.sql, ids);
    return new Map(rows.map((e) => [e.id, e]));
  }
}

// The session whose transaction is oldest (it holds the horizon), and the oldest prepared
// transaction (which belongs to no session). No query text: it may carry data.
const HOLDER = `
SELECT pid, datname, usename, application_name, client_addr::text, state, backend_xid::text AS xid,
       xact_start, round(extract(epoch FROM now() - xact_start))::int AS open_seconds
FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND datname = current_database() ORDER BY age(backend_xid) DESC LIMIT 1`;
const PREPARED = `SELECT gid, database, owner, prepared, transaction::text AS xid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY age(transaction) DESC LIMIT 1`;

/** Reads events with their routing, in no particular order. */
export async function loadEventRows(sql: SqlClient, ids: readonly bigint[]): Promise<StoredEvent[]> {
  const rows = await sql.query<EventRow>(
    `SELECT ${EVENT_COLUMNS}
     FROM events e
     LEFT JOIN deliveries d ON d.event_id = e.id
     LEFT JOIN webhooks w ON w.id = d.webhook_id
     WHERE e.id = ANY($1::bigint[])
     GROUP BY e.id`,
    [ids.map(String)],
  );
  return rows.map(fromRow);
}

function fromRow(r: EventRow): StoredEvent {
  return {
    id: BigInt(r.id),
    txId: r.tx_id === null ? null : BigInt(r.tx_id),
    eventTypeId: r.event_type_id,
    eventName: r.event_name,
    customerId: r.customer_id,
    payload: JSON.parse(r.payload_text),
    payloadText: r.payload_text,
    idempotencyKey: r.idempotency_key,
    createdAt: new Date(r.created_at),
    webhookIds: r.webhook_ids.map(Number),
    serviceIds: r.service_ids.map(Number),
  };
}
