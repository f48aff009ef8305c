import { webhookNotFound } from "../errors.js";
import type { PrismaClient } from "../store/database.js";
import type { Prisma } from "../store/generated/prisma/client.js";

// Lookups the webhook rules and several resolvers make before they act, written once so each
// answers the same way (the same NOT_FOUND text, the same reading of names and ids).

/** `row` (a webhook read by id), or NOT_FOUND when the read found none. */
export function foundWebhook<T>(webhookId: number, row: T | null | undefined): T {
  if (row == null) throw webhookNotFound(webhookId);
  return row;
}

/** Throws NOT_FOUND ("webhook N does not exist") unless the webhook exists. */
export async function requireWebhook(prisma: PrismaClient, webhookId: number): Promise<void> {
  foundWebhook(webhookId, await prisma.webhook.findUnique({ where: { id: webhookId }, select: { id: true } }));
}

/** Columns a caller wants besides id and name. */
type ExtraColumns = Omit<Prisma.EventTypeSelect, "id" | "name">;
type FoundEventType<S extends ExtraColumns> = { readonly id: number; readonly name: string } & Prisma.EventTypeGetPayload<{ select: S }>;

export interface EventTypeLookup<Row> {
  readonly found: readonly Row[];
  /** Of the ids and names asked for, those no event type has (in the order asked); each caller words its own error. */
  readonly missingIds: readonly number[];
  readonly missingNames: readonly string[];
}

/** The event types with these ids or names, in one query: id, name and the `extra` columns of each. */
export async function findEventTypes<S extends ExtraColumns = Record<never, never>>(
  prisma: PrismaClient,
  ids: readonly number[],
  names: readonly string[],
  extra?: S,
): Promise<EventTypeLookup<FoundEventType<S>>> {
  const found = (await prisma.eventType.findMany({
    where: { OR: [{ id: { in: [...ids] } }, { name: { in: [...names] } }] },
    select: { ...extra, id: true, name: true },
  })) as unknown as FoundEventType<S>[];
  return {
    found,
    missingIds: ids.filter((id) => !found.some((f) => f.id === id)),
    missingNames: names.filter((n) => !found.some((f) => f.name === n)),
  };
}
