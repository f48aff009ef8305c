import type { SqlClient } from "../store/database.js";

/**
 * The dispatcher's SQL: claiming due deliveries under a lease, and recording a batch of
 * attempts in one transaction. Plain SQL because this is the hot path: one statement to
 * claim a batch, three to record one, whatever the batch size.
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
  /** The stored JSON payload as text, spliced into the body unparsed. */
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

// Due means next_attempt_at <= now: SUCCEEDED and FAILED deliveries have none, so the claim is one
// ordered walk of the (next_attempt_at, id) index that stops after $2 rows. (A status filter here
// would also be true of every row it sees, but without statistics the planner reads it as
// selective and sorts the whole due set instead.)
// A claim moves next_attempt_at to the end of the lease. So a delivery in flight is not due (the
// claim's index scan never walks over it), and a delivery whose worker died is due again, by
// the same rule as any other, the moment its lease ends. lease_until is the lease's token: only
// the worker holding it may record the outcome.
const CLAIM = `
WITH due AS (
  SELECT d.id, w.updated_at AS webhook_updated_at
  FROM deliveries d
  JOIN webhooks w ON w.id = d.webhook_id
  WHERE d.next_attempt_at <= $1 -- only PENDING and RETRYING deliveries have one
    AND w.is_active
  ORDER BY d.next_attempt_at, d.id
  LIMIT $2
  FOR UPDATE OF d SKIP LOCKED
), claimed AS (
  -- = ANY(ARRAY(...)) keeps this an index lookup; a join with the CTE would scan the whole outbox.
  UPDATE deliveries d SET lease_until = $3, next_attempt_at = $3
  WHERE d.id = ANY(ARRAY(SELECT id FROM due))
  RETURNING d.id, d.event_id, d.webhook_id, d.attempt_count, d.created_at
)
-- Times as epoch milliseconds: formatting them is cheaper in the dispatcher than here.
SELECT c.id::text AS id, c.event_id::text AS event_id, c.webhook_id, c.attempt_count,
       (extract(epoch FROM c.created_at) * 1000)::float8 AS created_ms,
       (extract(epoch FROM e.created_at) * 1000)::float8 AS event_ms,
       t.name AS event_type, e.payload::text AS payload,
       (extract(epoch FROM due.webhook_updated_at) * 1000)::float8 AS webhook_version
FROM claimed c
JOIN due ON due.id = c.id
JOIN events e ON e.id = c.event_id
JOIN event_types t ON t.id = e.event_type_id
ORDER BY c.id`;

/** Claims up to `limit` due deliveries of active webhooks; nobody else takes them until the lease ends. */
export async function claimDue(sql: SqlClient, now: Date, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const leaseUntil = new Date(now.getTime() + leaseMs);
  const rows = await sql.query<ClaimRow>(CLAIM, [now.toISOString(), limit, leaseUntil.toISOString()]);
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
}

export interface AutoDisableRule {
  /** Failed attempts in a row; 0 = off. */
  readonly afterFailures: number;
  /** Days of nothing but failures; 0 = off. */
  readonly afterDays: number;
}

export interface DisabledWebhook {
  readonly id: number;
  readonly reason: string;
}

// One statement records a whole batch, atomically and in one round trip: the attempt rows, the
// deliveries moved on, and each webhook's failure streak.
//  - The attempts travel compactly ($1, json): short keys, no nulls, times as epoch milliseconds,
//    and what every attempt to one webhook shares (URL, method, its logged headers) once per
//    batch ($2) rather than once per row; the stored rows are the same as ever.
//  - Only the worker still holding the lease may move a delivery on; a worker whose lease ran out
//    (and whose delivery another worker took) still logs its attempt but changes nothing else.
//  - = ANY($4) keeps the delivery update an index lookup whatever the size of the outbox.
//  - A healthy webhook that stays healthy is not rewritten.
const RECORD_BATCH = `
WITH w AS (
  SELECT * FROM json_to_recordset($2::json) AS w(i int, id int, u text, m text, h jsonb)
), r AS MATERIALIZED (
  SELECT r.d AS delivery_id, w.id AS webhook_id, r.n AS attempt_number, to_timestamp(r.s / 1000.0) AS started_at,
    r.ms AS duration_ms, w.u AS request_url, w.m AS request_method,
    w.h || jsonb_build_object('webhook-id', r.e::text, 'webhook-timestamp', r.ts::text, 'webhook-signature', r.g) AS request_headers,
    r.b AS request_body, r.st AS response_status, r.rh AS response_headers, r.rb AS response_body,
    r.ec AS error_class, r.em AS error_message, r.ok AS succeeded, r.x AS status, r.na AS next_attempt_at, r.lu AS lease_until
  FROM json_to_recordset($1::json) AS r(d bigint, w int, n int, s bigint, ms int, e bigint, ts bigint, g text, b text,
    st int, rh jsonb, rb text, ec text, em text, ok boolean, x text, na timestamptz, lu timestamptz)
  JOIN w ON w.i = r.w
), alive AS (
  -- A delivery deleted meanwhile (its webhook or event deleted) takes its attempt with it, so one
  -- deletion does not fail the batch. (A deletion committing during this very statement can
  -- still fail it; the dispatcher then records the batch again, without that delivery.)
  -- No row lock here: "moved" updates these rows in the same statement, and a lock on a row
  -- the statement itself updates would skip it.
  SELECT id FROM deliveries WHERE id = ANY(string_to_array($4, ',')::bigint[])
), logged AS (
  INSERT INTO delivery_attempts (delivery_id, webhook_id, attempt_number, started_at, duration_ms, request_url,
    request_method, request_headers, request_body, response_status, response_headers, response_body,
    error_class, error_message, succeeded)
  SELECT delivery_id, webhook_id, attempt_number, started_at, duration_ms, request_url, request_method,
    request_headers, request_body, response_status, response_headers, response_body, error_class,
    error_message, succeeded
  FROM r JOIN alive ON alive.id = r.delivery_id
), moved AS (
  UPDATE deliveries d
  SET status = r.status::"DeliveryStatus", attempt_count = r.attempt_number, next_attempt_at = r.next_attempt_at,
      lease_until = NULL, last_attempt_at = r.started_at, updated_at = $5
  FROM r
  WHERE d.id = ANY(string_to_array($4, ',')::bigint[]) AND d.id = r.delivery_id AND d.lease_until = r.lease_until
), health AS (
  UPDATE webhooks w
  SET consecutive_failures = CASE WHEN h.succeeded THEN h.trailing_failures ELSE w.consecutive_failures + h.trailing_failures END,
      failing_since = CASE
        WHEN h.trailing_failures = 0 THEN NULL
        WHEN h.succeeded THEN h.first_trailing_failure_at
        ELSE COALESCE(w.failing_since, h.first_trailing_failure_at) END
  FROM jsonb_to_recordset($3::jsonb) AS h(webhook_id int, succeeded boolean, trailing_failures int, first_trailing_failure_at timestamptz)
  WHERE w.id = h.webhook_id
    AND (h.trailing_failures > 0 OR w.consecutive_failures <> 0 OR w.failing_since IS NOT NULL)
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
    if (r.errorClass !== null) row += `,"ec":${JSON.stringify(r.errorClass)}`;
    if (r.errorMessage !== null) row += `,"em":${JSON.stringify(r.errorMessage)}`;
    if (r.nextAttemptAt !== null) row += `,"na":"${r.nextAttemptAt.toISOString()}"`;
    rows += row + "}";
    ids += k ? `,${r.deliveryId}` : r.deliveryId;
  }
  return { rows: `[${rows}]`, webhooks: `[${webhooks.join(",")}]`, ids };
}

// Disabling also takes the webhook's waiting deliveries out of the due range (next_attempt_at
// NULL), so claims do not walk over them until it is enabled again (RESUME_DELIVERIES).
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
), parked AS (
  UPDATE deliveries d SET next_attempt_at = NULL
  FROM disabled WHERE d.webhook_id = disabled.id AND d.status IN ('PENDING', 'RETRYING')
    AND (d.lease_until IS NULL OR d.lease_until < $2)
)
SELECT id, disabled_reason FROM disabled`;

/** Writes attempts, moves deliveries on and tracks webhook health (one statement), then disables failing webhooks. */
export async function recordAttempts(
  sql: SqlClient,
  records: readonly AttemptRecord[],
  now: Date,
  rule: AutoDisableRule,
): Promise<DisabledWebhook[]> {
  if (!records.length) return [];
  const { rows, webhooks, ids } = encodeAttempts(records);
  const health = JSON.stringify(webhookHealth(records));
  await sql.query(RECORD_BATCH, [rows, webhooks, health, ids, now.toISOString()]);
  // Only a failure can push a webhook over a limit.
  if ((!rule.afterFailures && !rule.afterDays) || records.every((r) => r.succeeded)) return [];
  const webhookIds = [...new Set(records.filter((r) => !r.succeeded).map((r) => r.webhookId))];
  const disabled = await sql.query<{ id: number; disabled_reason: string }>(DISABLE_FAILING, [
    webhookIds,
    now.toISOString(),
    rule.afterFailures,
    rule.afterDays,
  ]);
  return disabled.map((d) => ({ id: Number(d.id), reason: d.disabled_reason }));
}

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
    `UPDATE deliveries d SET lease_until = NULL, next_attempt_at = $3
     FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, lease_until timestamptz)
     WHERE d.id = ANY($2::bigint[]) AND d.id = r.id AND d.lease_until = r.lease_until`,
    [
      JSON.stringify(deliveries.map((d) => ({ id: d.id, lease_until: d.leaseUntil.toISOString() }))),
      deliveries.map((d) => d.id),
      now.toISOString(),
    ],
  );
}

/**
 * What a webhook's waiting deliveries need when it is switched off or on: off parks them
 * (out of the due range), on makes them due at once. Runs in the caller's transaction.
 */
export const PARK_DELIVERIES = `
UPDATE deliveries SET next_attempt_at = NULL
WHERE webhook_id = $1 AND status IN ('PENDING', 'RETRYING') AND (lease_until IS NULL OR lease_until < $2)`;

export const RESUME_DELIVERIES = `
UPDATE deliveries SET next_attempt_at = $2, lease_until = NULL
WHERE webhook_id = $1 AND status IN ('PENDING', 'RETRYING') AND next_attempt_at IS NULL`;
