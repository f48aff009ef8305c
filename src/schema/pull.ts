import type { PulledDelivery } from "../dispatcher/pull-queue.js";
import { PULL_LIMITS } from "../dispatcher/pull-consumer.js";
import { builder } from "./builder.js";
import type { GatewayContext } from "./context.js";
import { requireId } from "../ids.js";

// The pull queue in GraphQL: a PULL webhook's consumer receives its deliveries in order and
// acknowledges them (the rules: src/dispatcher/pull-consumer.ts and pull-queue.ts). Who may:
// the admin and the owning service, as for the webhook's other operations.

const Notification = builder.objectRef<PulledDelivery>("Notification").implement({
  description: "A delivery of a PULL webhook, handed out to its consumer until it is acknowledged or its visibility timeout ends.",
  fields: (t) => ({
    receiptId: t.exposeID("receiptId", {
      description: "Acknowledge with this (acknowledgeNotifications). A new one each time the delivery is handed out; an older one no longer acknowledges it.",
    }),
    deliveryId: t.exposeID("deliveryId", { description: "The delivery (as deliveries and webhookLogs show it)." }),
    eventId: t.exposeID("eventId", { description: "The event's id." }),
    eventType: t.exposeString("eventType", { description: "The event type's name the event was published under." }),
    timestamp: t.field({ type: "DateTime", description: "When the event was published.", resolve: (n) => n.timestamp }),
    payload: t.field({ type: "JSON", description: "The event's payload as a JSON value.", resolve: (n) => JSON.parse(n.payload) as unknown }),
    body: t.exposeString("body", {
      description: "The JSON text a PUSH webhook would receive as its request body (id, type, timestamp, data), the payload as received.",
    }),
  }),
});

/** The fetch Request graphql-yoga puts in the context: its signal ends when the client goes away. */
function requestSignal(ctx: object): AbortSignal | undefined {
  return (ctx as { request?: Request }).request?.signal;
}

builder.mutationField("receiveNotifications", (t) =>
  t.field({
    type: [Notification],
    description: `The oldest notifications of a PULL webhook not yet acknowledged, in the order the live feed gives their events (at most max). At most one batch per webhook is out at a time: until it is acknowledged, or its visibility timeout (HOOKGATE_PULL_VISIBILITY_SECONDS) ends and it is handed out again with new receipts, a receive gets nothing. With none to hand out, waits up to waitSeconds (long polling) for one to arrive, then returns an empty list. The admin, or the owning service.`,
    args: {
      webhookId: t.arg.id({ required: true, description: "The PULL webhook whose notifications to receive." }),
      max: t.arg.int({ defaultValue: 1, description: `How many at most (1 to ${PULL_LIMITS.maxBatch}; default 1).` }),
      waitSeconds: t.arg.int({ defaultValue: 0, description: `How long to wait for one when there is none (0 to ${PULL_LIMITS.maxWaitSeconds}; default 0).` }),
    },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: (_root, args, ctx) => {
      const webhookId = requireId("webhookId", args.webhookId);
      const signal = requestSignal(ctx);
      return ctx.pull.receive({ webhookId, max: args.max ?? 1, waitSeconds: args.waitSeconds ?? 0, ...(signal ? { signal } : {}) });
    },
  }),
);

const AcknowledgePayload = builder.objectRef<{ acknowledged: string[] }>("AcknowledgeNotificationsPayload").implement({
  description: "Which receipts were acknowledged.",
  fields: (t) => ({
    acknowledgedReceiptIds: t.exposeIDList("acknowledged", {
      description:
        "The receipts whose deliveries are now SUCCEEDED. A receipt not listed was unknown, already acknowledged, or stale (its delivery was handed out again since, with a new receipt).",
    }),
  }),
});

builder.mutationField("acknowledgeNotifications", (t) =>
  t.field({
    type: AcknowledgePayload,
    description:
      "Acknowledges received notifications of a PULL webhook: each leaves the queue, its delivery becomes SUCCEEDED and an attempt (method PULL) is logged. Once a batch is acknowledged, the next one can be received. The admin, or the owning service.",
    args: {
      webhookId: t.arg.id({ required: true, description: "The PULL webhook the receipts belong to." }),
      receiptIds: t.arg.idList({ required: true, description: "Receipts from receiveNotifications (at most 1000)." }),
    },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: async (_root, args, ctx) => {
      const webhookId = requireId("webhookId", args.webhookId);
      return { acknowledged: await ctx.pull.acknowledge(webhookId, args.receiptIds.map(String)) };
    },
  }),
);
