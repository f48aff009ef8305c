import type { Clock } from "../clock.js";
import type { SqlClient } from "../store/database.js";
import type { PayloadSchemas } from "./payload-schema.js";
import { readBackStatement, runPublishStatement, type PublishInput } from "./publish-sql.js";
import { PublishGroups, type GroupObserver, type GroupResult } from "./group-commit.js";
import { EventTypeCatalog } from "./type-catalog.js";
import { prunedUntil } from "../retention/pruner.js";

/** One event to publish; the type by name or id, the customer by id or external id. */
export interface PublishRequest {
  readonly eventName?: string | null;
  readonly eventTypeId?: number | null;
  readonly customerId?: number | null;
  readonly customerExternalId?: string | null;
  /** The payload as a JSON value (what the GraphQL JSON scalar parsed); or give payloadJson. */
  readonly payload?: unknown;
  /** The payload as JSON text, stored and delivered byte for byte; or give payload. */
  readonly payloadJson?: string | null;
  readonly idempotencyKey?: string | null;
  /**
   * Only for Hookgate's own operational events (type names in RESERVED_PREFIX, never from the
   * API): the service that owns the webhook concerned. The event is routed to that service's
   * webhooks only (see publish-sql.ts); without it a reserved type is refused.
   */
  readonly ownerServiceId?: number | null;
}

/** Event types whose names start with this are Hookgate's own (README, "Operational events"). */
export const RESERVED_PREFIX = "hookgate.";

/** Whether an event type name is in Hookgate's reserved namespace. */
export function isReservedEventName(name: string): boolean {
  return name.toLowerCase().startsWith(RESERVED_PREFIX);
}

export interface PublishOutcome {
  readonly eventId: bigint;
  /** True when the idempotency key was seen before: the stored event is returned, nothing is written. */
  readonly duplicate: boolean;
  /** Deliveries written for this event (0 for a duplicate). */
  readonly deliveryCount: number;
  /** The event as stored, when this request stored it (not for a duplicate): no need to read it back. */
  readonly stored?: StoredEvent;
}

/** A request that cannot be published; `index` points into the batch. */
export class PublishError extends Error {
  override name = "PublishError";
  constructor(
    readonly index: number,
    readonly field: string,
    message: string,
    readonly code: "BAD_USER_INPUT" | "NOT_FOUND" = "BAD_USER_INPUT",
  ) {
    super(message);
  }
}

/**
 * A stored event with what live subscribers need to filter it without reading the store:
 * its type name and the webhooks (and their services) it was routed to.
 */
export interface StoredEvent {
  readonly id: bigint;
  /** The storing transaction's id; null for rows of a release before positions existed. */
  readonly txId: bigint | null;
  readonly eventTypeId: number;
  readonly eventName: string;
  readonly customerId: number | null;
  /** The payload as a value (parsed once from payloadText). */
  readonly payload: unknown;
  /** The payload's JSON text as stored and delivered. */
  readonly payloadText: string;
  readonly idempotencyKey: string | null;
  readonly createdAt: Date;
  readonly webhookIds: readonly number[];
  readonly serviceIds: readonly number[];
}

export interface ReplayRequest {
  readonly webhookId: number;
  /** Deliveries created at or after this time are replayed. */
  readonly since: Date;
  /** Only events whose delivery FAILED. */
  readonly onlyFailed: boolean;
  /** Most deliveries one replay may queue; past it nothing is queued and it is refused. Default: no limit. */
  readonly maxDeliveries?: number;
}

/**
 * The one door through which events and deliveries enter the store: publishEvent(s), test
 * events, replays, and deliveries made due again (retryDelivery, a webhook switched back on).
 * Whatever comes through it reaches the same hook (dispatcher wake-up, metrics, live feed).
 */
export interface Publisher {
  /** Stores the events and their deliveries in one statement: all of the batch, or none. */
  publish(requests: readonly PublishRequest[]): Promise<PublishOutcome[]>;
  /** Stores an event and one delivery of it to this webhook, whatever its subscriptions. */
  sendTest(webhookId: number, request: PublishRequest): Promise<{ eventId: bigint; deliveryId: bigint }>;
  /** Queues a new delivery of every event a webhook was sent since a time; null when the webhook does not exist. */
  replay(request: ReplayRequest): Promise<{ url: string; queued: number } | null>;
  /**
   * How many deliveries replay() with these arguments would queue now (the same selection, read
   * only); null when the webhook does not exist. Refused as replay() is for a pruned since.
   */
  replayCount(request: Omit<ReplayRequest, "maxDeliveries">): Promise<number | null>;
  /** Deliveries were made due by a write of their own (retryDelivery, a webhook switched on). */
  deliveriesQueued(): void;
}

export interface PublisherOptions {
  readonly maxPayloadBytes: number;
  /** Stamps events and their deliveries, so an injected clock sees them due at once. */
  readonly clock: Clock;
  /**
   * Runs after a write commits, with the new events (none for a batch of idempotent repeats, a
   * replay or a retry) and whether deliveries were queued: dispatcher wake-up, metrics, live
   * subscriptions.
   */
  readonly afterCommit?: (events: StoredEvent[], deliveriesQueued: boolean) => void;
  /** Event types' payload schemas (compiled once per schema version). */
  readonly schemas: PayloadSchemas;
  /** What the group commit does (group-commit.ts), for the metrics. */
  readonly groups?: GroupObserver;
}

/** How often a publish checks again after an event type's schema changed under it. */
const SCHEMA_TRIES = 3;

/** The read-back of a key a concurrent publish stored can come back empty once or twice (see below). */
const READ_BACK_TRIES = 5;

export function createPublisher(sql: SqlClient, options: PublisherOptions): Publisher {
  const after = options.afterCommit ?? (() => undefined);
  const catalog = new EventTypeCatalog(sql);
  const groups = new PublishGroups(sql, options.clock, options.groups);

  async function alone(routing: "owned" | "webhook", input: PublishInput[], webhookId: number | undefined): Promise<GroupResult> {
    const now = options.clock.now();
    return { rows: await runPublishStatement(sql, routing, input, now, webhookId), now };
  }

  /**
   * Checks each payload against its event type's schema (as cached); the versions checked against.
   * A payload the cached schema refuses is checked again with the stored one before it is
   * refused: the cache may hold a schema another process has changed since.
   */
  async function checkSchemas(requests: readonly PublishRequest[], texts: readonly string[], fresh = false): Promise<(number | null)[]> {
    const types = await catalog.lookup(requests);
    const versions: (number | null)[] = [];
    for (const [i, r] of requests.entries()) {
      const type = types[i];
      if (!type) {
        versions.push(null); // no such type: the statement says so
        continue;
      }
      if ((r.ownerServiceId == null) === isReservedEventName(type.name)) {
        const field = r.eventName != null ? "eventName" : "eventTypeId";
        throw new PublishError(
          i,
          field,
          r.ownerServiceId == null
            ? `event type "${type.name}" is reserved for Hookgate's operational events; only Hookgate publishes it`
            : `an owner service is only given with Hookgate's operational events`,
        );
      }
      if (type.schemaText !== null) {
        const value = r.payloadJson != null ? JSON.parse(texts[i]!) : r.payload;
        const problem = options.schemas.problem(type.id, type.schemaText, value);
        if (problem && !fresh) {
          catalog.forget(type.id);
          return checkSchemas(requests, texts, true);
        }
        if (problem) {
          const field = r.payloadJson != null ? "payloadJson" : "payload";
          throw new PublishError(i, field, `does not match the event type's schema at "${problem.path || "/"}": ${problem.message}`);
        }
      }
      versions.push(type.version);
    }
    return versions;
  }

  async function store(requests: readonly PublishRequest[], webhookId: number | undefined, tries = 1): ReturnType<typeof storeOnce> {
    const owners = requests.filter((r) => r.ownerServiceId != null).length;
    if (owners && (owners < requests.length || webhookId !== undefined)) {
      throw new Error("operational events are published in batches of their own, never as test events");
    }
    const texts = requests.map((r, i) => checkRequest(r, i, options.maxPayloadBytes));
    const versions = await checkSchemas(requests, texts);
    const outcome = await storeOnce(requests, webhookId, texts, versions);
    if (outcome.stale.length === 0) return outcome;
    // A schema changed since it was cached: nothing was stored; check again with the current one.
    for (const typeId of outcome.stale) catalog.forget(typeId);
    if (tries >= SCHEMA_TRIES) throw new Error("event type schemas keep changing while publishing; try again");
    return store(requests, webhookId, tries + 1);
  }

  async function storeOnce(
    requests: readonly PublishRequest[],
    webhookId: number | undefined,
    texts: readonly string[],
    versions: readonly (number | null)[],
  ) {
    // Within a batch, a repeated key maps to its first occurrence; only first occurrences are sent.
    const firstWithKey = new Map<string, number>();
    const sent: number[] = [];
    requests.forEach((r, i) => {
      const key = r.idempotencyKey ?? null;
      if (key !== null) {
        if (firstWithKey.has(key)) return;
        firstWithKey.set(key, i);
      }
      sent.push(i);
    });
    const input = sent.map((i): PublishInput => {
      const r = requests[i]!;
      return { i, n: r.eventName ?? null, t: r.eventTypeId ?? null, c: r.customerId ?? null, x: r.customerExternalId ?? null, p: texts[i]!, k: r.idempotencyKey ?? null, v: versions[i] ?? null, o: r.ownerServiceId ?? null };
    });
    // Operational events (each with its owner, checked in checkSchemas) are routed to their owner
    // only; they and test events go alone, everything else may share a statement (group-commit.ts).
    const owned = requests[0]!.ownerServiceId != null;
    const { rows, now } = webhookId === undefined && !owned ? await groups.run(input) : await alone(owned ? "owned" : "webhook", input, webhookId);
    const byIndex = new Map(rows.map((r) => [Number(r.i), r]));
    const stale = [
      ...new Set(rows.filter((r) => r.type_id !== null && Number(r.schema_version) !== versions[Number(r.i)]).map((r) => Number(r.type_id))),
    ];
    if (stale.length) return { stale, results: [], rows, byIndex };
    for (const i of sent) {
      const row = byIndex.get(i)!;
      const r = requests[i]!;
      if (row.type_id === null) {
        throw r.eventName != null
          ? new PublishError(i, "eventName", `event type "${r.eventName}" does not exist`, "NOT_FOUND")
          : new PublishError(i, "eventTypeId", `event type ${r.eventTypeId} does not exist`, "NOT_FOUND");
      }
      if (row.wants_customer && row.customer_id === null) {
        throw r.customerId != null
          ? new PublishError(i, "customerId", `customer ${r.customerId} does not exist`, "NOT_FOUND")
          : new PublishError(i, "customerExternalId", `customer with externalId "${r.customerExternalId}" does not exist`, "NOT_FOUND");
      }
    }
    // ON CONFLICT DO NOTHING waited for a concurrent publish of the same key to commit, but the
    // statement's snapshot is older than that commit, so its read-back finds nothing: read again
    // with a new snapshot (the row is committed by now, so the first retry finds it).
    const unread = rows.filter((r) => !r.stored && r.existing_id === null && r.k !== null);
    for (let tries = 0; unread.length && tries < READ_BACK_TRIES; tries++) {
      const found = await sql.query<{ k: string; id: string }>(readBackStatement.text, [unread.map((r) => r.k)], readBackStatement.name);
      const byKey = new Map(found.map((f) => [f.k, f.id]));
      for (let j = unread.length - 1; j >= 0; j--) {
        const id = byKey.get(unread[j]!.k!);
        if (id !== undefined) {
          unread[j]!.existing_id = id;
          unread.splice(j, 1);
        }
      }
    }
    if (unread.length) throw new Error(`idempotency key "${unread[0]!.k}" conflicts but its event cannot be read`);

    const stored: StoredEvent[] = [];
    const storedByIndex = new Map<number, StoredEvent>();
    let deliveries = 0;
    for (const i of sent) {
      const row = byIndex.get(i)!;
      if (!row.stored) continue;
      deliveries += row.webhook_ids.length;
      const event: StoredEvent = {
        id: BigInt(row.id!),
        txId: row.tx_id === null ? null : BigInt(row.tx_id),
        eventTypeId: Number(row.type_id),
        eventName: row.type_name!,
        customerId: row.customer_id === null ? null : Number(row.customer_id),
        payload: requests[i]!.payloadJson != null ? JSON.parse(texts[i]!) : requests[i]!.payload,
        payloadText: texts[i]!,
        idempotencyKey: row.k,
        createdAt: now,
        webhookIds: row.webhook_ids.map(Number),
        serviceIds: row.service_ids.map(Number),
      };
      stored.push(event);
      storedByIndex.set(i, event);
    }
    if (stored.length) after(stored, deliveries > 0);
    const results = requests.map((r, i): PublishOutcome => {
      const first = r.idempotencyKey != null ? firstWithKey.get(r.idempotencyKey)! : i;
      const row = byIndex.get(first)!;
      const isNew = row.stored && first === i;
      return {
        eventId: BigInt(row.stored ? row.id! : row.existing_id!),
        duplicate: !isNew,
        deliveryCount: isNew ? row.webhook_ids.length : 0,
        ...(isNew ? { stored: storedByIndex.get(i)! } : {}),
      };
    });
    return { stale: [] as number[], results, rows, byIndex };
  }

  return {
    async publish(requests) {
      return (await store(requests, undefined)).results;
    },
    async sendTest(webhookId, request) {
      const { results, byIndex } = await store([request], webhookId);
      return { eventId: results[0]!.eventId, deliveryId: BigInt(byIndex.get(0)!.first_delivery_id!) };
    },
    async replay({ webhookId, since, onlyFailed, maxDeliveries }) {
      await refusePruned(since);
      const now = options.clock.now();
      const max = Math.min(maxDeliveries ?? REPLAY_UNBOUNDED, REPLAY_UNBOUNDED);
      const [row] = await sql.query<{ url: string | null; found: number; queued: number }>(REPLAY, [
        webhookId,
        since.toISOString(),
        onlyFailed,
        now.toISOString(),
        max,
      ]);
      if (!row || row.url === null) return null;
      if (Number(row.found) > max) {
        throw new PublishError(
          0,
          "since",
          `this replay would queue more than ${max} deliveries (HOOKGATE_MAX_REPLAY_DELIVERIES); nothing was queued: choose a later since, or onlyFailed`,
        );
      }
      if (row.queued) after([], true);
      return { url: row.url, queued: Number(row.queued) };
    },
    async replayCount({ webhookId, since, onlyFailed }) {
      await refusePruned(since);
      const [row] = await sql.query<{ url: string | null; found: number }>(REPLAY_COUNT, [webhookId, since.toISOString(), onlyFailed]);
      if (!row || row.url === null) return null;
      return Number(row.found);
    },
    deliveriesQueued() {
      after([], true);
    },
  };

  /** A replay from a time retention has deleted events up to would be silently partial: say so instead. */
  async function refusePruned(since: Date): Promise<void> {
    const pruned = await prunedUntil(sql);
    if (pruned && since.getTime() <= pruned.getTime()) {
      throw new PublishError(
        0,
        "since",
        `events published up to ${pruned.toISOString()} have been deleted by retention (HOOKGATE_RETENTION_DAYS); replay from a later time`,
      );
    }
  }
}

// One statement: the replay is all queued, or none of it is; and one that would queue more than
// $5 deliveries queues nothing (it reads at most one event past the limit to know).
/** What a replay sends again ($1 webhook, $2 since, $3 only failed): each event once. */
const REPLAY_SOURCE = `
  SELECT DISTINCT d.event_id FROM deliveries d
  WHERE d.webhook_id = $1 AND EXISTS (SELECT 1 FROM webhooks w WHERE w.id = $1)
    AND d.created_at >= $2::timestamptz AND (NOT $3::boolean OR d.status = 'FAILED')`;
const REPLAY = `
WITH src AS (${REPLAY_SOURCE}
  LIMIT $5::int + 1
), queued AS (
  INSERT INTO deliveries (event_id, webhook_id, status, next_attempt_at, created_at, updated_at)
  SELECT event_id, $1, 'PENDING'::"DeliveryStatus", $4::timestamptz, $4::timestamptz, $4::timestamptz
  FROM src WHERE (SELECT count(*) FROM src) <= $5::int
  RETURNING 1
)
SELECT (SELECT url FROM webhooks WHERE id = $1) AS url, (SELECT count(*)::int FROM src) AS found, (SELECT count(*)::int FROM queued) AS queued`;
const REPLAY_UNBOUNDED = 2_147_483_646;
/** The count replayCount answers: REPLAY's selection, read only. */
const REPLAY_COUNT = `
SELECT (SELECT url FROM webhooks WHERE id = $1) AS url, (SELECT count(*)::int FROM (${REPLAY_SOURCE}) src) AS found`;

/**
 * Checks one request and returns its payload's JSON text: the payloadJson string as given, or
 * JSON.stringify of the payload value (which keeps the order of its keys as received).
 */
function checkRequest(request: PublishRequest, index: number, maxBytes: number): string {
  const hasValue = request.payload !== undefined && request.payload !== null;
  const hasText = request.payloadJson !== undefined && request.payloadJson !== null;
  if (hasValue === hasText) {
    throw new PublishError(index, "payload", "give exactly one of payload and payloadJson (any JSON value but null)");
  }
  let text: string;
  if (hasText) {
    text = request.payloadJson!;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new PublishError(index, "payloadJson", `is not JSON: ${(error as Error).message}`);
    }
    if (parsed === null) throw new PublishError(index, "payloadJson", "is null; any JSON value but null");
  } else {
    text = JSON.stringify(request.payload);
  }
  const field = hasText ? "payloadJson" : "payload";
  // The store keeps a jsonb copy too (what the previous release reads), and jsonb has no NUL.
  if (NUL_ESCAPE.test(text)) throw new PublishError(index, field, "may not contain \\u0000 (the store cannot hold it)");
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) {
    throw new PublishError(index, field, `is ${bytes} bytes; the limit is ${maxBytes} (HOOKGATE_MAX_PAYLOAD_BYTES)`);
  }
  if (request.idempotencyKey !== undefined && request.idempotencyKey !== null) {
    if (request.idempotencyKey.length < 1 || request.idempotencyKey.length > 255) {
      throw new PublishError(index, "idempotencyKey", "must be 1 to 255 characters");
    }
  }
  const hasName = request.eventName !== undefined && request.eventName !== null;
  const hasId = request.eventTypeId !== undefined && request.eventTypeId !== null;
  if (hasName === hasId) throw new PublishError(index, "eventName", "give exactly one of eventName and eventTypeId");
  if (request.customerId != null && request.customerExternalId != null) {
    throw new PublishError(index, "customerId", "give at most one of customerId and customerExternalId");
  }
  return text;
}

/** A \u0000 escape that is not itself an escaped backslash followed by "u0000". */
const NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/;
