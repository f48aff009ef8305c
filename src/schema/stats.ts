import { attemptStats, type StatsBucketShape, type StatsSeriesShape, type StatsShape } from "../dispatcher/attempt-stats.js";
import type { Principal } from "../auth/principal.js";
import { badInput, gatewayError, webhookNotFound } from "../errors.js";
import { requireId } from "../ids.js";
import { builder } from "./builder.js";
import type { PrismaClient } from "../store/database.js";

/** At most this many webhooks per stats query: the console asks for the page it shows. */
const MAX_WEBHOOKS = 50;
const MAX_HOURS = 24;

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
      await checkVisible(ctx.prisma, ctx.principal!, ids);
      return attemptStats(ctx, ids, hours, bucketMinutes * 60);
    },
  }),
);

/** A service may ask only about its own webhooks; naming another's is FORBIDDEN, a missing one NOT_FOUND. */
async function checkVisible(prisma: PrismaClient, principal: Principal, ids: number[]): Promise<void> {
  const found = await prisma.webhook.findMany({ where: { id: { in: ids } }, select: { id: true, serviceId: true } });
  for (const id of ids) {
    const webhook = found.find((w) => w.id === id);
    if (!webhook) throw webhookNotFound(id, "webhookIds");
    if (principal.kind !== "admin" && !(principal.kind === "service" && principal.serviceId === webhook.serviceId)) {
      throw gatewayError("FORBIDDEN", `webhook ${id} is not this ${principal.kind} token's`, { field: "webhookIds" });
    }
  }
}
