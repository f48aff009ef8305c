import { builder } from "./builder.js";
import { notFound } from "./errors.js";
import { requireId } from "./ids.js";
import { connectionSize } from "./pagination.js";

export const DeliveryStatus = builder.enumType("DeliveryStatus", {
  description: "PENDING: not tried yet. RETRYING: failed, another attempt is scheduled. SUCCEEDED: a 2xx came back. FAILED: the schedule is spent.",
  values: ["PENDING", "RETRYING", "SUCCEEDED", "FAILED"] as const,
});

export const DeliveryAttempt = builder.prismaObject("DeliveryAttempt", {
  description: "One HTTP call of a delivery, as sent and as answered. Secrets and auth are redacted.",
  fields: (t) => ({
    id: t.id({ resolve: (row) => row.id.toString() }),
    attemptNumber: t.exposeInt("attemptNumber"),
    startedAt: t.expose("startedAt", { type: "DateTime" }),
    durationMs: t.exposeInt("durationMs"),
    requestUrl: t.exposeString("requestUrl"),
    requestMethod: t.exposeString("requestMethod"),
    requestHeaders: t.expose("requestHeaders", { type: "JSON" }),
    requestBody: t.exposeString("requestBody"),
    responseStatus: t.exposeInt("responseStatus", { nullable: true }),
    responseHeaders: t.expose("responseHeaders", { type: "JSON", nullable: true }),
    responseBody: t.exposeString("responseBody", { nullable: true, description: "Truncated to the configured limit." }),
    errorClass: t.exposeString("errorClass", {
      nullable: true,
      description: "TIMEOUT, CONNECTION_REFUSED, CONNECTION_RESET, DNS, TLS, BLOCKED_TARGET, HTTP_STATUS or NETWORK.",
    }),
    errorMessage: t.exposeString("errorMessage", { nullable: true }),
    succeeded: t.exposeBoolean("succeeded"),
  }),
});

export const Delivery = builder.prismaObject("Delivery", {
  description: "An event on its way to one webhook: its status, attempts and next attempt.",
  fields: (t) => ({
    id: t.id({ resolve: (row) => row.id.toString() }),
    event: t.relation("event"),
    webhook: t.relation("webhook"),
    status: t.expose("status", { type: DeliveryStatus }),
    attemptCount: t.exposeInt("attemptCount"),
    nextAttemptAt: t.expose("nextAttemptAt", { type: "DateTime", nullable: true }),
    lastAttemptAt: t.expose("lastAttemptAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    attempts: t.relation("attempts", { query: { orderBy: { attemptNumber: "asc" } } }),
  }),
});

builder.queryField("webhookLogs", (t) =>
  t.prismaConnection(
    {
      type: "Delivery",
      cursor: "id",
      description: "A webhook's deliveries with every attempt, newest first (getWebhookLogs): the admin, or the owning service.",
      args: { webhookId: t.arg.id({ required: true }), status: t.arg({ type: DeliveryStatus }) },
      authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
      maxSize: (_args, ctx) => ctx.config.HOOKGATE_MAX_PAGE_SIZE,
      defaultSize: 20,
      resolve: async (query, _root, args, ctx) => {
        if (args.first != null) connectionSize(ctx, args.first);
        if (args.last != null) connectionSize(ctx, args.last);
        const webhookId = requireId("webhookId", args.webhookId);
        if (!(await ctx.prisma.webhook.findUnique({ where: { id: webhookId }, select: { id: true } }))) {
          throw notFound(`webhook ${webhookId}`);
        }
        return ctx.prisma.delivery.findMany({
          ...query,
          where: { webhookId, ...(args.status ? { status: args.status } : {}) },
          orderBy: { id: "desc" },
        });
      },
    },
    {},
    {},
  ),
);
