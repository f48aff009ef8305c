import { visibleEventsWhere } from "../auth/event-visibility.js";
import { encodeCursor, positionOf } from "../live/position.js";
import { publishEvents } from "../publishing/publish-events.js";
import type { PublishOutcome, PublishRequest } from "../publishing/publisher.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import { builder } from "./builder.js";
import { badInput } from "../errors.js";
import { requireId } from "../ids.js";
import { connectionNodeQuery, idConnection } from "./pagination.js";

export const Event = builder.prismaObject("Event", {
  description: "One published occurrence of an event type, stored durably.",
  fields: (t) => ({
    id: t.id({
      description: "Unique; drawn in increasing order when publishing starts, so events do not become visible (or arrive live) in id order.",
      resolve: (e) => e.id.toString(),
    }),
    cursor: t.string({
      description:
        "Opaque: where this event stands in the order live subscribers see. Give it as eventPublished's `after` to resume after this event; it stays valid when the event is deleted.",
      resolve: async (e, _args, ctx) => encodeCursor(await ctx.live.clusterId(), positionOf(e)),
    }),
    eventType: t.relation("eventType", { description: "The event's type." }),
    eventName: t.exposeString("eventName", { description: "The event type's name when the event was published." }),
    customer: t.relation("customer", { nullable: true, description: "The customer the event is about; null for an event about no one." }),
    payload: t.field({
      type: "JSON",
      description: "The payload as a JSON value, parsed from payloadJson.",
      // Live events carry the value parsed once per process; a row read here is parsed from its text.
      resolve: (e) => ("webhookIds" in e || e.payloadText === null ? e.payload : JSON.parse(e.payloadText)),
    }),
    payloadJson: t.string({
      description:
        "The payload's JSON text exactly as stored and delivered as the webhook body's `data`: a payloadJson input byte for byte, a payload input as received (see README, Payloads). Events stored by releases before this field: as the database re-serialised them.",
      resolve: (e) => e.payloadText ?? JSON.stringify(e.payload),
    }),
    idempotencyKey: t.exposeString("idempotencyKey", { nullable: true, description: "The key it was published with, if any." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the event was stored." }),
  }),
});

builder.queryField("events", (t) =>
  t.connection(
    {
      type: Event,
      description: "Stored events the caller may see, newest first.",
      authScopes: { authenticated: true },
      args: {
        eventNames: t.arg.stringList({ description: "Only these event types." }),
        customerId: t.arg.id({ description: "Only events about this customer." }),
        since: t.arg({ type: "DateTime", description: "Created at or after." }),
        until: t.arg({ type: "DateTime", description: "Created before." }),
      },
      resolve: async (_root, args, ctx, info) => {
        const filter: Prisma.EventWhereInput = {
          AND: [
            visibleEventsWhere(ctx.principal!),
            args.eventNames ? { eventType: { name: { in: [...args.eventNames] } } } : {},
            args.customerId ? { customerId: requireId("customerId", args.customerId) } : {},
            args.since || args.until ? { createdAt: { ...(args.since ? { gte: args.since } : {}), ...(args.until ? { lt: args.until } : {}) } } : {},
          ],
        };
        const query = await connectionNodeQuery(ctx, info, "Event");
        return idConnection(ctx, args, (id, order, take, idsOnly) =>
          ctx.prisma.event.findMany({ ...(idsOnly ? { select: { id: true } } : query), where: { AND: [filter, { id }] }, orderBy: { id: order }, take }),
        );
      },
    },
    { description: "A page of events, newest first." },
    { description: "One event with its cursor." },
  ),
);

const PublishEventInput = builder.inputType("PublishEventInput", {
  description:
    "Exactly one of eventName and eventTypeId; at most one of customerId and customerExternalId; exactly one of payload and payloadJson.",
  fields: (t) => ({
    eventName: t.string({ description: "The event type, by name." }),
    eventTypeId: t.id({ description: "The event type, by id." }),
    customerId: t.id({ description: "The customer the event is about; without one it goes to every subscribed webhook." }),
    customerExternalId: t.string({ description: "The customer by the platform's own id." }),
    payload: t.field({
      type: "JSON",
      description: "Delivered as `data`; any JSON value but null. Exactly one of payload and payloadJson.",
    }),
    payloadJson: t.string({
      description:
        "The payload as JSON text, stored and delivered as `data` byte for byte (numbers beyond a double's precision, signed payloads); any JSON value but null. Exactly one of payload and payloadJson.",
    }),
    idempotencyKey: t.string({ description: "Publishing the same key again returns the first event and writes nothing." }),
  }),
});

type PublishEventArgs = {
  eventName?: string | null;
  eventTypeId?: string | number | null;
  customerId?: string | number | null;
  customerExternalId?: string | null;
  payload?: unknown;
  payloadJson?: string | null;
  idempotencyKey?: string | null;
};

const PublishEventPayload = builder
  .objectRef<PublishOutcome>("PublishEventPayload")
  .implement({
    description: "The result of publishing one event.",
    fields: (t) => ({
      event: t.prismaField({
        type: "Event",
        description: "The stored event (for a duplicate, the event first published with the key).",
        // A new event is answered from what the publish statement returned (relations asked for
        // are loaded by Pothos); a duplicate's first event is read.
        resolve: (query, p, _args, ctx) => (p.stored ? (p.stored as never) : ctx.prisma.event.findUniqueOrThrow({ ...query, where: { id: p.eventId } })),
      }),
      duplicate: t.exposeBoolean("duplicate", { description: "The idempotency key was seen before; nothing new was stored." }),
      deliveryCount: t.exposeInt("deliveryCount", { description: "Webhook deliveries this publish created." }),
    }),
  });

function toRequest(field: string, input: PublishEventArgs): PublishRequest {
  return {
    eventName: input.eventName ?? null,
    eventTypeId: input.eventTypeId != null ? requireId(`${field}.eventTypeId`, input.eventTypeId) : null,
    customerId: input.customerId != null ? requireId(`${field}.customerId`, input.customerId) : null,
    customerExternalId: input.customerExternalId ?? null,
    payload: input.payload,
    payloadJson: input.payloadJson ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
  };
}

builder.mutationField("publishEvent", (t) =>
  t.field({
    type: PublishEventPayload,
    description: "Stores an event and queues a delivery to every routed webhook, in one transaction (admin only).",
    args: { input: t.arg({ type: PublishEventInput, required: true, description: "The event to publish." }) },
    authScopes: { admin: true },
    resolve: async (_root, { input }, ctx) => {
      const [result] = await publishEvents(ctx, () => "input", [toRequest("input", input)]);
      return result!;
    },
  }),
);

const PublishEventsInput = builder.inputType("PublishEventsInput", {
  description: "A batch of events to publish together.",
  fields: (t) => ({ events: t.field({ type: [PublishEventInput], required: true, description: "The events, at most HOOKGATE_MAX_BATCH_SIZE." }) }),
});

const PublishEventsPayload = builder
  .objectRef<{ results: PublishOutcome[] }>("PublishEventsPayload")
  .implement({
    description: "What a batch publish stored.",
    fields: (t) => ({
      results: t.field({ type: [PublishEventPayload], description: "One result per event, in the order given.", resolve: (p) => p.results }),
    }),
  });

builder.mutationField("publishEvents", (t) =>
  t.field({
    type: PublishEventsPayload,
    description: "Publishes a batch in one round trip and one transaction: every event is stored, or none (admin only).",
    args: { input: t.arg({ type: PublishEventsInput, required: true, description: "The events to publish." }) },
    authScopes: { admin: true },
    resolve: async (_root, { input }, ctx) => {
      const max = ctx.config.HOOKGATE_MAX_BATCH_SIZE;
      if (input.events.length < 1 || input.events.length > max) {
        throw badInput("input.events", `must hold 1 to ${max} events (HOOKGATE_MAX_BATCH_SIZE)`);
      }
      const requests = input.events.map((e, i) => toRequest(`input.events[${i}]`, e));
      return { results: await publishEvents(ctx, (i) => `input.events[${i}]`, requests) };
    },
  }),
);
