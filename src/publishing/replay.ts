import type { PrismaClient } from "../store/database.js";

export interface ReplayRequest {
  readonly webhookId: number;
  /** Deliveries created at or after this time are replayed. */
  readonly since: Date;
  /** Only events whose delivery FAILED. */
  readonly onlyFailed: boolean;
  /** The new deliveries' creation time, due at once. */
  readonly now: Date;
  /** Most deliveries one replay may queue; past it nothing is queued (tooMany). Default: no limit. */
  readonly maxDeliveries?: number;
}

export interface ReplayResult {
  readonly url: string;
  readonly queued: number;
  /** More than maxDeliveries events matched: nothing was queued. */
  readonly tooMany: boolean;
}

/**
 * Queues a new delivery of every event a webhook was sent since a time (the replayWebhook
 * mutation and `hookgate replay`). One statement: the replay is all queued, or none of it is,
 * and a replay that would queue more than maxDeliveries queues nothing (it reads at most one
 * event past the limit to know). null when the webhook does not exist.
 */
export async function replayWebhook(prisma: PrismaClient, request: ReplayRequest): Promise<ReplayResult | null> {
  const { webhookId, since, onlyFailed, now } = request;
  const max = Math.min(request.maxDeliveries ?? 2_147_483_646, 2_147_483_646);
  const webhook = await prisma.webhook.findUnique({ where: { id: webhookId }, select: { url: true } });
  if (!webhook) return null;
  const [result] = await prisma.$queryRaw<{ found: number; queued: number }[]>`
    WITH src AS (
      SELECT DISTINCT event_id FROM deliveries
      WHERE webhook_id = ${webhookId} AND created_at >= ${since}::timestamptz
        AND (${!onlyFailed} OR status = 'FAILED')
      LIMIT ${max + 1}::int
    ), queued AS (
      INSERT INTO deliveries (event_id, webhook_id, status, next_attempt_at, created_at, updated_at)
      SELECT event_id, ${webhookId}::int, 'PENDING'::"DeliveryStatus", ${now}::timestamptz, ${now}::timestamptz, ${now}::timestamptz
      FROM src WHERE (SELECT count(*) FROM src) <= ${max}::int
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM src)::int AS found, (SELECT count(*) FROM queued)::int AS queued`;
  return { url: webhook.url, queued: result!.queued, tooMany: result!.found > max };
}
