import { RETRY_DELIVERY } from "../dispatcher/outbox.js";
import { lockEventOrder } from "../publishing/publisher.js";
import { builder } from "./builder.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import { badInput, conflict, notFound } from "./errors.js";
import { requireBigId, requireId } from "./ids.js";
import { checkIdCursor, connectionSize } from "./pagination.js";
import { replayWebhook } from "../publishing/replay.js";

export const DeliveryStatus = builder.enumType("DeliveryStatus", {
  description: "PENDING: not tried yet. RETRYING: failed, another attempt is scheduled. SUCCEEDED: a 2xx came back. FAILED: the schedule is spent.",
  values: ["PENDING", "RETRYING", "SUCCEEDED", "FAILED"] as const,
});

export const ResponseBodyEncoding = builder.enumType("ResponseBodyEncoding", {
  description: "How an attempt's responseBody holds the bytes the receiver sent.",
  values: {
    TEXT: { description: "The bytes were UTF-8 text without NUL, shown as that text." },
    BASE64: { description: "Any other bytes (binary, UTF-16, invalid UTF-8, a NUL), shown as base64: decode it for the exact bytes." },
  } as const,
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
    responseBody: t.exposeString("responseBody", {
      nullable: true,
      description: "Truncated to the configured limit. Text as received, or base64 of the bytes when responseBodyEncoding says BASE64.",
    }),
    responseBodyEncoding: t.field({
      type: ResponseBodyEncoding,
      nullable: true,
      description: "How responseBody holds the bytes: TEXT (UTF-8 as received) or BASE64 (they were not UTF-8 text without NUL: binary, UTF-16, invalid UTF-8). null when there was no response.",
      select: { responseBody: true, responseBodyEncoding: true },
      resolve: (row) => (row.responseBody === null ? null : row.responseBodyEncoding === "base64" ? "BASE64" : "TEXT"),
    }),
    errorClass: t.exposeString("errorClass", {
      nullable: true,
      description:
        "TIMEOUT, CONNECTION_REFUSED, CONNECTION_RESET, DNS, TLS, BLOCKED_TARGET, HTTP_STATUS, NETWORK, or RECORD_FAILED (the response could not be stored; the attempt is kept without it).",
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
        if (args.last != null) connectionSize(ctx, args.last, "last");
        checkIdCursor(query, args);
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

builder.mutationField("retryDelivery", (t) =>
  t.prismaField({
    type: "Delivery",
    description:
      "Schedules one more attempt of a delivery now (a FAILED one gets exactly one more): the admin, or the owning service.",
    args: { deliveryId: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ admin: true, ownsDelivery: args.deliveryId }),
    resolve: async (query, _root, args, ctx) => {
      const id = requireBigId("deliveryId", args.deliveryId);
      const now = ctx.clock.now();
      // One conditional write: never a delivery that succeeded, or one a worker is sending right now.
      const [result] = await ctx.prisma.$queryRawUnsafe<{ queued: number }[]>(RETRY_DELIVERY, id, now);
      if (!result!.queued) {
        const delivery = await ctx.prisma.delivery.findUnique({ where: { id }, select: { status: true } });
        if (!delivery) throw notFound(`delivery ${id}`);
        if (delivery.status === "SUCCEEDED") throw conflict(`delivery ${id} already succeeded; use replayWebhook to send it again`);
        throw conflict(`delivery ${id} is being sent right now; its outcome will be in webhookLogs shortly`);
      }
      ctx.deliveriesQueued();
      return ctx.prisma.delivery.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

const ReplayWebhookPayload = builder.objectRef<{ queued: number }>("ReplayWebhookPayload").implement({
  fields: (t) => ({ queued: t.exposeInt("queued", { description: "New deliveries queued." }) }),
});

builder.mutationField("replayWebhook", (t) =>
  t.field({
    type: ReplayWebhookPayload,
    description:
      "Queues a new delivery of every event this webhook was sent since a time (only the FAILED ones with onlyFailed): the admin, or the owning service. One call queues at most HOOKGATE_MAX_REPLAY_DELIVERIES deliveries: a larger replay queues nothing and fails with BAD_USER_INPUT on since.",
    args: {
      webhookId: t.arg.id({ required: true }),
      since: t.arg({ type: "DateTime", required: true }),
      onlyFailed: t.arg.boolean({ defaultValue: false }),
    },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: async (_root, args, ctx) => {
      const webhookId = requireId("webhookId", args.webhookId);
      const replay = await replayWebhook(ctx.prisma, {
        webhookId,
        since: args.since,
        onlyFailed: Boolean(args.onlyFailed),
        now: ctx.clock.now(),
        maxDeliveries: ctx.config.HOOKGATE_MAX_REPLAY_DELIVERIES,
      });
      if (!replay) throw notFound(`webhook ${webhookId}`);
      if (replay.tooMany) {
        throw badInput(
          "since",
          `this replay would queue more than ${ctx.config.HOOKGATE_MAX_REPLAY_DELIVERIES} deliveries (HOOKGATE_MAX_REPLAY_DELIVERIES); nothing was queued: choose a later since, or onlyFailed`,
        );
      }
      if (replay.queued) ctx.deliveriesQueued();
      return { queued: replay.queued };
    },
  }),
);

builder.mutationField("sendTestEvent", (t) =>
  t.prismaField({
    type: "Delivery",
    description:
      "Stores an event made of the event type's sampleData and delivers it to this webhook only: the admin, or the owning service.",
    args: {
      webhookId: t.arg.id({ required: true }),
      eventName: t.arg.string({ description: "Defaults to the first event type the webhook subscribes to." }),
    },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: async (query, _root, args, ctx) => {
      const webhookId = requireId("webhookId", args.webhookId);
      const webhook = await ctx.prisma.webhook.findUnique({
        where: { id: webhookId },
        select: { eventTypes: { select: { eventType: true }, orderBy: { eventTypeId: "asc" }, take: 1 } },
      });
      if (!webhook) throw notFound(`webhook ${webhookId}`);
      const type = args.eventName
        ? await ctx.prisma.eventType.findUnique({ where: { name: args.eventName } })
        : (webhook.eventTypes[0]?.eventType ?? null);
      if (!type) throw notFound(`event type "${args.eventName ?? "(none subscribed)"}"`);
      const now = ctx.clock.now();
      const delivery = await ctx.prisma.$transaction(async (tx) => {
        await lockEventOrder(tx); // a test event is an event: it is stored in id order like the others
        return tx.delivery.create({
          ...query,
          data: {
            webhook: { connect: { id: webhookId } },
            nextAttemptAt: now,
            createdAt: now,
            updatedAt: now,
            event: {
              create: { eventTypeId: type.id, eventName: type.name, payload: type.sampleData as Prisma.InputJsonValue, createdAt: now },
            },
          },
        });
      });
      ctx.deliveriesQueued();
      ctx.live.eventsStored();
      return delivery;
    },
  }),
);
