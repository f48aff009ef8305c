import type { SqlClient, SqlQuery } from "../store/database.js";
import { webhookBody } from "./webhook-body.js";

/**
 * The pull queue's SQL: a PULL webhook's deliveries as its consumer takes them. They are the
 * same rows of delivery_queue the dispatcher claims from, with two differences the database
 * keeps (migration 20261130150000_pull_webhooks): they never have a due_at, so no claim (of this
 * release or the previous one) ever walks over them, and they carry tx_id, the transaction that
 * queued them. A hand-out is a lease like a claim's (lease_until), with a receipt: a new number
 * each time, which the acknowledgement must bring back.
 *
 * Order. A consumer gets its webhook's deliveries in the live feed's order (the queuing
 * transaction's id, then the id: src/live/event-feed.ts), and only those below the feed's
 * horizon: no delivery that would come before them can still appear. At most one batch of a
 * webhook is out at a time (a lease not yet ended), so the next batch is handed out only once
 * the one before it is acknowledged or its lease ran out: the order holds whatever the number of
 * consumers. Consumers of one webhook take its row lock (FOR NO KEY UPDATE: publishing's foreign
 * key check, FOR KEY SHARE, does not wait for it) and then look, in a statement of their own
 * whose snapshot sees what the previous holder handed out.
 *
 * Lock order, as everywhere in the queue (delivery-queue.ts): the webhook, then deliveries in id
 * order, then their queue rows. A hand-out takes the webhook and the queue rows; an
 * acknowledgement takes the deliveries and the queue rows.
 */

/** A notification as it is handed out. */
export interface PulledDelivery {
  readonly receiptId: string;
  readonly deliveryId: string;
  readonly eventId: string;
  readonly eventType: string;
  /** The event's time, ISO 8601. */
  readonly timestamp: string;
  /** The payload's JSON text as received. */
  readonly payload: string;
  /** The body a push delivery of it carries (webhook-body.ts). */
  readonly body: string;
}

/** What the consumer of a webhook needs to know before it waits: whether it may pull, and the event types that can bring it something. */
export interface PullConsumer {
  readonly deliveryMode: "PUSH" | "PULL";
  readonly isActive: boolean;
  readonly eventTypeIds: readonly number[];
}

export async function readConsumer(sql: SqlQuery, webhookId: number): Promise<PullConsumer | undefined> {
  const [row] = await sql.query<{ delivery_mode: "PUSH" | "PULL"; is_active: boolean; event_type_ids: number[] }>(
    `SELECT w.delivery_mode::text AS delivery_mode, w.is_active,
            ARRAY(SELECT t.event_type_id FROM webhook_event_types t WHERE t.webhook_id = w.id ORDER BY 1) AS event_type_ids
     FROM webhooks w WHERE w.id = $1`,
    [webhookId],
  );
  return row && { deliveryMode: row.delivery_mode, isActive: row.is_active, eventTypeIds: row.event_type_ids.map(Number) };
}

// $1 the webhook, $2 now, $3 the horizon, $4 how many, $5 the lease's end. Run after LOCK_CONSUMER
// in the same transaction. Rows whose lease ran out are handed out again, first (they are the
// oldest), with new receipts.
const HAND_OUT = `
WITH busy AS MATERIALIZED (
  SELECT EXISTS (
    SELECT 1 FROM delivery_queue q WHERE q.webhook_id = $1 AND q.due_at IS NULL AND q.lease_until > $2::timestamptz
  ) AS out
), next AS MATERIALIZED (
  SELECT q.delivery_id FROM delivery_queue q
  WHERE q.webhook_id = $1 AND q.due_at IS NULL AND q.tx_id < $3::bigint AND NOT (SELECT out FROM busy)
  ORDER BY q.tx_id, q.delivery_id
  LIMIT $4
  FOR UPDATE
), handed AS (
  UPDATE delivery_queue q SET lease_until = $5::timestamptz, receipt_id = nextval('delivery_queue_receipt_id_seq')
  WHERE q.delivery_id = ANY(ARRAY(SELECT delivery_id FROM next))
  RETURNING q.delivery_id, q.receipt_id, q.tx_id
)
SELECT h.receipt_id::text AS receipt_id, d.id::text AS delivery_id, e.id::text AS event_id, e.event_name AS event_type,
       (extract(epoch FROM e.created_at) * 1000)::float8 AS event_ms, coalesce(e.payload_text, e.payload::text) AS payload
FROM handed h
JOIN deliveries d ON d.id = h.delivery_id
JOIN events e ON e.id = d.event_id
ORDER BY h.tx_id, h.delivery_id`;

interface PulledRow {
  receipt_id: string;
  delivery_id: string;
  event_id: string;
  event_type: string;
  event_ms: number | string;
  payload: string;
}

function pulled(r: PulledRow): PulledDelivery {
  const timestamp = new Date(Number(r.event_ms)).toISOString();
  return {
    receiptId: r.receipt_id,
    deliveryId: r.delivery_id,
    eventId: r.event_id,
    eventType: r.event_type,
    timestamp,
    payload: r.payload,
    body: webhookBody(r.event_id, r.event_type, timestamp, r.payload),
  };
}

/**
 * Hands out up to `max` of the webhook's oldest deliveries below `horizon` under a lease until
 * `leaseUntil`, unless a batch is still out (then none). Empty also when the webhook is gone,
 * inactive or not PULL (the caller checked before; this re-checks under the lock).
 */
export async function handOut(
  sql: SqlClient,
  webhookId: number,
  now: Date,
  horizon: bigint,
  max: number,
  leaseUntil: Date,
): Promise<PulledDelivery[]> {
  const rows = await sql.transaction(async (tx) => {
    const [hook] = await tx.query<{ id: number }>(
      `SELECT id FROM webhooks WHERE id = $1 AND delivery_mode = 'PULL' AND is_active FOR NO KEY UPDATE`,
      [webhookId],
    );
    if (!hook) return [];
    return tx.query<PulledRow>(HAND_OUT, [webhookId, now.toISOString(), horizon.toString(), max, leaseUntil.toISOString()]);
  });
  return rows.map(pulled);
}

/** When the batch that is out ends (its latest lease), if one is: a consumer waiting behind it looks again then. */
export async function outstandingUntil(sql: SqlQuery, webhookId: number, now: Date): Promise<Date | undefined> {
  const [row] = await sql.query<{ until_ms: number | string | null }>(
    `SELECT (extract(epoch FROM max(lease_until)) * 1000)::float8 AS until_ms
     FROM delivery_queue WHERE webhook_id = $1 AND due_at IS NULL AND lease_until > $2::timestamptz`,
    [webhookId, now.toISOString()],
  );
  return row?.until_ms == null ? undefined : new Date(Number(row.until_ms));
}

/** Whether the webhook has deliveries queued by transactions at or above the horizon (they wait for it). */
export async function waitingAbove(sql: SqlQuery, webhookId: number, horizon: bigint): Promise<boolean> {
  const rows = await sql.query(
    `SELECT 1 FROM delivery_queue WHERE webhook_id = $1 AND due_at IS NULL AND tx_id >= $2::bigint LIMIT 1`,
    [webhookId, horizon.toString()],
  );
  return rows.length > 0;
}

// Reads what the receipts stand for (the logged attempt carries the body the consumer got).
const READ_RECEIPTS = `
SELECT q.receipt_id::text AS receipt_id, d.id::text AS delivery_id, e.id::text AS event_id, e.event_name AS event_type,
       (extract(epoch FROM e.created_at) * 1000)::float8 AS event_ms, coalesce(e.payload_text, e.payload::text) AS payload
FROM delivery_queue q
JOIN deliveries d ON d.id = q.delivery_id
JOIN events e ON e.id = d.event_id
WHERE q.receipt_id = ANY($2::bigint[]) AND q.webhook_id = $1`;

// $1 the webhook, $2 the receipts as JSON (d delivery, rc receipt, b body), $3 now, $4 the
// visibility timeout in seconds (the hand-out's time is its lease's end less that). Only a row
// still carrying the receipt is acknowledged: one handed out again since (a new receipt) is not.
// An acknowledgement after the lease ran out, before anyone took it again, still counts.
const ACKNOWLEDGE = `
WITH r AS MATERIALIZED (
  SELECT * FROM json_to_recordset($2::json) AS r(d bigint, rc bigint, b text)
), locked AS MATERIALIZED (
  SELECT id FROM deliveries WHERE id = ANY(ARRAY(SELECT d FROM r)) ORDER BY id FOR NO KEY UPDATE
), finished AS (
  DELETE FROM delivery_queue q USING r
  WHERE q.delivery_id = ANY(ARRAY(SELECT id FROM locked)) AND q.delivery_id = r.d AND q.receipt_id = r.rc AND q.webhook_id = $1
  RETURNING q.delivery_id, q.receipt_id, q.lease_until - make_interval(secs => $4::float8) AS handed_at, r.b
), moved AS (
  UPDATE deliveries d
  SET status = 'SUCCEEDED', attempt_count = d.attempt_count + 1, next_attempt_at = NULL, last_attempt_at = $3::timestamptz, updated_at = $3::timestamptz
  FROM finished f
  WHERE d.id = f.delivery_id
  RETURNING d.id, d.attempt_count, f.receipt_id, f.handed_at, f.b
), logged AS (
  INSERT INTO delivery_attempts (delivery_id, webhook_id, attempt_number, started_at, duration_ms, request_url,
    request_method, request_headers, request_body, succeeded)
  SELECT id, $1, attempt_count, handed_at, greatest(0, least(2147483647, extract(epoch FROM $3::timestamptz - handed_at) * 1000))::int, '',
    'PULL', jsonb_build_object('receipt-id', receipt_id::text), b, true
  FROM moved
)
SELECT receipt_id::text AS receipt_id FROM moved`;

/**
 * Acknowledges receipts of the webhook: their deliveries leave the queue as SUCCEEDED, each with
 * an attempt logged (method PULL, no URL, the body handed out, started when it was handed out).
 * Returns the receipts acknowledged; unknown or stale ones (handed out again since) are left out.
 */
export async function acknowledge(
  sql: SqlClient,
  webhookId: number,
  receiptIds: readonly bigint[],
  now: Date,
  visibilitySeconds: number,
): Promise<string[]> {
  if (!receiptIds.length) return [];
  const ids = receiptIds.map((id) => id.toString());
  const held = (await sql.query<PulledRow>(READ_RECEIPTS, [webhookId, ids])).map(pulled);
  if (!held.length) return [];
  const rows = JSON.stringify(held.map((p) => ({ d: p.deliveryId, rc: p.receiptId, b: p.body })));
  const done = new Set((await sql.query<{ receipt_id: string }>(ACKNOWLEDGE, [webhookId, rows, now.toISOString(), visibilitySeconds])).map((r) => r.receipt_id));
  // In the order asked, once each.
  return [...new Set(ids)].filter((id) => done.has(id));
}
