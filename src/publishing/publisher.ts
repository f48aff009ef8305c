import type { Clock } from "../dispatcher/clock.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import type { PrismaClient } from "../store/database.js";
import type { PayloadSchemas } from "./payload-schema.js";

/** One event to publish; the type by name or id, the customer by id or external id. */
export interface PublishRequest {
  readonly eventName?: string | null;
  readonly eventTypeId?: number | null;
  readonly customerId?: number | null;
  readonly customerExternalId?: string | null;
  readonly payload: unknown;
  readonly idempotencyKey?: string | null;
}

export interface PublishedEvent {
  readonly eventId: bigint;
  /** True when the idempotency key was seen before: the stored event is returned, nothing is written. */
  readonly duplicate: boolean;
  /** Deliveries written for this event (0 for a duplicate). */
  readonly deliveryCount: number;
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

export interface Publisher {
  /** Stores the events and their deliveries in one transaction: all of the batch, or none. */
  publish(requests: readonly PublishRequest[]): Promise<PublishedEvent[]>;
}

/**
 * A stored event with what live subscribers need to filter it without reading the store:
 * its type name and the webhooks (and their services) it was routed to.
 */
export interface StoredEvent {
  readonly id: bigint;
  readonly eventTypeId: number;
  readonly eventName: string;
  readonly customerId: number | null;
  readonly payload: unknown;
  readonly idempotencyKey: string | null;
  readonly createdAt: Date;
  readonly webhookIds: readonly number[];
  readonly serviceIds: readonly number[];
}

/**
 * Every transaction that stores events takes this lock before it draws event ids, and holds it
 * until it commits. So events become visible in id order: once event N can be read, every event
 * below N has committed or never will. Live subscriptions rely on it to resume by id without a
 * gap (without it, a slow transaction could commit id 10 after id 11 was seen).
 */
export async function lockEventOrder(tx: Prisma.TransactionClient): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${EVENT_ORDER_LOCK}::bigint)`;
}
const EVENT_ORDER_LOCK = 72_707_370;

export interface PublisherOptions {
  readonly maxPayloadBytes: number;
  /** Stamps events and their deliveries, so an injected clock sees them due at once. */
  readonly clock: Clock;
  /**
   * Runs after the transaction commits, with the new events in id order (none for a batch of
   * idempotent repeats: it is not called then): dispatcher wake-up, metrics, live subscriptions.
   */
  readonly afterCommit?: (events: StoredEvent[]) => void;
  /** Event types' payload schemas (compiled once per schema). */
  readonly schemas: PayloadSchemas;
}

export function createPublisher(prisma: PrismaClient, options: PublisherOptions): Publisher {
  return {
    async publish(requests) {
      requests.forEach((r, i) => checkPayload(r, i, options.maxPayloadBytes));
      const now = options.clock.now();
      const { results, stored } = await prisma.$transaction((tx) => publishInTransaction(tx, requests, now, options.schemas), {
        timeout: 30_000,
      });
      if (stored.length) options.afterCommit?.(stored);
      return results;
    },
  };
}

function checkPayload(request: PublishRequest, index: number, maxBytes: number): void {
  if (request.payload === undefined || request.payload === null) {
    throw new PublishError(index, "payload", "is required (any JSON value but null)");
  }
  const bytes = Buffer.byteLength(JSON.stringify(request.payload));
  if (bytes > maxBytes) {
    throw new PublishError(index, "payload", `is ${bytes} bytes; the limit is ${maxBytes} (HOOKGATE_MAX_PAYLOAD_BYTES)`);
  }
  if (request.idempotencyKey !== undefined && request.idempotencyKey !== null) {
    if (request.idempotencyKey.length < 1 || request.idempotencyKey.length > 255) {
      throw new PublishError(index, "idempotencyKey", "must be 1 to 255 characters");
    }
  }
}

type Tx = Prisma.TransactionClient;

async function publishInTransaction(
  tx: Tx,
  requests: readonly PublishRequest[],
  now: Date,
  schemas: PayloadSchemas,
): Promise<{ results: PublishedEvent[]; stored: StoredEvent[] }> {
  const { typeIds, names, schemaTexts } = await resolveEventTypes(tx, requests);
  requests.forEach((request, i) => {
    const problem = schemas.problem(typeIds[i]!, schemaTexts.get(typeIds[i]!) ?? null, request.payload);
    if (problem) {
      throw new PublishError(i, "payload", `does not match the event type's schema at "${problem.path || "/"}": ${problem.message}`);
    }
  });
  const customerIds = await resolveCustomers(tx, requests);

  await lockEventOrder(tx);
  // Ids are drawn first so each request knows its row before the insert; unused ids are harmless gaps.
  const ids = await tx.$queryRaw<{ id: bigint }[]>`
    SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id FROM generate_series(1, ${requests.length}::int)`;

  // Within a batch, a repeated key maps to its first occurrence.
  const firstWithKey = new Map<string, number>();
  const rows: Prisma.EventCreateManyInput[] = [];
  requests.forEach((request, i) => {
    const key = request.idempotencyKey ?? null;
    if (key !== null) {
      if (firstWithKey.has(key)) return;
      firstWithKey.set(key, i);
    }
    rows.push({
      id: ids[i]!.id,
      eventTypeId: typeIds[i]!,
      eventName: names.get(typeIds[i]!)!,
      customerId: customerIds[i] ?? null,
      payload: request.payload as Prisma.InputJsonValue,
      idempotencyKey: key,
      createdAt: now,
    });
  });
  // ON CONFLICT DO NOTHING: a key stored earlier (or by a concurrent publish) keeps its first event.
  await tx.event.createMany({ data: rows, skipDuplicates: true });

  const keys = [...firstWithKey.keys()];
  const storedByKey = new Map<string, bigint>();
  if (keys.length) {
    const stored = await tx.event.findMany({ where: { idempotencyKey: { in: keys } }, select: { id: true, idempotencyKey: true } });
    for (const e of stored) storedByKey.set(e.idempotencyKey!, e.id);
  }

  const eventIds: bigint[] = [];
  const isNew: boolean[] = [];
  requests.forEach((request, i) => {
    const key = request.idempotencyKey ?? null;
    const id = key === null ? ids[i]!.id : storedByKey.get(key)!;
    eventIds.push(id);
    isNew.push(id === ids[i]!.id);
  });

  const deliveries = await route(
    tx,
    now,
    requests.map((_, i) => ({ eventId: eventIds[i]!, eventTypeId: typeIds[i]!, customerId: customerIds[i] ?? null })).filter((_, i) => isNew[i]),
  );
  if (deliveries.length) await tx.delivery.createMany({ data: deliveries.map((d) => d.row) });

  const routed = new Map<bigint, { webhookIds: number[]; serviceIds: Set<number> }>();
  for (const d of deliveries) {
    const entry = routed.get(d.row.eventId as bigint) ?? { webhookIds: [], serviceIds: new Set<number>() };
    entry.webhookIds.push(d.row.webhookId);
    entry.serviceIds.add(d.serviceId);
    routed.set(d.row.eventId as bigint, entry);
  }
  const stored: StoredEvent[] = [];
  requests.forEach((request, i) => {
    if (!isNew[i]) return;
    const r = routed.get(eventIds[i]!);
    stored.push({
      id: eventIds[i]!,
      eventTypeId: typeIds[i]!,
      eventName: names.get(typeIds[i]!)!,
      customerId: customerIds[i] ?? null,
      payload: request.payload,
      idempotencyKey: request.idempotencyKey ?? null,
      createdAt: now,
      webhookIds: r?.webhookIds ?? [],
      serviceIds: r ? [...r.serviceIds] : [],
    });
  });
  const results = eventIds.map((eventId, i) => ({
    eventId,
    duplicate: !isNew[i],
    deliveryCount: isNew[i] ? (routed.get(eventId)?.webhookIds.length ?? 0) : 0,
  }));
  return { results, stored };
}

interface RoutedDelivery {
  readonly row: Prisma.DeliveryCreateManyInput & { webhookId: number };
  readonly serviceId: number;
}

interface Routable {
  eventId: bigint;
  eventTypeId: number;
  customerId: number | null;
}

/**
 * The routing rule: an event of type T about customer C goes to every active webhook
 * subscribed to T on which C is registered; with no customer, to every active webhook subscribed to T.
 */
async function route(tx: Tx, now: Date, events: Routable[]): Promise<RoutedDelivery[]> {
  if (!events.length) return [];
  const typeIds = [...new Set(events.map((e) => e.eventTypeId))];
  const customers = [...new Set(events.map((e) => e.customerId).filter((c): c is number => c !== null))];
  const webhooks = await tx.webhook.findMany({
    where: { isActive: true, eventTypes: { some: { eventTypeId: { in: typeIds } } } },
    select: {
      id: true,
      serviceId: true,
      eventTypes: { where: { eventTypeId: { in: typeIds } }, select: { eventTypeId: true } },
      registrations: { where: { customerId: { in: customers } }, select: { customerId: true } },
    },
    orderBy: { id: "asc" },
  });
  const byType = new Map<number, { id: number; serviceId: number; customers: Set<number> }[]>();
  for (const w of webhooks) {
    const entry = { id: w.id, serviceId: w.serviceId, customers: new Set(w.registrations.map((r) => r.customerId)) };
    for (const { eventTypeId } of w.eventTypes) {
      const list = byType.get(eventTypeId) ?? [];
      list.push(entry);
      byType.set(eventTypeId, list);
    }
  }
  const out: RoutedDelivery[] = [];
  for (const event of events) {
    for (const webhook of byType.get(event.eventTypeId) ?? []) {
      if (event.customerId === null || webhook.customers.has(event.customerId)) {
        out.push({
          row: { eventId: event.eventId, webhookId: webhook.id, nextAttemptAt: now, createdAt: now, updatedAt: now },
          serviceId: webhook.serviceId,
        });
      }
    }
  }
  return out;
}

async function resolveEventTypes(
  tx: Tx,
  requests: readonly PublishRequest[],
): Promise<{ typeIds: number[]; names: Map<number, string>; schemaTexts: Map<number, string> }> {
  const wantedNames = new Set<string>();
  const ids = new Set<number>();
  requests.forEach((r, i) => {
    const hasName = r.eventName !== undefined && r.eventName !== null;
    const hasId = r.eventTypeId !== undefined && r.eventTypeId !== null;
    if (hasName === hasId) throw new PublishError(i, "eventName", "give exactly one of eventName and eventTypeId");
    if (hasName) wantedNames.add(r.eventName!);
    else ids.add(r.eventTypeId!);
  });
  const found = await tx.eventType.findMany({
    where: { OR: [{ name: { in: [...wantedNames] } }, { id: { in: [...ids] } }] },
    select: { id: true, name: true, jsonSchema: true },
  });
  const byName = new Map(found.map((t) => [t.name, t.id]));
  const byId = new Set(found.map((t) => t.id));
  const names = new Map(found.map((t) => [t.id, t.name]));
  const schemaTexts = new Map(found.filter((t) => t.jsonSchema !== null).map((t) => [t.id, JSON.stringify(t.jsonSchema)]));
  const typeIds = requests.map((r, i) => {
    if (r.eventName !== undefined && r.eventName !== null) {
      const id = byName.get(r.eventName);
      if (id === undefined) throw new PublishError(i, "eventName", `event type "${r.eventName}" does not exist`, "NOT_FOUND");
      return id;
    }
    if (!byId.has(r.eventTypeId!)) throw new PublishError(i, "eventTypeId", `event type ${r.eventTypeId} does not exist`, "NOT_FOUND");
    return r.eventTypeId!;
  });
  return { typeIds, names, schemaTexts };
}

async function resolveCustomers(tx: Tx, requests: readonly PublishRequest[]): Promise<(number | undefined)[]> {
  const ids = new Set<number>();
  const externalIds = new Set<string>();
  requests.forEach((r, i) => {
    const hasId = r.customerId !== undefined && r.customerId !== null;
    const hasExternal = r.customerExternalId !== undefined && r.customerExternalId !== null;
    if (hasId && hasExternal) throw new PublishError(i, "customerId", "give at most one of customerId and customerExternalId");
    if (hasId) ids.add(r.customerId!);
    if (hasExternal) externalIds.add(r.customerExternalId!);
  });
  if (!ids.size && !externalIds.size) return requests.map(() => undefined);
  const found = await tx.customer.findMany({
    where: { OR: [{ id: { in: [...ids] } }, { externalId: { in: [...externalIds] } }] },
    select: { id: true, externalId: true },
  });
  const byId = new Set(found.map((c) => c.id));
  const byExternal = new Map(found.filter((c) => c.externalId !== null).map((c) => [c.externalId!, c.id]));
  return requests.map((r, i) => {
    if (r.customerId !== undefined && r.customerId !== null) {
      if (!byId.has(r.customerId)) throw new PublishError(i, "customerId", `customer ${r.customerId} does not exist`, "NOT_FOUND");
      return r.customerId;
    }
    if (r.customerExternalId !== undefined && r.customerExternalId !== null) {
      const id = byExternal.get(r.customerExternalId);
      if (id === undefined) {
        throw new PublishError(i, "customerExternalId", `customer with externalId "${r.customerExternalId}" does not exist`, "NOT_FOUND");
      }
      return id;
    }
    return undefined;
  });
}
