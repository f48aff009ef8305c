import type { PrismaClient, SqlClient } from "../store/database.js";
import { HORIZON_OF_SNAPSHOT } from "../store/visibility-horizon.js";

/**
 * The delivery queue (table delivery_queue: the deliveries still to be attempted, each with
 * when it is due and who holds its lease), and the one owner of its SQL: claiming due
 * deliveries under a lease, recording a batch of attempts in one transaction, giving leases
 * back, parking and resuming a webhook's waiting deliveries, retrying one, and reading its
 * depth. Nothing outside this module writes SQL for the queue, except its pull side
 * (pull-queue.ts: a PULL webhook's rows, handed out to a consumer), which keeps the same lock
 * order: webhook, then deliveries in id order, then their queue rows.
 * Plain SQL because this is the hot path: one statement to claim a batch and one to record it,
 * whatever the batch size (and a second when a failure may disable a webhook).
 */
export interface ClaimedDelivery {
  readonly id: string;
  readonly eventId: string;
  readonly webhookId: number;
  readonly attemptCount: number;
  /** When the delivery was queued, in epoch milliseconds (retry windows count from here). */
  readonly createdAtMs: number;
  /** The event's time as the ISO 8601 string the body carries. */
  readonly eventTimestamp: string;
  readonly eventType: string;
  /** The payload's JSON text as received (as jsonb re-serialised it, for rows of older releases), spliced into the body unparsed. */
  readonly payload: string;
  /** The webhook's updated_at in epoch milliseconds: its prepared form is reused while this holds. */
  readonly webhookVersion: number;
  readonly leaseUntil: Date;
}

// Times come back as numbers and text, not timestamps: parsing dates per row is measurable here.
interface ClaimRow {
  id: string;
  event_id: string;
  webhook_id: number;
  attempt_count: number;
  created_ms: number | string;
  event_ms: number | string;
  event_type: string;
  payload: string;
  webhook_version: number | string;
}

// Delivery controls (README, "Ordering and rate limits"): more inputs of the claim's per-webhook
// step. Only the walked rows of a webhook with a control (FIFO, or maxDeliveriesPerSecond) enter
// these CTEs; for every other webhook they read nothing and write nothing.
//  - FIFO ("heads"): a FIFO webhook's line is its queue rows in (fifo_tx, fifo_event) order, on
//    the partial index delivery_queue_fifo_idx. Only the head is claimed, and only when its
//    lease is not running (one in flight, across every worker; a dead worker's head is due
//    again when its lease ends) and its queuing transaction is below the horizon (HORIZON_OF_SNAPSHOT):
//    every transaction that could still queue a delivery ahead of it has ended (as for the live
//    feed, README "Why nothing is missed"). A walked
//    row behind the head leaves the due range for FIFO_RECHECK; the record statement makes the
//    next head due when one finishes (PROMOTE_NEXT), so the line does not wait for the recheck,
//    which is only a safety net (a row queued while the webhook was switched to FIFO, say).
//  - Rate ("grants"): GCRA over webhook_rate_state.next_at (the theoretical arrival time), with a
//    bucket of one second's worth (at least one delivery): a claim may take as many as fit
//    between max(next_at, now) and now + 1 s, and moves next_at on by that many intervals. The
//    upsert runs on the row's latest version (ON CONFLICT re-reads it after a concurrent claim
//    commits), so two workers never grant the same interval twice. The walked rows left over
//    move out of the due range to their estimated turn, so a backlog does not fill the walks of
//    later claims (which would hold back the other webhooks).
//  - Rows left over (behind a FIFO head, or past the grant) are written in "deferred"; rows of a
//    FIFO head that is not ready yet stay as they are (due, for the next claim).
const FIFO_RECHECK = "interval '5 minutes'";
/** lease_until of a FIFO row the record statement has just made the next head (RECORD_BATCH_FIFO). */
const PROMOTED = "'-infinity'::timestamptz";
// The horizon (src/store/visibility-horizon.ts) as of this statement's own snapshot: rows queued
// below it are visible to this statement. A scalar subquery: run only when a FIFO head is looked at.
const DELIVERY_CONTROLS = `
heads AS MATERIALIZED (
  SELECT h.webhook_id, h.delivery_id, h.fifo_tx < ${HORIZON_OF_SNAPSHOT} AND (h.lease_until IS NULL OR h.lease_until <= $1) AS ready
  FROM (SELECT DISTINCT webhook_id FROM fair WHERE fifo) f
  CROSS JOIN LATERAL (
    SELECT q.webhook_id, q.delivery_id, q.fifo_tx, q.lease_until FROM delivery_queue q
    WHERE q.webhook_id = f.webhook_id AND q.fifo_tx IS NOT NULL
    ORDER BY q.fifo_tx, q.fifo_event, q.delivery_id LIMIT 1
  ) h
), wanted AS MATERIALIZED (
  -- The rows each control would let through, ranked within their webhook: a FIFO webhook's ready head only.
  SELECT fair.delivery_id, fair.webhook_id, fair.rate, CASE WHEN fair.fifo THEN 1 ELSE fair.n END AS turn
  FROM fair LEFT JOIN heads h ON h.webhook_id = fair.webhook_id
  WHERE (fair.fifo OR fair.rate IS NOT NULL) AND (NOT fair.fifo OR (h.delivery_id = fair.delivery_id AND h.ready))
), grants AS (
  INSERT INTO webhook_rate_state AS s (webhook_id, next_at, granted, rate)
  SELECT webhook_id, $1::timestamptz + make_interval(secs => least(count(*), floor(greatest(rate, 1)))::float8 / rate),
         least(count(*), floor(greatest(rate, 1)))::int, rate
  FROM wanted WHERE rate IS NOT NULL GROUP BY webhook_id, rate
  ON CONFLICT (webhook_id) DO UPDATE SET
    granted = greatest(0, least(EXCLUDED.granted, floor(extract(epoch FROM $1::timestamptz - greatest(s.next_at, $1::timestamptz)) * EXCLUDED.rate + greatest(EXCLUDED.rate, 1))))::int,
    next_at = greatest(s.next_at, $1::timestamptz) + make_interval(secs => greatest(0, least(EXCLUDED.granted,
      floor(extract(epoch FROM $1::timestamptz - greatest(s.next_at, $1::timestamptz)) * EXCLUDED.rate + greatest(EXCLUDED.rate, 1))))::float8 / EXCLUDED.rate),
    rate = EXCLUDED.rate
  RETURNING s.webhook_id, s.granted, s.next_at, s.rate
), allowed AS MATERIALIZED (
  SELECT fair.delivery_id FROM fair
  LEFT JOIN wanted ON wanted.delivery_id = fair.delivery_id
  LEFT JOIN grants g ON g.webhook_id = fair.webhook_id
  WHERE (NOT fair.fifo AND fair.rate IS NULL) OR (wanted.delivery_id IS NOT NULL AND (fair.rate IS NULL OR wanted.turn <= g.granted))
), deferred AS (
  UPDATE delivery_queue q SET
    due_at = CASE WHEN fair.fifo AND h.delivery_id IS NULL THEN $1::timestamptz -- no place in line yet: gets one below, stays due
      WHEN fair.fifo AND h.delivery_id <> q.delivery_id THEN $1::timestamptz + ${FIFO_RECHECK}
      ELSE g.next_at + make_interval(secs => greatest(0, coalesce(wanted.turn, fair.n) - g.granted - 1)::float8 / g.rate) END,
    -- A FIFO webhook's row queued without a place (while the webhook was being switched to FIFO) gets one.
    fifo_tx = CASE WHEN fair.fifo THEN coalesce(q.fifo_tx, 0) END,
    fifo_event = CASE WHEN fair.fifo THEN coalesce(q.fifo_event, q.delivery_id) END
  FROM fair
  LEFT JOIN heads h ON h.webhook_id = fair.webhook_id
  LEFT JOIN wanted ON wanted.delivery_id = fair.delivery_id
  LEFT JOIN grants g ON g.webhook_id = fair.webhook_id
  WHERE q.delivery_id = ANY(ARRAY(
      SELECT f.delivery_id FROM fair f WHERE (f.fifo OR f.rate IS NOT NULL) AND f.delivery_id <> ALL(ARRAY(SELECT delivery_id FROM allowed))))
    AND q.delivery_id = fair.delivery_id
    -- Left as it is: a FIFO head that is not ready yet, and a row just made the next head (RECORD_BATCH_FIFO).
    AND NOT (fair.fifo AND h.delivery_id IS NOT DISTINCT FROM fair.delivery_id AND wanted.delivery_id IS NULL)
    AND q.lease_until IS DISTINCT FROM ${PROMOTED}
),`;

// The queue holds only deliveries still to be attempted, so "due" is one ordered walk of its
// (due_at, delivery_id) index that stops after $2 rows. A claim moves due_at to the end of the
// lease: a delivery in flight is not due (the next claim's walk never passes over it), and a
// delivery whose worker died is due again, by the same rule as any other, the moment its lease
// ends. lease_until is the lease's token: only the worker holding it may record the outcome.
// Nothing in deliveries is written here.
//
// Fairness (per-webhook slots): the claiming worker says which webhooks have no slot left with
// it ($4: skipped by the walk) and how many each other webhook it holds may still take ($5 ids,
// $6 slots; any other webhook: $7). Of the rows the walk locks, only those within their
// webhook's slots are claimed; the rest stay due, untouched, for the next claim or another
// worker. So one webhook's backlog takes at most its slots, and once they are full the walk
// passes over it to the others. FIFO webhooks and per-webhook rate limits are more inputs of
// this same step (DELIVERY_CONTROLS, above).
// PULL webhooks are left out before the walk: their rows never have a due_at (the queuing
// trigger and a guard trigger see to it: migration 20261130150000_pull_webhooks), so this walk,
// and the previous release's, never meets them. pull-queue.ts hands them out instead.
// $8: deliveries this worker has sent and not yet recorded whose lease has run out: never taken
// again by the same worker (it would send them twice); another worker may, as with any lease.
const CLAIM = `
WITH due AS (
  SELECT q.delivery_id, q.webhook_id, q.due_at, w.updated_at AS webhook_updated_at,
         w.ordering = 'FIFO' AS fifo, w.max_deliveries_per_second AS rate
  FROM delivery_queue q
  JOIN webhooks w ON w.id = q.webhook_id
  WHERE q.due_at <= $1
    AND w.is_active
    AND q.webhook_id <> ALL($4::int[])
    AND q.delivery_id <> ALL($8::bigint[])
  ORDER BY q.due_at, q.delivery_id
  LIMIT $2
  FOR UPDATE OF q SKIP LOCKED
), fair AS MATERIALIZED (
  SELECT ranked.delivery_id, ranked.webhook_id, ranked.webhook_updated_at, ranked.fifo, ranked.rate, ranked.n
  FROM (
    SELECT due.*, row_number() OVER (PARTITION BY due.webhook_id ORDER BY due.due_at, due.delivery_id) AS n
    FROM due
  ) ranked
  LEFT JOIN unnest($5::int[], $6::int[]) AS held(webhook_id, slots) ON held.webhook_id = ranked.webhook_id
  WHERE ranked.n <= COALESCE(held.slots, $7::int)
),${DELIVERY_CONTROLS}
claimed AS (
  -- = ANY(ARRAY(...)) keeps this an index lookup; a join with the CTE would scan the whole queue.
  UPDATE delivery_queue q SET lease_until = $3, due_at = $3
  WHERE q.delivery_id = ANY(ARRAY(SELECT delivery_id FROM allowed))
  RETURNING q.delivery_id
)
-- Times as epoch milliseconds: formatting them is cheaper in the dispatcher than here. The type
-- is the name the event was published under (as live subscribers get it).
SELECT d.id::text AS id, d.event_id::text AS event_id, d.webhook_id, d.attempt_count,
       (extract(epoch FROM d.created_at) * 1000)::float8 AS created_ms,
       (extract(epoch FROM e.created_at) * 1000)::float8 AS event_ms,
       e.event_name AS event_type, coalesce(e.payload_text, e.payload::text) AS payload,
       (extract(epoch FROM fair.webhook_updated_at) * 1000)::float8 AS webhook_version
FROM claimed c
JOIN fair ON fair.delivery_id = c.delivery_id
JOIN deliveries d ON d.id = c.delivery_id
JOIN events e ON e.id = d.event_id
ORDER BY d.id`;

/** What a claim may take, per webhook, and what it must leave alone. */
export interface ClaimLimits {
  /** Webhooks with no slot left with this worker: not claimed at all. */
  readonly fullWebhooks: readonly number[];
  /** Webhooks this worker holds some of, and how many more of each it may take. */
  readonly heldWebhooks: readonly number[];
  readonly heldSlots: readonly number[];
  /** How many of any other webhook one claim may take. */
  readonly slotsPerWebhook: number;
  /** This worker's own sent-but-unrecorded deliveries whose lease has run out. */
  readonly unrecorded: readonly string[];
}

const NO_LIMITS: ClaimLimits = { fullWebhooks: [], heldWebhooks: [], heldSlots: [], slotsPerWebhook: 2_147_483_647, unrecorded: [] };

/** Claims up to `limit` due deliveries of active webhooks; nobody else takes them until the lease ends. */
export async function claimDue(
  sql: SqlClient,
  now: Date,
  limit: number,
  leaseMs: number,
  limits: ClaimLimits = NO_LIMITS,
): Promise<ClaimedDelivery[]> {
  const leaseUntil = new Date(now.getTime() + leaseMs);
  const rows = await sql.query<ClaimRow>(
    CLAIM,
    [
      now.toISOString(),
      limit,
      leaseUntil.toISOString(),
      limits.fullWebhooks,
      limits.heldWebhooks,
      limits.heldSlots,
      limits.slotsPerWebhook,
      limits.unrecorded,
    ],
    "hookgate_claim",
  );
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    webhookId: Number(r.webhook_id),
    attemptCount: Number(r.attempt_count),
    createdAtMs: Number(r.created_ms),
    eventTimestamp: new Date(Number(r.event_ms)).toISOString(),
    eventType: r.event_type,
    payload: r.payload,
    webhookVersion: Number(r.webhook_version),
    leaseUntil,
  }));
}

/** One finished attempt and what it means for its delivery. */
export interface AttemptRecord {
  readonly deliveryId: string;
  readonly eventId: string;
  readonly webhookId: number;
  readonly attemptNumber: number;
  readonly leaseUntil: Date;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly requestUrl: string;
  readonly requestMethod: string;
  /** As logged: the webhook's headers (auth and extra header values redacted) and the Standard Webhooks ones. */
  readonly requestHeaders: Record<string, string>;
  readonly requestBody: string;
  readonly responseStatus: number | null;
  readonly responseHeaders: Record<string, string> | null;
  readonly responseBody: string | null;
  /** null: responseBody is the bytes as text; "base64": the bytes were not UTF-8 text without NUL. */
  readonly responseBodyEncoding: "base64" | null;
  readonly errorClass: string | null;
  readonly errorMessage: string | null;
  readonly succeeded: boolean;
  /** SUCCEEDED, RETRYING (with nextAttemptAt) or FAILED. */
  readonly status: "SUCCEEDED" | "RETRYING" | "FAILED";
  readonly nextAttemptAt: Date | null;
  /**
   * What requestHeaders is made of, as it travels to the store: the webhook's own headers as
   * logged (one object, shared by every attempt made with that version of the webhook), then
   * webhook-id (the event id), webhook-timestamp and webhook-signature.
   */
  readonly webhookHeaders: Readonly<Record<string, string>>;
  readonly signatureTimestamp: number;
  readonly signature: string;
  /** The webhook's FIFO failure action when it delivers in order; null for an unordered webhook. */
  readonly fifo?: "CONTINUE" | "PAUSE" | null;
}

export interface AutoDisableRule {
  /** Failed attempts in a row; 0 = off. */
  readonly afterFailures: number;
  /** Failed attempts in a row after which the webhook is reported failing (once per streak); 0 = off. */
  readonly failingAfterFailures?: number;
  /** Days of nothing but failures; 0 = off. */
  readonly afterDays: number;
}

export interface DisabledWebhook {
  readonly id: number;
  readonly reason: string;
}

/** A webhook whose failure streak has just reached the failing threshold. */
export interface FailingWebhook {
  readonly id: number;
  readonly consecutiveFailures: number;
  readonly failingSince: Date | null;
  readonly reportedAt: Date;
}

/** What recording a batch did to webhooks, beyond the deliveries. */
export interface RecordOutcome {
  readonly disabled: DisabledWebhook[];
  readonly failing: FailingWebhook[];
}

// One statement records a whole batch, atomically and in one round trip: the attempt rows, the
// deliveries moved on (out of the queue, or back into it for a retry), and each webhook's
// failure streak.
//  - The attempts travel compactly ($1): short keys, no nulls, times as epoch milliseconds, and
//    what every attempt to one webhook shares (URL, method, its logged headers) once per batch
//    ($2) rather than once per row; the stored rows are the same as ever. As json, not jsonb:
//    taking it apart costs about a quarter less (jsonb builds and sorts every object first).
//  - Only the worker still holding the lease (its queue row's lease_until) moves a delivery on.
//    A worker whose lease ran out (and whose delivery another worker may have taken) still logs
//    its attempt but changes nothing else.
//  - Locks in one order, the order a deletion takes them: the webhooks whose failure streak
//    changes ("streaks"), then the deliveries in id order ("locked"), then their queue rows. (A
//    webhook's deletion locks it, cascades to its deliveries, locking each, and each delivery's
//    delete trigger then takes its queue row; retryDelivery and parking also take a delivery
//    before its queue row.) In another order the two could deadlock.
//  - The lock on each delivery is also what keeps an attempt from outliving its delivery: a
//    deletion waits for this transaction and then deletes the attempt with it (the delete trigger
//    reads after the wait). A delivery deleted before this statement is not locked, and its
//    attempt is not logged; the batch still succeeds. (No foreign key: its check cost a lookup
//    and a row lock per attempt.)
//  - = ANY(...) keeps the lookups on indexes whatever the size of the tables.
//  - A healthy webhook that stays healthy is neither locked nor rewritten.
const RECORD_BATCH_CTES = `
WITH w AS (
  SELECT * FROM json_to_recordset($2::json) AS w(i int, id int, u text, m text, h jsonb)
), r AS MATERIALIZED (
  SELECT r.d AS delivery_id, w.id AS webhook_id, r.n AS attempt_number, to_timestamp(r.s / 1000.0) AS started_at,
    r.ms AS duration_ms, w.u AS request_url, w.m AS request_method,
    w.h || jsonb_build_object('webhook-id', r.e::text, 'webhook-timestamp', r.ts::text, 'webhook-signature', r.g) AS request_headers,
    r.b AS request_body, r.st AS response_status, r.rh AS response_headers, r.rb AS response_body,
    r.re AS response_body_encoding, r.ec AS error_class, r.em AS error_message, r.ok AS succeeded, r.x AS status, r.na AS next_attempt_at, r.lu AS lease_until
  FROM json_to_recordset($1::json) AS r(d bigint, w int, n int, s bigint, ms int, e bigint, ts bigint, g text, b text,
    st int, rh jsonb, rb text, re text, ec text, em text, ok boolean, x text, na timestamptz, lu timestamptz)
  JOIN w ON w.i = r.w
), streaks AS MATERIALIZED (
  SELECT w.id FROM webhooks w
  JOIN jsonb_to_recordset($3::jsonb) AS h(webhook_id int, trailing_failures int) ON h.webhook_id = w.id
  WHERE h.trailing_failures > 0 OR w.consecutive_failures <> 0 OR w.failing_since IS NOT NULL
  ORDER BY w.id
  FOR NO KEY UPDATE OF w
), locked AS MATERIALIZED (
  -- (SELECT count(*) FROM streaks) makes the webhook locks come first.
  SELECT id FROM deliveries
  WHERE id = ANY($4::bigint[]) AND (SELECT count(*) FROM streaks) >= 0
  ORDER BY id
  FOR NO KEY UPDATE
), finished AS (
  DELETE FROM delivery_queue q USING r
  WHERE q.delivery_id = ANY(ARRAY(SELECT id FROM locked)) AND q.delivery_id = r.delivery_id
    AND q.lease_until = r.lease_until AND r.status <> 'RETRYING'
  RETURNING q.delivery_id
), retrying AS (
  UPDATE delivery_queue q SET due_at = r.next_attempt_at, lease_until = NULL
  FROM r
  WHERE q.delivery_id = ANY(ARRAY(SELECT id FROM locked)) AND q.delivery_id = r.delivery_id
    AND q.lease_until = r.lease_until AND r.status = 'RETRYING'
  RETURNING q.delivery_id
), moved AS (
  UPDATE deliveries d
  SET status = r.status::"DeliveryStatus", attempt_count = r.attempt_number, next_attempt_at = r.next_attempt_at,
      last_attempt_at = r.started_at, updated_at = $5
  FROM r
  WHERE d.id = ANY(ARRAY(SELECT delivery_id FROM finished UNION ALL SELECT delivery_id FROM retrying)) AND d.id = r.delivery_id
), logged AS (
  INSERT INTO delivery_attempts (delivery_id, webhook_id, attempt_number, started_at, duration_ms, request_url,
    request_method, request_headers, request_body, response_status, response_headers, response_body,
    response_body_encoding, error_class, error_message, succeeded)
  SELECT delivery_id, webhook_id, attempt_number, started_at, duration_ms, request_url, request_method,
    request_headers, request_body, response_status, response_headers, response_body, response_body_encoding,
    error_class, error_message, succeeded
  FROM r WHERE r.delivery_id IN (SELECT id FROM locked)
), health AS (
  UPDATE webhooks w
  SET consecutive_failures = CASE WHEN h.succeeded THEN h.trailing_failures ELSE w.consecutive_failures + h.trailing_failures END,
      failing_since = CASE
        WHEN h.trailing_failures = 0 THEN NULL
        WHEN h.succeeded THEN h.first_trailing_failure_at
        ELSE COALESCE(w.failing_since, h.first_trailing_failure_at) END,
      -- A success ends the streak: the next one is reported again (hookgate.webhook.failing).
      failing_notified_at = CASE WHEN h.succeeded THEN NULL ELSE w.failing_notified_at END
  FROM jsonb_to_recordset($3::jsonb) AS h(webhook_id int, succeeded boolean, trailing_failures int, first_trailing_failure_at timestamptz)
  WHERE w.id = h.webhook_id
    AND (h.trailing_failures > 0 OR w.consecutive_failures <> 0 OR w.failing_since IS NOT NULL)
)`;
const RECORD_BATCH = `${RECORD_BATCH_CTES}
SELECT 1`;

// A batch with attempts to FIFO webhooks ($6: those whose line goes on) also makes each one's
// next delivery due at once when its head has finished (succeeded, or failed finally), in the
// same statement: the line never waits for FIFO_RECHECK, and a worker dying after the record
// cannot leave it waiting either. The next head is the first row of the line that is not the
// one just finished (the statement still sees it); a row in flight or parked is left alone.
// It is marked (lease_until PROMOTED: no lease, so it is claimable, and any claim overwrites it)
// because a claim whose snapshot was taken before this commits still sees the finished head and
// would take the next one for a row behind it; the mark is on the row itself, which that claim
// reads at its latest version, so it leaves the row due (DELIVERY_CONTROLS, "deferred").
const RECORD_BATCH_FIFO = `${RECORD_BATCH_CTES}, promoted AS (
  UPDATE delivery_queue q SET due_at = $5::timestamptz, lease_until = ${PROMOTED}
  FROM (SELECT DISTINCT r.webhook_id FROM r WHERE r.delivery_id IN (SELECT delivery_id FROM finished) AND r.webhook_id = ANY($6::int[])) f
  CROSS JOIN LATERAL (
    SELECT n.delivery_id FROM delivery_queue n
    WHERE n.webhook_id = f.webhook_id AND n.fifo_tx IS NOT NULL AND n.delivery_id NOT IN (SELECT delivery_id FROM finished)
    ORDER BY n.fifo_tx, n.fifo_event, n.delivery_id LIMIT 1
  ) next
  WHERE q.delivery_id = next.delivery_id AND q.due_at IS NOT NULL AND q.lease_until IS NULL
)
SELECT 1`;

/** The parameters of RECORD_BATCH: rows, webhooks, ids. */
function encodeAttempts(records: readonly AttemptRecord[]): { rows: string; webhooks: string; ids: string } {
  // Keyed by the shared logged-headers object; URL, method and webhook id are checked too.
  const byHeaders = new Map<object, { i: number; id: number; u: string; m: string }>();
  const webhooks: string[] = [];
  const isoOf = new Map<Date, string>(); // one lease end per claim: turned into text once
  let rows = "";
  let ids = "";
  for (let k = 0; k < records.length; k++) {
    const r = records[k]!;
    let w = byHeaders.get(r.webhookHeaders);
    if (!w || w.id !== r.webhookId || w.u !== r.requestUrl || w.m !== r.requestMethod) {
      w = { i: webhooks.length, id: r.webhookId, u: r.requestUrl, m: r.requestMethod };
      webhooks.push(JSON.stringify({ ...w, h: r.webhookHeaders }));
      byHeaders.set(r.webhookHeaders, w);
    }
    let lease = isoOf.get(r.leaseUntil);
    if (lease === undefined) isoOf.set(r.leaseUntil, (lease = r.leaseUntil.toISOString()));
    // Ids are digits (bigint as text), the signature is base64 with "v1," and spaces, the
    // status an enum name, times ISO 8601: none needs JSON escaping.
    let row = `${k ? "," : ""}{"d":${r.deliveryId},"w":${w.i},"n":${r.attemptNumber},"s":${r.startedAt.getTime()},"ms":${r.durationMs},"e":${r.eventId},"ts":${r.signatureTimestamp},"g":"${r.signature}","b":${JSON.stringify(r.requestBody)},"ok":${r.succeeded},"x":"${r.status}","lu":"${lease}"`;
    if (r.responseStatus !== null) row += `,"st":${r.responseStatus}`;
    if (r.responseHeaders !== null) row += `,"rh":${JSON.stringify(r.responseHeaders)}`;
    if (r.responseBody !== null) row += `,"rb":${JSON.stringify(r.responseBody)}`;
    if (r.responseBodyEncoding !== null) row += `,"re":"${r.responseBodyEncoding}"`;
    if (r.errorClass !== null) row += `,"ec":${JSON.stringify(r.errorClass)}`;
    if (r.errorMessage !== null) row += `,"em":${JSON.stringify(r.errorMessage)}`;
    if (r.nextAttemptAt !== null) row += `,"na":"${r.nextAttemptAt.toISOString()}"`;
    rows += row + "}";
    ids += k ? `,${r.deliveryId}` : r.deliveryId;
  }
  return { rows: `[${rows}]`, webhooks: `[${webhooks.join(",")}]`, ids: `{${ids}}` };
}

/**
 * The CTEs that park the waiting (PENDING or RETRYING) deliveries of the webhooks `whose`
 * selects: out of the due range (due_at NULL, and no next attempt shown), so claims do not walk
 * over them until the webhook is enabled again (RESUME_DELIVERIES). Deliveries in flight (a
 * lease not yet ended at $2, now) are left to their workers. Shared by every statement that
 * switches a webhook off, so their lock order is written once: the webhook (locked by the
 * caller's statement, when it updates it), its deliveries in id order, then their queue rows
 * (the order of RECORD_BATCH and of a deletion). The deliveries are found through their
 * (webhook_id, id) index.
 */
function parkWaiting(whose: string): string {
  return `waiting AS MATERIALIZED (
  SELECT id FROM deliveries
  WHERE ${whose} AND status IN ('PENDING', 'RETRYING')
  ORDER BY id
  FOR NO KEY UPDATE
), parked AS (
  UPDATE delivery_queue q SET due_at = NULL
  WHERE q.delivery_id = ANY(ARRAY(SELECT id FROM waiting)) AND (q.lease_until IS NULL OR q.lease_until < $2::timestamptz)
  RETURNING q.delivery_id
), shown AS (
  UPDATE deliveries d SET next_attempt_at = NULL WHERE d.id = ANY(ARRAY(SELECT delivery_id FROM parked))
)`;
}

// Disabling a failing webhook also parks its waiting deliveries (parkWaiting).
const DISABLE_FAILING = `
WITH disabled AS (
UPDATE webhooks
SET is_active = false, disabled_at = $2,
    disabled_reason = CASE
      WHEN $3::int > 0 AND consecutive_failures >= $3::int
        THEN 'disabled after ' || consecutive_failures || ' failed delivery attempts in a row'
      ELSE 'disabled: every delivery attempt has failed since ' || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END
WHERE id = ANY($1::int[]) AND is_active AND consecutive_failures > 0
  AND (($3::int > 0 AND consecutive_failures >= $3::int)
    OR ($4::float8 > 0 AND failing_since <= $2::timestamptz - make_interval(secs => $4::float8 * 86400)))
RETURNING id, disabled_reason
), ${parkWaiting("webhook_id = ANY(ARRAY(SELECT id FROM disabled))")}
SELECT id, disabled_reason FROM disabled`;

// A receiver that answers 410 Gone asks to be forgotten: its webhook is disabled at once (the
// delivery itself was recorded FAILED, without retries), and its waiting deliveries are parked
// as DISABLE_FAILING parks them. $1 the webhooks, $2 now.
const DISABLE_GONE = `
WITH disabled AS (
UPDATE webhooks
SET is_active = false, disabled_at = $2,
    disabled_reason = 'disabled: the receiver answered 410 Gone at '
      || to_char($2::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' (it asked to be forgotten)'
WHERE id = ANY($1::int[]) AND is_active
RETURNING id, disabled_reason
), ${parkWaiting("webhook_id = ANY(ARRAY(SELECT id FROM disabled))")}
SELECT id, disabled_reason FROM disabled`;

// A FIFO webhook that pauses on a final failure (fifoOnFailure: PAUSE) is disabled, and its
// waiting deliveries parked, as DISABLE_GONE does. $1 [{webhook_id, delivery_id}], $2 now.
const DISABLE_PAUSED = `
WITH disabled AS (
UPDATE webhooks w
SET is_active = false, disabled_at = $2,
    disabled_reason = 'paused: delivery ' || p.delivery_id || ' failed finally, and this FIFO webhook pauses then (fifoOnFailure: PAUSE);'
      || ' the deliveries after it wait. Retry it (retryDelivery) or not, then enable the webhook (isActive: true) to go on'
FROM (SELECT DISTINCT ON (webhook_id) webhook_id, delivery_id FROM jsonb_to_recordset($1::jsonb) AS p(webhook_id int, delivery_id text) ORDER BY webhook_id) p
WHERE w.id = p.webhook_id AND w.is_active
RETURNING w.id, w.disabled_reason
), ${parkWaiting("webhook_id = ANY(ARRAY(SELECT id FROM disabled))")}
SELECT id, disabled_reason FROM disabled`;

// A webhook whose failure streak has reached the threshold ($3), not yet reported in this
// streak: reported now, once (the row lock makes a second recorder see it reported).
const MARK_FAILING = `
UPDATE webhooks SET failing_notified_at = $2
WHERE id = ANY($1::int[]) AND is_active AND failing_notified_at IS NULL AND consecutive_failures >= $3::int
RETURNING id, consecutive_failures, failing_since`;

const NOTHING: RecordOutcome = { disabled: [], failing: [] };

/**
 * Writes attempts, moves deliveries on and tracks webhook health (one statement), then pauses,
 * reports and disables failing webhooks.
 */
export async function recordAttempts(
  sql: SqlClient,
  records: readonly AttemptRecord[],
  now: Date,
  rule: AutoDisableRule,
): Promise<RecordOutcome> {
  if (!records.length) return NOTHING;
  const { rows, webhooks, ids } = encodeAttempts(records);
  const health = JSON.stringify(webhookHealth(records));
  const at = now.toISOString();
  let fifo: Set<number> | undefined;
  let paused: { webhook_id: number; delivery_id: string }[] | undefined;
  for (const r of records) {
    if (!r.fifo) continue;
    // A head that failed finally in a webhook that pauses: its line is not moved on (it is parked below).
    if (r.fifo === "PAUSE" && r.status === "FAILED") (paused ??= []).push({ webhook_id: r.webhookId, delivery_id: r.deliveryId });
    else (fifo ??= new Set()).add(r.webhookId);
  }
  if (fifo) await sql.query(RECORD_BATCH_FIFO, [rows, webhooks, health, ids, at, [...(fifo ?? [])]], "hookgate_record_fifo");
  else await sql.query(RECORD_BATCH, [rows, webhooks, health, ids, at], "hookgate_record");
  // Only a failure can push a webhook over a limit.
  if (records.every((r) => r.succeeded)) return NOTHING;
  type Disabled = { id: number; disabled_reason: string };
  const disabled: Disabled[] = [];
  const goneIds = [...new Set(records.filter((r) => r.responseStatus === GONE).map((r) => r.webhookId))];
  if (goneIds.length) disabled.push(...(await sql.query<Disabled>(DISABLE_GONE, [goneIds, at])));
  if (paused) disabled.push(...(await sql.query<Disabled>(DISABLE_PAUSED, [JSON.stringify(paused), at])));
  const failedIds = [...new Set(records.filter((r) => !r.succeeded && !goneIds.includes(r.webhookId)).map((r) => r.webhookId))];
  const failing: FailingWebhook[] = [];
  if (rule.failingAfterFailures && failedIds.length) {
    const marked = await sql.query<{ id: number; consecutive_failures: number; failing_since: Date | string | null }>(MARK_FAILING, [
      failedIds,
      at,
      rule.failingAfterFailures,
    ]);
    for (const m of marked) {
      failing.push({ id: Number(m.id), consecutiveFailures: Number(m.consecutive_failures), failingSince: m.failing_since ? new Date(m.failing_since) : null, reportedAt: now });
    }
  }
  if ((rule.afterFailures || rule.afterDays) && failedIds.length) {
    disabled.push(...(await sql.query<Disabled>(DISABLE_FAILING, [failedIds, at, rule.afterFailures, rule.afterDays])));
  }
  return { disabled: disabled.map((d) => ({ id: Number(d.id), reason: d.disabled_reason })), failing };
}

/** The status a receiver answers to be forgotten: no retries, and its webhook is disabled. */
export const GONE = 410;

function webhookHealth(records: readonly AttemptRecord[]) {
  if (records.every((r) => r.succeeded)) {
    // The common case: every streak ends (or stays) at zero.
    const ids = [...new Set(records.map((r) => r.webhookId))].sort((a, b) => a - b);
    return ids.map((webhook_id) => ({ webhook_id, succeeded: true, trailing_failures: 0, first_trailing_failure_at: null }));
  }
  const byWebhook = new Map<number, { succeeded: boolean; trailing_failures: number; first_trailing_failure_at: string | null }>();
  const ordered = [...records].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  for (const r of ordered) {
    const h = byWebhook.get(r.webhookId) ?? { succeeded: false, trailing_failures: 0, first_trailing_failure_at: null };
    if (r.succeeded) {
      h.succeeded = true;
      h.trailing_failures = 0;
      h.first_trailing_failure_at = null;
    } else {
      h.trailing_failures += 1;
      h.first_trailing_failure_at ??= r.startedAt.toISOString();
    }
    byWebhook.set(r.webhookId, h);
  }
  // In id order, so concurrent recorders lock webhook rows in the same order (no deadlock).
  return [...byWebhook].sort((a, b) => a[0] - b[0]).map(([webhook_id, h]) => ({ webhook_id, ...h }));
}

/** Gives claimed deliveries back, due at once for any worker (shutdown before they were sent). */
export async function releaseLeases(
  sql: SqlClient,
  deliveries: readonly { id: string; leaseUntil: Date }[],
  now: Date,
): Promise<void> {
  if (!deliveries.length) return;
  await sql.query(
    `UPDATE delivery_queue q SET lease_until = NULL, due_at = $3
     FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, lease_until timestamptz)
     WHERE q.delivery_id = ANY($2::bigint[]) AND q.delivery_id = r.id AND q.lease_until = r.lease_until`,
    [
      JSON.stringify(deliveries.map((d) => ({ id: d.id, lease_until: d.leaseUntil.toISOString() }))),
      deliveries.map((d) => d.id),
      now.toISOString(),
    ],
  );
}

// Switching a webhook off parks its waiting deliveries ($1 the webhook, $2 now); on makes
// the parked ones due at once. Run in the caller's transaction. Both lock the deliveries
// before their queue rows, the order used everywhere.
const PARK_DELIVERIES = `
WITH ${parkWaiting("webhook_id = $1")}
SELECT 1`;

const RESUME_DELIVERIES = `
WITH waiting AS MATERIALIZED (
  SELECT id FROM deliveries WHERE webhook_id = $1 AND status IN ('PENDING', 'RETRYING') ORDER BY id FOR NO KEY UPDATE
), resumed AS (
  UPDATE delivery_queue SET due_at = $2::timestamptz, lease_until = NULL
  WHERE delivery_id = ANY(ARRAY(SELECT id FROM waiting)) AND due_at IS NULL
  RETURNING delivery_id
)
UPDATE deliveries SET next_attempt_at = $2::timestamptz WHERE id = ANY(ARRAY(SELECT delivery_id FROM resumed))`;

/** Raw SQL on the API's Prisma client, or inside one of its interactive transactions. */
export type PrismaSql = Pick<PrismaClient, "$executeRawUnsafe" | "$queryRawUnsafe">;

/**
 * A webhook switched off: its waiting deliveries leave the due range (no next attempt shown);
 * those a worker is sending are left to it. Run in the transaction that switches it off.
 */
export async function parkDeliveries(tx: PrismaSql, webhookId: number, now: Date): Promise<void> {
  await tx.$executeRawUnsafe(PARK_DELIVERIES, webhookId, now);
}

/** A webhook switched on: its parked deliveries are due at once. Run in the transaction that switches it on. */
export async function resumeDeliveries(tx: PrismaSql, webhookId: number, now: Date): Promise<void> {
  await tx.$executeRawUnsafe(RESUME_DELIVERIES, webhookId, now);
}

// Switching a webhook to FIFO ($1 the webhook, $3 true) gives its waiting deliveries a place in
// line ahead of anything queued later (fifo_tx 0, in event order); switching it off ($3 false)
// takes their places away and makes those waiting behind a head due again (their delivery's own
// next attempt, or now). Run in the caller's transaction, deliveries locked before queue rows.
// A waiting delivery moved out of the due range by a control (behind a FIFO head, or to its
// turn under a rate limit) is due again at its own next attempt (now, unless it is retrying).
const WAITING = `WITH waiting AS MATERIALIZED (
  SELECT id, event_id, next_attempt_at FROM deliveries WHERE webhook_id = $1 AND status IN ('PENDING', 'RETRYING') ORDER BY id FOR NO KEY UPDATE
)`;
const DUE_AGAIN = `CASE WHEN q.due_at IS NULL OR q.lease_until IS NOT NULL THEN q.due_at
    ELSE least(q.due_at, greatest(coalesce(w.next_attempt_at, $2::timestamptz), $2::timestamptz)) END`;

const SET_ORDERING = `${WAITING}
UPDATE delivery_queue q SET
  fifo_tx = CASE WHEN $3::boolean THEN coalesce(q.fifo_tx, 0) END,
  fifo_event = CASE WHEN $3::boolean THEN coalesce(q.fifo_event, w.event_id) END,
  due_at = CASE WHEN $3::boolean THEN q.due_at ELSE ${DUE_AGAIN} END
FROM waiting w
WHERE q.delivery_id = ANY(ARRAY(SELECT id FROM waiting)) AND q.delivery_id = w.id`;

/** A webhook switched to FIFO or back: its waiting deliveries' places in line. Run in the transaction that switches it. */
export async function setOrdering(tx: PrismaSql, webhookId: number, fifo: boolean, now: Date): Promise<void> {
  await tx.$executeRawUnsafe(SET_ORDERING, webhookId, now, fifo);
}

const RELEASE_DEFERRED = `${WAITING}
UPDATE delivery_queue q SET due_at = ${DUE_AGAIN}
FROM waiting w
WHERE q.delivery_id = ANY(ARRAY(SELECT id FROM waiting)) AND q.delivery_id = w.id`;

/**
 * A webhook's rate limit changed: the deliveries the old limit moved to later turns are due again
 * (the claims spread them anew). Run in the transaction that changes it.
 */
export async function releaseDeferred(tx: PrismaSql, webhookId: number, now: Date): Promise<void> {
  await tx.$executeRawUnsafe(RELEASE_DEFERRED, webhookId, now);
}

// Parameters: $1 the delivery, $2 now. The delivery is locked first (the order used
// everywhere), which also re-reads its status if a worker has just recorded it.
// A delivery of a FIFO webhook queued again joins the end of its line (this transaction's
// place); one still in the line keeps its place.
const RETRY_DELIVERY = `
WITH target AS MATERIALIZED (
  SELECT d.id, d.webhook_id, d.event_id FROM deliveries d WHERE d.id = $1 AND d.status <> 'SUCCEEDED' FOR NO KEY UPDATE
), queued AS (
  INSERT INTO delivery_queue (delivery_id, webhook_id, due_at, fifo_tx, fifo_event)
  SELECT t.id, t.webhook_id, $2::timestamptz,
    CASE WHEN w.ordering = 'FIFO' THEN pg_current_xact_id()::text::bigint END, CASE WHEN w.ordering = 'FIFO' THEN t.event_id END
  FROM target t JOIN webhooks w ON w.id = t.webhook_id
  ON CONFLICT (delivery_id) DO UPDATE SET due_at = EXCLUDED.due_at, lease_until = NULL,
      fifo_tx = coalesce(delivery_queue.fifo_tx, EXCLUDED.fifo_tx), fifo_event = coalesce(delivery_queue.fifo_event, EXCLUDED.fifo_event)
    WHERE delivery_queue.lease_until IS NULL OR delivery_queue.lease_until < EXCLUDED.due_at
  RETURNING delivery_id
), moved AS (
  UPDATE deliveries SET status = 'RETRYING', next_attempt_at = $2::timestamptz, updated_at = $2::timestamptz
  WHERE id = ANY(ARRAY(SELECT delivery_id FROM queued))
)
SELECT count(*)::int AS queued FROM queued`;

/**
 * Queues a delivery that has not succeeded for an attempt now, unless a worker holds its
 * lease: one conditional write. Returns whether it queued it (false: it does not exist, it
 * succeeded, or it is being sent right now; the caller tells which).
 */
export async function retryDelivery(db: PrismaSql, deliveryId: bigint, now: Date): Promise<boolean> {
  const [result] = await db.$queryRawUnsafe<{ queued: number }[]>(RETRY_DELIVERY, deliveryId, now);
  return result!.queued > 0;
}

// The queue holds the pending and retrying deliveries: each has a due_at (leased ones: the
// lease's end; parked ones, of a disabled webhook: none). Its (due_at, delivery_id) index
// serves the min().
// Its dead rows (as PostgreSQL's statistics count them) and its table's size show whether
// vacuum keeps up with it (see vacuumQueue).
// A PULL webhook's rows never have a due_at and always a tx_id (a parked push row has neither).
const QUEUE_STATE = `
WITH pull AS MATERIALIZED (
  SELECT count(*)::int AS queued, count(*) FILTER (WHERE lease_until > $1::timestamptz)::int AS out
  FROM delivery_queue WHERE due_at IS NULL AND tx_id IS NOT NULL
)
SELECT count(*)::int AS queued,
  count(*) FILTER (WHERE due_at <= $1::timestamptz)::int AS due,
  EXTRACT(EPOCH FROM ($1::timestamptz - min(due_at)))::float8 AS oldest_seconds,
  pg_stat_get_dead_tuples('delivery_queue'::regclass)::float8 AS dead_rows,
  pg_relation_size('delivery_queue'::regclass)::float8 AS table_bytes,
  (SELECT queued FROM pull) AS pull_queued, (SELECT out FROM pull) AS pull_out
FROM delivery_queue WHERE due_at IS NOT NULL`;

/** How deep the queue is, as the metrics show it. */
export interface QueueState {
  /** Deliveries waiting or in flight (parked ones excluded). */
  readonly queued: number;
  /** Due now and not claimed. */
  readonly due: number;
  /** How long the longest-waiting due delivery has been due; 0 when none is. */
  readonly oldestSeconds: number;
  /** Dead rows in the queue's table not yet vacuumed away. */
  readonly deadRows: number;
  /** The queue table's size on disk (without its indexes). */
  readonly tableBytes: number;
  /** PULL webhooks' notifications not yet acknowledged (handed out or not). */
  readonly pullQueued: number;
  /** Of those, handed out and within their visibility timeout. */
  readonly pullOut: number;
}

/** Reads the queue's depth in one statement, which PostgreSQL gives up on after `timeoutMs`. */
export async function readQueueState(sql: SqlClient, now: Date, timeoutMs: number): Promise<QueueState> {
  const rows = await sql.transaction(async (tx) => {
    await tx.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    return tx.query<{ queued: number; due: number; oldest_seconds: number | null; dead_rows: number; table_bytes: number; pull_queued: number; pull_out: number }>(QUEUE_STATE, [
      now.toISOString(),
    ]);
  });
  const row = rows[0];
  return {
    queued: row?.queued ?? 0,
    due: row?.due ?? 0,
    oldestSeconds: Math.max(0, row?.oldest_seconds ?? 0),
    deadRows: Number(row?.dead_rows ?? 0),
    tableBytes: Number(row?.table_bytes ?? 0),
    pullQueued: row?.pull_queued ?? 0,
    pullOut: row?.pull_out ?? 0,
  };
}

// Every delivery leaves two dead rows in delivery_queue (the claim's update and the record's
// delete), and each claim walks the table's due index: unvacuumed, the walk passes ever more dead
// entries. PostgreSQL's autovacuum handles it (the queue's migration has it act after 1 % of the
// rows change), unless it is off, for the server or for this table.
const AUTOVACUUM_RUNS = `
SELECT current_setting('autovacuum') = 'on'
  AND coalesce(array_to_string(c.reloptions, ',') !~* 'autovacuum_enabled=(false|off|no|0)(,|$)', true) AS runs
FROM pg_class c WHERE c.oid = 'delivery_queue'::regclass`;

/** Whether PostgreSQL's autovacuum looks after the queue table on this server. */
export async function queueAutovacuumRuns(sql: SqlClient): Promise<boolean> {
  const [row] = await sql.query<{ runs: boolean }>(AUTOVACUUM_RUNS);
  return row?.runs === true;
}

/**
 * Vacuums the queue table: quick, as it holds only deliveries still to be attempted. SKIP_LOCKED:
 * when another process is vacuuming it, this one does not wait.
 */
export async function vacuumQueue(sql: SqlClient): Promise<void> {
  await sql.exec(`VACUUM (SKIP_LOCKED) delivery_queue`);
}
