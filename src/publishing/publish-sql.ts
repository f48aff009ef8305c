import type { SqlQuery } from "../store/database.js";
import { payloadFilterSql } from "./payload-filter.js";

/**
 * The publish path in one statement: resolve event types and customers, draw ids, insert the
 * events (ON CONFLICT on the idempotency key: nothing), route them, insert their deliveries
 * (a trigger queues them for the dispatcher), and answer what happened to each request. One
 * round trip and one implicit transaction, prepared once per connection; no lock shared with
 * other publishers (live subscribers order events by the storing transaction instead: see
 * src/live/event-feed.ts).
 *
 * $1 is the batch as JSON: i (index in the request), n (type name) or t (type id), c (customer
 * id) or x (external id), p (payload JSON text), k (idempotency key), v (the version of the event
 * type's payload schema the payload was checked against), o (the owner service of an operational
 * event, else null). $2 is the time stamped on the rows.
 * Nothing is written unless every request resolves and was checked against its type's current
 * schema (the `fresh` CTE is empty then), so the caller can report the first that did not, or
 * check again with the current schema.
 */
/** One request as the statement takes it (the fields of $1's records, named above). */
export interface PublishInput {
  readonly i: number;
  readonly n: string | null;
  readonly t: number | null;
  readonly c: number | null;
  readonly x: string | null;
  readonly p: string;
  readonly k: string | null;
  readonly v: number | null;
  readonly o: number | null;
}

export interface PublishRow {
  i: number;
  k: string | null;
  type_id: number | null;
  type_name: string | null;
  /** The event type's current schema version: the request's payload was checked against `v`. */
  schema_version: number | null;
  wants_customer: boolean;
  customer_id: number | null;
  /** The event id drawn and stored (when `stored`). */
  id: string | null;
  stored: boolean;
  tx_id: string | null;
  /** For a key stored before: its event, when the statement's snapshot can see it. */
  existing_id: string | null;
  webhook_ids: number[];
  service_ids: number[];
  first_delivery_id: string | null;
}

/**
 * Who receives an event. "route" is the routing rule: an event of type T about customer C goes
 * to every active webhook subscribed to T on which C is registered; with no customer, to every
 * active webhook subscribed to T; and when the webhook has a payload filter, only if the event's
 * payload satisfies it (payload-filter.ts: `payload @@ filter`). Only a webhook with a filter
 * evaluates it: its payload is looked up in `fresh` then (OR evaluates left to right), so the
 * statement carries no payload through `stored` for webhooks without one. "owned" is the same
 * rule for Hookgate's operational events (hookgate.* types, published by Hookgate with their
 * owner `o`: README, "Operational events"), plus one condition: only the owner's webhooks, never
 * another service subscribed to the same type; a statement of its own, so publishing any other
 * event pays nothing for it. "webhook" is a test event: the one webhook $3, whatever it
 * subscribes to (its filter does not apply: a test event is sent to see the webhook work).
 */
const ROUTING = {
  route: `
    SELECT s.id AS event_id, w.id AS webhook_id, w.service_id
    FROM stored s
    JOIN webhook_event_types wet ON wet.event_type_id = s.event_type_id
    JOIN webhooks w ON w.id = wet.webhook_id
    WHERE w.is_active
      AND (s.customer_id IS NULL
           OR EXISTS (SELECT 1 FROM registrations g WHERE g.webhook_id = w.id AND g.customer_id = s.customer_id))
      AND ${payloadFilterSql("(SELECT f.p FROM fresh f WHERE f.id = s.id)::jsonb", "w.payload_filter")}`,
  owned: `
    SELECT s.id AS event_id, w.id AS webhook_id, w.service_id
    FROM stored s
    JOIN fresh f ON f.id = s.id
    JOIN webhook_event_types wet ON wet.event_type_id = s.event_type_id
    JOIN webhooks w ON w.id = wet.webhook_id
    WHERE w.is_active
      AND w.service_id = f.o
      AND (s.customer_id IS NULL
           OR EXISTS (SELECT 1 FROM registrations g WHERE g.webhook_id = w.id AND g.customer_id = s.customer_id))
      AND ${payloadFilterSql("f.p::jsonb", "w.payload_filter")}`,
  webhook: `
    SELECT s.id AS event_id, w.id AS webhook_id, w.service_id
    FROM stored s JOIN webhooks w ON w.id = $3::int`,
} as const;

function statement(routing: keyof typeof ROUTING): string {
  return `
WITH input AS MATERIALIZED (
  SELECT * FROM json_to_recordset($1::json) AS r(i int, n text, t int, c int, x text, p text, k text, v int, o int)
), resolved AS MATERIALIZED (
  SELECT input.i, input.p, input.k, input.v, input.o, et.id AS type_id, et.name AS type_name, et.json_schema_version AS schema_version,
         (input.c IS NOT NULL OR input.x IS NOT NULL) AS wants_customer, cu.id AS customer_id
  FROM input
  LEFT JOIN event_types et ON et.id = coalesce(input.t, (SELECT t2.id FROM event_types t2 WHERE t2.name = input.n))
  LEFT JOIN customers cu ON cu.id = coalesce(input.c, (SELECT c2.id FROM customers c2 WHERE c2.external_id = input.x))
), fresh AS MATERIALIZED (
  SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id, r.*
  FROM resolved r
  WHERE NOT EXISTS (
    SELECT 1 FROM resolved u
    WHERE u.type_id IS NULL OR (u.wants_customer AND u.customer_id IS NULL) OR u.v IS DISTINCT FROM u.schema_version)
), stored AS (
  -- payload (jsonb) is what the previous release reads; payload_text is what is delivered.
  INSERT INTO events (id, event_type_id, event_name, customer_id, payload, payload_text, idempotency_key, created_at)
  -- In key order: two statements storing the same keys (gateways' groups) wait on each other in
  -- one order, never both ways round (a deadlock).
  SELECT id, type_id, type_name, customer_id, p::jsonb, p, k, $2::timestamptz FROM fresh ORDER BY k, i
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id, tx_id, event_type_id, customer_id
), routed AS MATERIALIZED (${ROUTING[routing]}
), queued AS (
  INSERT INTO deliveries (event_id, webhook_id, next_attempt_at, created_at, updated_at)
  SELECT event_id, webhook_id, $2::timestamptz, $2::timestamptz, $2::timestamptz FROM routed ORDER BY event_id, webhook_id
  RETURNING id, event_id, webhook_id
)
SELECT r.i, r.k, r.type_id, r.type_name, r.schema_version, r.wants_customer, r.customer_id,
       f.id::text AS id, s.id IS NOT NULL AS stored, s.tx_id::text AS tx_id,
       CASE WHEN f.id IS NOT NULL AND s.id IS NULL
            THEN (SELECT e.id::text FROM events e WHERE e.idempotency_key = r.k) END AS existing_id,
       coalesce((SELECT array_agg(q.webhook_id ORDER BY q.webhook_id) FROM queued q WHERE q.event_id = s.id), '{}') AS webhook_ids,
       coalesce((SELECT array_agg(DISTINCT rt.service_id) FROM routed rt WHERE rt.event_id = s.id), '{}') AS service_ids,
       (SELECT min(q.id)::text FROM queued q WHERE q.event_id = s.id) AS first_delivery_id
FROM resolved r
LEFT JOIN fresh f ON f.i = r.i
LEFT JOIN stored s ON s.id = f.id
ORDER BY r.i`;
}

const STATEMENTS = {
  route: { name: "hookgate_publish", text: statement("route") },
  owned: { name: "hookgate_publish_owned", text: statement("owned") },
  webhook: { name: "hookgate_publish_test", text: statement("webhook") },
} as const;

export function publishStatement(routing: keyof typeof ROUTING): { name: string; text: string } {
  return STATEMENTS[routing];
}

/** Runs the publish statement for this input, stamping its rows with `now`; $3 is the test event's webhook. */
export function runPublishStatement(
  sql: SqlQuery,
  routing: keyof typeof ROUTING,
  input: readonly PublishInput[],
  now: Date,
  webhookId?: number,
): Promise<PublishRow[]> {
  const statement = STATEMENTS[routing];
  const params: unknown[] = [JSON.stringify(input), now.toISOString()];
  if (webhookId !== undefined) params.push(webhookId);
  return sql.query<PublishRow>(statement.text, params, statement.name);
}

/** A fresh snapshot's look at keys whose conflicting insert committed after the publish statement began. */
export const readBackStatement = {
  name: "hookgate_publish_read_back",
  text: `SELECT idempotency_key AS k, id::text AS id FROM events WHERE idempotency_key = ANY($1::text[])`,
};
