import { requireBigId, requireId } from "../ids.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import { previewReplay, replayWebhook, retryDelivery, sendTestEvent, type ReplayArgs } from "../webhooks/delivery-operations.js";
import { requireWebhook } from "../webhooks/lookups.js";
import { builder } from "./builder.js";
import { connectionNodeQuery, idConnection } from "./pagination.js";

export const DeliveryStatus = builder.enumType("DeliveryStatus", {
  description: "Where a delivery stands.",
  values: {
    PENDING: { description: "Not tried yet." },
    RETRYING: { description: "Failed; another attempt is scheduled (nextAttemptAt)." },
    SUCCEEDED: { description: "A 2xx came back." },
    FAILED: { description: "The retry schedule is spent (or the receiver answered 410 Gone); no more attempts unless retried by hand." },
  } as const,
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
    id: t.id({ description: "The attempt's id.", resolve: (row) => row.id.toString() }),
    attemptNumber: t.exposeInt("attemptNumber", { description: "1 for the first call of the delivery, then 2, 3, …" }),
    cursor: t.string({
      nullable: true,
      description: "Where deliveryAttempted resumes after this attempt (its `after`); set on the attempts deliveryAttempted gives, null elsewhere.",
      resolve: (row) => ("cursor" in row && typeof row.cursor === "string" ? row.cursor : null),
    }),
    startedAt: t.expose("startedAt", { type: "DateTime", description: "When the call started." }),
    durationMs: t.exposeInt("durationMs", { description: "From connect to the last byte of the response (or the error)." }),
    requestUrl: t.exposeString("requestUrl", { description: "The URL called." }),
    requestMethod: t.exposeString("requestMethod", { description: "The HTTP method used." }),
    requestHeaders: t.expose("requestHeaders", {
      type: "JSON",
      description: "The headers sent, as an object; Authorization and extra header values are redacted.",
    }),
    requestBody: t.exposeString("requestBody", { description: "The body sent." }),
    responseStatus: t.exposeInt("responseStatus", { nullable: true, description: "The HTTP status answered; null when no response came." }),
    responseHeaders: t.expose("responseHeaders", { type: "JSON", nullable: true, description: "The headers answered, as an object; null when no response came." }),
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
        "TIMEOUT, CONNECTION_REFUSED, CONNECTION_RESET, DNS, TLS, BLOCKED_TARGET, HTTP_STATUS, NETWORK, SECRET_UNREADABLE (not sent: the webhook's sealed secrets do not open with the dispatcher's HOOKGATE_ENCRYPTION_KEY), or RECORD_FAILED (the response could not be stored; the attempt is kept without it).",
    }),
    errorMessage: t.exposeString("errorMessage", { nullable: true, description: "What went wrong, in words; null on success." }),
    succeeded: t.exposeBoolean("succeeded", { description: "True when the receiver answered 2xx." }),
  }),
});

export const Delivery = builder.prismaObject("Delivery", {
  description: "An event on its way to one webhook: its status, attempts and next attempt.",
  fields: (t) => ({
    id: t.id({ description: "The delivery's id.", resolve: (row) => row.id.toString() }),
    event: t.relation("event", { description: "The event delivered." }),
    webhook: t.relation("webhook", { description: "The webhook it goes to." }),
    status: t.expose("status", { type: DeliveryStatus, description: "Where the delivery stands." }),
    attemptCount: t.exposeInt("attemptCount", { description: "Calls made so far." }),
    nextAttemptAt: t.expose("nextAttemptAt", { type: "DateTime", nullable: true, description: "When the next call is due; null when none is scheduled." }),
    lastAttemptAt: t.expose("lastAttemptAt", { type: "DateTime", nullable: true, description: "When the last call started; null before the first." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the delivery was queued." }),
    attempts: t.relation("attempts", { description: "Every call made, first to last.", query: { orderBy: { attemptNumber: "asc" } } }),
  }),
});

builder.queryField("webhookLogs", (t) =>
  t.connection(
    {
      type: Delivery,
      description: "A webhook's deliveries with every attempt, newest first: the admin, or the owning service.",
      args: {
        webhookId: t.arg.id({ required: true, description: "The webhook whose deliveries to list." }),
        status: t.arg({ type: DeliveryStatus, description: "Only deliveries in this status." }),
        since: t.arg({ type: "DateTime", description: "Only deliveries created at or after." }),
        until: t.arg({ type: "DateTime", description: "Only deliveries created before." }),
      },
      authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
      resolve: async (_root, args, ctx, info) => {
        const webhookId = requireId("webhookId", args.webhookId);
        await requireWebhook(ctx.prisma, webhookId);
        const filter: Prisma.DeliveryWhereInput = {
          webhookId,
          ...(args.status ? { status: args.status } : {}),
          ...(args.since || args.until
            ? { createdAt: { ...(args.since ? { gte: args.since } : {}), ...(args.until ? { lt: args.until } : {}) } }
            : {}),
        };
        const query = await connectionNodeQuery(ctx, info, "Delivery");
        return idConnection(ctx, args, (id, order, take, idsOnly) => {
          const read = { ...(idsOnly ? { select: { id: true } } : query), where: { AND: [filter, { id }] }, orderBy: { id: order }, take };
          if (idsOnly) return ctx.prisma.delivery.findMany(read);
          // Prisma reads the attempts in a second statement: one snapshot for both, or an attempt
          // recorded in between would show beside its delivery's old status and count.
          return ctx.prisma.$transaction((tx) => tx.delivery.findMany(read), { isolationLevel: "RepeatableRead" });
        });
      },
    },
    { description: "A page of a webhook's deliveries, newest first." },
    { description: "One delivery of a webhook's log, with its cursor." },
  ),
);

builder.mutationField("retryDelivery", (t) =>
  t.prismaField({
    type: "Delivery",
    description:
      "Schedules one more attempt of a delivery now (a FAILED one gets exactly one more): the admin, or the owning service.",
    args: { deliveryId: t.arg.id({ required: true, description: "The delivery to try again." }) },
    authScopes: (_root, args) => ({ admin: true, ownsDelivery: args.deliveryId }),
    resolve: async (query, _root, args, ctx) => {
      const id = requireBigId("deliveryId", args.deliveryId);
      await retryDelivery(ctx, id);
      return ctx.prisma.delivery.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);

const ReplayWebhookPayload = builder.objectRef<{ queued: number }>("ReplayWebhookPayload").implement({
  description: "What a replay queued.",
  fields: (t) => ({ queued: t.exposeInt("queued", { description: "New deliveries queued." }) }),
});

builder.mutationField("replayWebhook", (t) =>
  t.field({
    type: ReplayWebhookPayload,
    description:
      "Queues a new delivery of every event this webhook was sent since a time (only the FAILED ones with onlyFailed): the admin, or the owning service. One call queues at most HOOKGATE_MAX_REPLAY_DELIVERIES deliveries: a larger replay queues nothing and fails with BAD_USER_INPUT on since.",
    args: {
      webhookId: t.arg.id({ required: true, description: "The webhook to send the events to again." }),
      since: t.arg({ type: "DateTime", required: true, description: "Events first delivered to it at or after this time." }),
      onlyFailed: t.arg.boolean({ defaultValue: false, description: "Only events whose delivery FAILED." }),
    },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: async (_root, args, ctx) => ({ queued: await replayWebhook(ctx, replayRequest(args)) }),
  }),
);

/** replayWebhook's and replayPreview's arguments, parsed. */
function replayRequest(args: { webhookId: string | number; since: Date; onlyFailed?: boolean | null }): ReplayArgs {
  return { webhookId: requireId("webhookId", args.webhookId), since: args.since, onlyFailed: Boolean(args.onlyFailed) };
}

const ReplayPreview = builder.objectRef<{ count: number; limit: number }>("ReplayPreview").implement({
  description: "What replayWebhook with the same arguments would queue now.",
  fields: (t) => ({
    count: t.exposeInt("count", { description: "How many deliveries it would queue (one per event), as of now." }),
    limit: t.exposeInt("limit", {
      description: "HOOKGATE_MAX_REPLAY_DELIVERIES: a replay that would queue more than this queues nothing and is refused.",
    }),
  }),
});

builder.queryField("replayPreview", (t) =>
  t.field({
    type: ReplayPreview,
    description:
      "Counts what replayWebhook with these arguments would queue, without queuing anything, so a client can show the count before the replay is confirmed: the admin, or the owning service.",
    args: {
      webhookId: t.arg.id({ required: true, description: "The webhook a replay would send the events to again." }),
      since: t.arg({ type: "DateTime", required: true, description: "Events first delivered to it at or after this time." }),
      onlyFailed: t.arg.boolean({ defaultValue: false, description: "Only events whose delivery FAILED." }),
    },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: (_root, args, ctx) => previewReplay(ctx, replayRequest(args)),
  }),
);

builder.mutationField("sendTestEvent", (t) =>
  t.prismaField({
    type: "Delivery",
    description:
      "Stores an event made of the event type's sampleData and delivers it to this webhook only: the admin, or the owning service.",
    args: {
      webhookId: t.arg.id({ required: true, description: "The webhook to send the test event to." }),
      eventName: t.arg.string({ description: "Defaults to the first event type the webhook subscribes to." }),
    },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: async (query, _root, args, ctx) => {
      const deliveryId = await sendTestEvent(ctx, requireId("webhookId", args.webhookId), args.eventName);
      return ctx.prisma.delivery.findUniqueOrThrow({ ...query, where: { id: deliveryId } });
    },
  }),
);
