import type { PrismaClient } from "../store/database.js";

export interface ReplayRequest {
  readonly webhookId: number;
  /** Deliveries created at or after this time are replayed. */
  readonly since: Date;
  /** Only events whose delivery FAILED. */
  readonly onlyFailed: boolean;
  /** The new deliveries' creation time, due at once. */
  readonly now: Date;
}

/**
 * Queues a new delivery of every event a webhook was sent since a time (the replayWebhook
 * mutation and `hookgate replay`). One statement: the replay is all queued, or none of it is.
 * null when the webhook does not exist.
 */
export async function replayWebhook(prisma: PrismaClient, request: ReplayRequest): Promise<{ url: string; queued: number } | null> {
  const { webhookId, since, onlyFailed, now } = request;
  const webhook = await prisma.webhook.findUnique({ where: { id: webhookId }, select: { url: true } });
  if (!webhook) return null;
  const queued = await prisma.$executeRaw`
    INSERT INTO deliveries (event_id, webhook_id, status, next_attempt_at, created_at, updated_at)
    SELECT DISTINCT event_id, webhook_id, 'PENDING'::"DeliveryStatus", ${now}::timestamptz, ${now}::timestamptz, ${now}::timestamptz
    FROM deliveries
    WHERE webhook_id = ${webhookId} AND created_at >= ${since}::timestamptz
      AND (${!onlyFailed} OR status = 'FAILED')`;
  return { url: webhook.url, queued };
}
