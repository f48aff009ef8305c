import type { Logger } from "../log.js";
import { topics, type Bus } from "../pubsub/bus.js";
import type { SqlClient } from "../store/database.js";
import { SNAPSHOT_XMAX, widenXid } from "../store/visibility-horizon.js";
import type { HorizonReader } from "./horizon.js";
import { compare, encodeAttemptCursor, type AttemptPoint, type Position } from "./position.js";

/** A recorded attempt as deliveryAttempted yields it: the DeliveryAttempt row and its cursor. */
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
  /** Resume after this attempt (deliveryAttempted's `after`). */
  readonly cursor: string;
}

export interface AttemptStreamDeps {
  readonly sql: SqlClient;
  readonly horizons: HorizonReader;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly pollMs: number;
  readonly clusterId: string;
}

/** Attempts read from the store at once at most; the stream reads the next page when this one is consumed. */
const PAGE = 200;
/** Id floors remembered per subscription (older ones are folded into its own floor). */
const MAX_FLOORS = 1_000;

/**
 * One half of a floor pair: the attempt sequence's last value, THEN the newest transaction id
 * running in this database (null: none). Any transaction that drew an attempt id up to that value
 * had its own id before the value was read (RECORD_BATCH locks rows, so has its id, before it
 * draws one), so it was either still running at the second read (at or below the newest id) or had
 * ended before the horizon statement that follows (below that statement's xmax). So every
 * transaction with an id above both stores only attempts above the value. The running ids are read
 * in a subquery that refers to the value, so they are read after it. (The snapshot's xmax alone
 * is not enough: a running transaction's id can lie above it; see src/store/visibility-horizon.ts.)
 * It needs the sequence to hand out ids one at a time (CACHE 1, as BIGSERIAL makes it; checked in
 * test/live/horizon.pg.test.ts): with a cache, a session could draw an id at or below the value
 * from its cache after the read.
 */
const FLOOR_VALUE = `
WITH v AS MATERIALIZED (
  SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('delivery_attempts', 'id')::regclass), 0) AS last,
    ${SNAPSHOT_XMAX} AS xmax
)
SELECT v.last::text AS last, (
  SELECT max(${widenXid("r.x", "v.xmax")}) FROM (
    SELECT backend_xid::text::bigint AS x FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL
    UNION ALL SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database = current_database()
  ) r WHERE v.last IS NOT NULL
)::text AS running
FROM v`;

const ATTEMPTS = `
SELECT a.id::text AS id, coalesce(a.tx_id, 0)::text AS tx, a.delivery_id::text AS delivery_id, a.attempt_number, a.started_at,
  a.duration_ms, a.request_url, a.request_method, a.request_headers, a.request_body, a.response_status, a.response_headers,
  a.response_body, a.response_body_encoding, a.error_class, a.error_message, a.succeeded
FROM delivery_attempts a
WHERE a.id > $1::bigint AND a.webhook_id = $2::int
  AND (coalesce(a.tx_id, 0), a.id) > ($3::bigint, $4::bigint) AND coalesce(a.tx_id, 0) < $5::bigint
ORDER BY coalesce(a.tx_id, 0), a.id
LIMIT ${PAGE}`;

interface AttemptRow {
  id: string;
  tx: string;
  delivery_id: string;
  attempt_number: number;
  started_at: Date | string;
  duration_ms: number;
  request_url: string;
  request_method: string;
  request_headers: unknown;
  request_body: string;
  response_status: number | null;
  response_headers: unknown;
  response_body: string | null;
  response_body_encoding: string | null;
  error_class: string | null;
  error_message: string | null;
  succeeded: boolean;
}

/**
 * One deliveryAttempted subscription: a webhook's attempts in the order of the transactions that
 * stored them (then id), read from the store, so a subscriber that resumes with a cursor gets
 * every attempt after it exactly once, whatever it missed while away.
 *
 * It is the event feed's rule (src/live/event-feed.ts) for one webhook: only attempts whose
 * transaction lies below the horizon are passed on, so none can appear behind the position
 * later. Attempts have no index on that position, so each read walks the primary key from an id
 * floor below which no attempt after the position can lie. The floor comes from pairs read
 * together (readFloorPair): the attempt sequence's value, then an id above every transaction that
 * could have drawn it; every transaction with an id at or above that one stores only attempts
 * above that value.
 *
 * The bus only says "look now" (the dispatcher publishes on the webhook's topic when someone
 * listens); a timer looks every pollMs as well, so with the bus down attempts still come, late by
 * up to that. The subscriber pulls: nothing is buffered beyond one page, so a slow consumer
 * costs no memory and loses nothing.
 */
export class AttemptStream implements AsyncIterableIterator<LiveAttempt> {
  private position: Position;
  /** Every attempt positioned after `position` has an id above this. */
  private floor: bigint;
  /** (transaction id, sequence value) pairs, oldest first: attempts of transactions at or above the id lie above the value. */
  private floors: { tx: bigint; value: bigint }[] = [];
  private queue: LiveAttempt[] = [];
  private more = true;
  private poked = false;
  private wake: (() => void) | undefined;
  private done = false;
  private storeDown = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly deps: AttemptStreamDeps,
    private readonly webhookId: number,
    start: AttemptPoint,
    private readonly onEnd: () => void,
  ) {
    this.position = start.position;
    this.floor = start.floor;
    this.unsubscribe = deps.bus.subscribe(topics.webhookAttempts(webhookId), () => this.poke());
    this.timer = setInterval(() => this.poke(), deps.pollMs);
    this.timer.unref();
  }

  /**
   * Opens a subscription: after `after` (a cursor's point), or, without one, from now: the
   * attempts of transactions that begin after this call (one still running now is not shown).
   */
  static async open(deps: AttemptStreamDeps, webhookId: number, after: AttemptPoint | undefined, onEnd: () => void): Promise<AttemptStream> {
    let start = after;
    if (!start) {
      const pair = await readFloorPair(deps);
      start = { position: { tx: pair.tx, id: 0n }, floor: pair.value };
    }
    return new AttemptStream(deps, webhookId, start, onEnd);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<LiveAttempt>> {
    for (;;) {
      if (this.done) return { done: true, value: undefined };
      const attempt = this.queue.shift();
      if (attempt) return { done: false, value: attempt };
      if (!this.more && !this.poked) await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.done) continue;
      this.poked = false;
      this.more = false;
      try {
        await this.read();
        if (this.storeDown) this.deps.logger.info({ webhookId: this.webhookId }, "live attempt log reads the store again");
        this.storeDown = false;
      } catch (error) {
        // The store is unreachable: the timer tries again; said once per outage.
        if (!this.storeDown) this.deps.logger.warn({ err: error, webhookId: this.webhookId }, "live attempt log cannot read the store; retrying");
        this.storeDown = true;
      }
    }
  }

  async return(): Promise<IteratorResult<LiveAttempt>> {
    if (!this.done) {
      this.done = true;
      clearInterval(this.timer);
      this.unsubscribe();
      this.onEnd();
      this.queue = [];
      this.wakeUp();
    }
    return { done: true, value: undefined };
  }

  private poke(): void {
    this.poked = true;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Queues the next page of attempts after the position and below the horizon, and moves the position on. */
  private async read(): Promise<void> {
    const pair = await readFloorPair(this.deps);
    this.floors.push({ tx: pair.tx, value: pair.value });
    if (this.floors.length > MAX_FLOORS) this.floors.shift(); // only less tight: this.floor still holds
    const rows = await this.deps.sql.query<AttemptRow>(ATTEMPTS, [
      this.floor.toString(),
      this.webhookId,
      this.position.tx.toString(),
      this.position.id.toString(),
      pair.horizon.toString(),
    ]);
    for (const row of rows) this.queue.push(this.toAttempt(row));
    if (rows.length === PAGE) {
      const last = rows.at(-1)!;
      this.position = { tx: BigInt(last.tx), id: BigInt(last.id) };
      this.more = true;
    } else {
      // Everything below the horizon has been read: move there even when nothing was found.
      const horizon = { tx: pair.horizon, id: 0n };
      if (compare(horizon, this.position) > 0) this.position = horizon;
    }
    // Fold the pairs the position has passed into the floor.
    this.floor = this.floorFor(this.position.tx);
    this.floors = this.floors.filter((f) => f.tx > this.position.tx);
  }

  /** The highest floor known to hold for every attempt of a transaction at or above `tx`. */
  private floorFor(tx: bigint): bigint {
    let floor = this.floor;
    for (const f of this.floors) if (f.tx <= tx && f.value > floor) floor = f.value;
    return floor;
  }

  private toAttempt(r: AttemptRow): LiveAttempt {
    const position = { tx: BigInt(r.tx), id: BigInt(r.id) };
    // Resuming after this attempt reads attempts positioned after it: their transactions are at or above its own.
    const cursor = encodeAttemptCursor(this.deps.clusterId, { position, floor: this.floorFor(position.tx) });
    return {
      id: position.id,
      deliveryId: BigInt(r.delivery_id),
      attemptNumber: r.attempt_number,
      startedAt: new Date(r.started_at),
      durationMs: r.duration_ms,
      requestUrl: r.request_url,
      requestMethod: r.request_method,
      requestHeaders: r.request_headers,
      requestBody: r.request_body,
      responseStatus: r.response_status,
      responseHeaders: r.response_headers,
      responseBody: r.response_body,
      responseBodyEncoding: r.response_body_encoding,
      errorClass: r.error_class,
      errorMessage: r.error_message,
      succeeded: r.succeeded,
      cursor,
    };
  }
}

/**
 * A floor pair: every transaction with an id at or above `tx` stores only attempts above `value`;
 * with the horizon read in the same (second) statement.
 */
async function readFloorPair(deps: AttemptStreamDeps): Promise<{ value: bigint; tx: bigint; horizon: bigint }> {
  if (!deps.horizons.sessionsReadable) {
    // Running ids unknown: a running transaction may have drawn any value, so the pair says
    // nothing (value 0) and reads walk the webhook's attempts from the start. Correct, only slower.
    const reading = await deps.horizons.read();
    return { value: 0n, tx: reading.xmax, horizon: reading.horizon };
  }
  let row: { last: string; running: string | null };
  try {
    [row] = (await deps.sql.query<{ last: string; running: string | null }>(FLOOR_VALUE, [], "hookgate_live_attempt_floor")) as [typeof row];
  } catch (error) {
    if (deps.horizons.sessionsUnreadable(error)) return readFloorPair(deps);
    throw error;
  }
  const reading = await deps.horizons.read();
  let tx = reading.xmax;
  if (row.running !== null && BigInt(row.running) + 1n > tx) tx = BigInt(row.running) + 1n;
  return { value: BigInt(row.last), tx, horizon: reading.horizon };
}
