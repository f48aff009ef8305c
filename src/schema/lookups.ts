import { notFound } from "../errors.js";
import type { PrismaClient } from "../store/database.js";

// Lookups several resolvers make before they act, written once so each answers the same way.

/** Throws NOT_FOUND ("webhook N does not exist") unless the webhook exists. */
export async function requireWebhook(prisma: PrismaClient, webhookId: number): Promise<void> {
  if (!(await prisma.webhook.findUnique({ where: { id: webhookId }, select: { id: true } }))) {
    throw notFound(`webhook ${webhookId}`);
  }
}

export interface EventTypeLookup {
  readonly found: readonly { readonly id: number; readonly name: string }[];
  /** Of the ids and names asked for, those no event type has (in the order asked); each caller words its own error. */
  readonly missingIds: readonly number[];
  readonly missingNames: readonly string[];
}

/** The event types with these ids or names, in one query. */
export async function findEventTypes(prisma: PrismaClient, ids: readonly number[], names: readonly string[]): Promise<EventTypeLookup> {
  const found = await prisma.eventType.findMany({
    where: { OR: [{ id: { in: [...ids] } }, { name: { in: [...names] } }] },
    select: { id: true, name: true },
  });
  return {
    found,
    missingIds: ids.filter((id) => !found.some((f) => f.id === id)),
    missingNames: names.filter((n) => !found.some((f) => f.name === n)),
  };
}
