import { builder } from "./builder.js";
import type { GatewayContext } from "./context.js";
import { badInput, gatewayError } from "../errors.js";
import { requireId } from "../ids.js";

/** At most this many webhooks per stats query: the console asks for the page it shows. */
const MAX_WEBHOOKS = 50;
const MAX_HOURS = 24;

interface StatsBucketShape {
  start: Date;
  attempts: number;
  succeeded: number;
}

interface StatsSeriesShape {
  webhookId: number;
  attempts: number;
  succeeded: number;
  buckets: StatsBucketShape[];
}

interface StatsShape {
  since: Date;
  until: Date;
  bucketSeconds: number;
  webhooks: StatsSeriesShape[];
}

const StatsBucket = builder.objectRef<StatsBucketShape>("WebhookStatsBucket").implement({
  description: "The attempts of one webhook that started in one time bucket.",
  fields: (t) => ({
    start: t.field({ type: "DateTime", description: "Where the bucket starts (inclusive); it lasts bucketSeconds.", resolve: (b) => b.start }),
    attempts: t.exposeInt("attempts", { description: "Attempts that started in the bucket." }),
    succeeded: t.exposeInt("succeeded", { description: "Of those, the ones answered with a 2xx." }),
  }),
});

const StatsSeries = builder.objectRef<StatsSeriesShape>("WebhookStatsSeries").implement({
  description: "One webhook's attempts over the window, in total and per bucket.",
  fields: (t) => ({
    webhookId: t.id({ description: "The webhook.", resolve: (s) => String(s.webhookId) }),
    attempts: t.exposeInt("attempts", { description: "Attempts that started in the window." }),
    succeeded: t.exposeInt("succeeded", { description: "Of those, the ones answered with a 2xx." }),
    successRate: t.float({
      nullable: true,
      description: "succeeded / attempts, from 0 to 1; null when there was no attempt.",
      resolve: (s) => (s.attempts ? s.succeeded / s.attempts : null),
    }),
    buckets: t.field({
      type: [StatsBucket],
      description: "Only the buckets with at least one attempt, oldest first (a missing bucket had none).",
      resolve: (s) => s.buckets,
    }),
  }),
});

const WebhookStats = builder.objectRef<StatsShape>("WebhookStats").implement({
  description: "Delivery attempts per webhook over a recent window, for charts.",
  fields: (t) => ({
    since: t.field({ type: "DateTime", description: "The window's start (inclusive), a bucket boundary.", resolve: (s) => s.since }),
    until: t.field({ type: "DateTime", description: "The window's end (exclusive), the bucket boundary after now.", resolve: (s) => s.until }),
    bucketSeconds: t.exposeInt("bucketSeconds", { description: "Each bucket's length." }),
    webhooks: t.field({
      type: [StatsSeries],
      description: "One series per requested webhook, in the order asked.",
      resolve: (s) => s.webhooks,
    }),
  }),
});

builder.queryField("webhookStats", (t) =>
  t.field({
    type: WebhookStats,
    description:
      "Attempts and successes per time bucket for up to 50 webhooks over the last hours (at most 24): the admin, or the service owning every webhook named.",
    authScopes: { admin: true, service: true },
    args: {
      webhookIds: t.arg.idList({ required: true, description: "The webhooks (1 to 50)." }),
      hours: t.arg.int({ defaultValue: 6, description: "How far back the window goes, 1 to 24 (default 6)." }),
      bucketMinutes: t.arg.int({ defaultValue: 1, description: "Bucket length in minutes, 1 to 60 (default 1)." }),
    },
    resolve: async (_root, args, ctx) => {
      const ids = [...new Set(args.webhookIds.map((id) => requireId("webhookIds", id)))];
      if (!ids.length || ids.length > MAX_WEBHOOKS) throw badInput("webhookIds", `give 1 to ${MAX_WEBHOOKS} webhook ids`);
      const hours = args.hours ?? 6;
      if (!Number.isInteger(hours) || hours < 1 || hours > MAX_HOURS) throw badInput("hours", `must be 1 to ${MAX_HOURS}`);
      const bucketMinutes = args.bucketMinutes ?? 1;
      if (bucketMinutes < 1 || bucketMinutes > 60) throw badInput("bucketMinutes", "must be 1 to 60");
      await checkVisible(ctx, ids);
      return webhookStats(ctx, ids, hours, bucketMinutes * 60);
    },
  }),
);

/** A service may ask only about its own webhooks; naming another's is FORBIDDEN, a missing one NOT_FOUND. */
async function checkVisible(ctx: GatewayContext, ids: number[]): Promise<void> {
  const found = await ctx.prisma.webhook.findMany({ where: { id: { in: ids } }, select: { id: true, serviceId: true } });
  const principal = ctx.principal!;
  for (const id of ids) {
    const webhook = found.find((w) => w.id === id);
    if (!webhook) throw gatewayError("NOT_FOUND", `webhook ${id} does not exist`, { field: "webhookIds" });
    if (principal.kind !== "admin" && !(principal.kind === "service" && principal.serviceId === webhook.serviceId)) {
      throw gatewayError("FORBIDDEN", `webhook ${id} is not this ${principal.kind} token's`, { field: "webhookIds" });
    }
  }
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

async function webhookStats(ctx: GatewayContext, ids: number[], hours: number, bucketSeconds: number): Promise<StatsShape> {
  const now = ctx.clock.now().getTime();
  const bucketMs = bucketSeconds * 1000;
  const until = new Date(Math.floor(now / bucketMs) * bucketMs + bucketMs);
  const since = new Date(until.getTime() - hours * 3_600_000);
  const cut = new Date(since.getTime() - ctx.config.HOOKGATE_LEASE_SECONDS * 1000 - 60_000);
  const rows = await ctx.prisma.$queryRawUnsafe<{ webhook_id: number; slot: number; attempts: number; succeeded: number }[]>(
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
