import type { Clock } from "../clock.js";
import type { Config } from "../config.js";
import type { PrismaClient } from "../store/database.js";

// webhookStats' counts, read from delivery_attempts beside the statements that write it
// (delivery-queue.ts): how the window is found depends on how attempts are inserted.

/** What the count reaches: the store, the time, and the lease (how late an attempt may be inserted). */
export interface AttemptStatsDeps {
  readonly prisma: PrismaClient;
  readonly clock: Clock;
  readonly config: Pick<Config, "HOOKGATE_LEASE_SECONDS">;
}

export interface StatsBucketShape {
  start: Date;
  attempts: number;
  succeeded: number;
}

export interface StatsSeriesShape {
  webhookId: number;
  attempts: number;
  succeeded: number;
  buckets: StatsBucketShape[];
}

export interface StatsShape {
  since: Date;
  until: Date;
  bucketSeconds: number;
  webhooks: StatsSeriesShape[];
}

/**
 * delivery_attempts has no index on time or webhook (each one would be paid on the dispatcher's
 * hot path), so the window is found through the primary key: attempt ids grow with the time
 * they are inserted, and an attempt is inserted within its lease (HOOKGATE_LEASE_SECONDS) of
 * starting. The newest attempt that started more than a lease (plus a minute for clock skew
 * between processes) before the window was inserted before any attempt of the window, so
 * everything the window needs has a larger id. Finding that attempt walks the primary key back
 * from the newest row and stops at the first old one; the aggregate then reads the id range
 * after it. Both cost what the window holds (every webhook's attempts in it), never the table.
 */
const STATS = `
WITH bound AS (
  SELECT coalesce((SELECT id FROM delivery_attempts WHERE started_at < $2 ORDER BY id DESC LIMIT 1), 0) AS id
)
SELECT webhook_id,
       floor(extract(epoch FROM started_at - $3::timestamptz) / $5::int)::int AS slot,
       count(*)::int AS attempts,
       count(*) FILTER (WHERE succeeded)::int AS succeeded
FROM delivery_attempts
WHERE id > (SELECT id FROM bound)
  AND webhook_id = ANY($1::int[])
  AND started_at >= $3 AND started_at < $4
GROUP BY webhook_id, slot
ORDER BY webhook_id, slot`;

/** Each webhook's attempts (and successes) that started in the last `hours`, per bucket of `bucketSeconds`. */
export async function attemptStats(deps: AttemptStatsDeps, ids: number[], hours: number, bucketSeconds: number): Promise<StatsShape> {
  const now = deps.clock.now().getTime();
  const bucketMs = bucketSeconds * 1000;
  const until = new Date(Math.floor(now / bucketMs) * bucketMs + bucketMs);
  const since = new Date(until.getTime() - hours * 3_600_000);
  const cut = new Date(since.getTime() - deps.config.HOOKGATE_LEASE_SECONDS * 1000 - 60_000);
  const rows = await deps.prisma.$queryRawUnsafe<{ webhook_id: number; slot: number; attempts: number; succeeded: number }[]>(
    STATS,
    ids,
    cut,
    since,
    until,
    bucketSeconds,
  );
  const series = new Map<number, StatsSeriesShape>(ids.map((id) => [id, { webhookId: id, attempts: 0, succeeded: 0, buckets: [] }]));
  for (const row of rows) {
    const s = series.get(Number(row.webhook_id))!;
    s.attempts += row.attempts;
    s.succeeded += row.succeeded;
    s.buckets.push({ start: new Date(since.getTime() + row.slot * bucketMs), attempts: row.attempts, succeeded: row.succeeded });
  }
  return { since, until, bucketSeconds, webhooks: [...series.values()] };
}
