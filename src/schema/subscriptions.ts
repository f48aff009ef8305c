import type { EventFilter } from "../live/event-stream.js";
import type { Live } from "../live/live.js";
import { builder } from "./builder.js";
import type { GatewayContext } from "./context.js";
import { DeliveryAttempt } from "./deliveries.js";
import { badInput, gatewayError } from "../errors.js";
import { Event } from "./events.js";
import { requireId } from "../ids.js";
import { findEventTypes, requireWebhook } from "../webhooks/lookups.js";
import { decodeAfter, decodeAttemptCursor, START, type AttemptPoint, type Position } from "../live/position.js";
import { ownsWebhook } from "./ownership.js";
import { payloadFilterInput } from "../webhooks/payload-filter-input.js";

builder.subscriptionType({
  description: "Live feeds over graphql-ws (subprotocol graphql-transport-ws) or Server-Sent Events, on /graphql.",
});

builder.subscriptionField("eventPublished", (t) =>
  t.field({
    type: Event,
    description:
      "Events as they are stored, in one order every subscriber sees the same (by storing transaction, then id: not id order), with the visibility of the events query. With `after`, the stored events after that point come first, then live ones: no gap, no repeat.",
    authScopes: { authenticated: true },
    args: {
      eventNames: t.arg.stringList({ description: "Only these event types (default: all)." }),
      serviceId: t.arg.id({ description: "Only events routed to this service's webhooks." }),
      webhookId: t.arg.id({ description: "Only events routed to this webhook." }),
      customerId: t.arg.id({ description: "Only events about this customer." }),
      payloadFilter: t.arg.string({
        description:
          "Only events whose payload satisfies this SQL/JSON path predicate: the syntax and limits of a webhook's payloadFilter, evaluated by the same operator (also on the events replayed after `after`).",
      }),
      after: t.arg.id({
        description:
          "Resume: first every stored event after this point, then live ones. An Event's `cursor` (preferred: it stays valid when the event itself is deleted), or an event id.",
      }),
    },
    subscribe: async (_root, args, ctx) => {
      const filter = await eventFilter(ctx, args);
      const after = args.after != null ? await resumePosition(ctx, String(args.after)) : undefined;
      return endOnRevocation(ctx, await ctx.live.events(filter, after));
    },
    resolve: (event) => event as never,
  }),
);

builder.subscriptionField("deliveryAttempted", (t) =>
  t.field({
    type: DeliveryAttempt,
    description:
      "Every attempt to deliver to this webhook, as it is recorded (a live webhookLogs), in the order of the transactions that stored them (not id order). With `after`, every attempt stored after that one comes first, then live ones: no gap, no repeat.",
    args: {
      webhookId: t.arg.id({ required: true, description: "The webhook whose attempts to follow." }),
      after: t.arg.string({ description: "Resume after this attempt: the `cursor` of the last attempt this subscription gave." }),
    },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    subscribe: async (_root, args, ctx) => {
      const webhookId = requireId("webhookId", args.webhookId);
      await requireWebhook(ctx.prisma, webhookId);
      const after = args.after != null ? await attemptResumePoint(ctx, args.after) : undefined;
      return endOnRevocation(ctx, await ctx.live.attempts(webhookId, after));
    },
    resolve: (attempt) => attempt as never,
  }),
);

/** Where deliveryAttempted's `after` resumes (a cursor made on this store's cluster). */
async function attemptResumePoint(ctx: { readonly live: Pick<Live, "clusterId"> }, value: string): Promise<AttemptPoint> {
  const decoded = decodeAttemptCursor(value);
  if (!decoded) throw badInput("after", "must be the cursor of an attempt deliveryAttempted gave");
  if (decoded.clusterId !== (await ctx.live.clusterId())) {
    throw badInput("after", "this cursor was made on another database cluster (the store was restored or moved); subscribe without after");
  }
  return decoded.point;
}

/** Where `after` resumes: a cursor (checked against this store's cluster), or an event's position. */
async function resumePosition(ctx: { readonly live: Pick<Live, "clusterId" | "positionOfEvent"> }, value: string): Promise<Position> {
  const after = decodeAfter(value);
  if (!after) throw badInput("after", "must be an Event's cursor or an event id");
  if (after.kind === "cursor") {
    if (after.clusterId !== (await ctx.live.clusterId())) {
      throw badInput(
        "after",
        "this cursor was made on another database cluster (the store was restored or moved); subscribe without after, or with an event id",
      );
    }
    return after.position;
  }
  if (after.id === 0n) return START;
  const position = await ctx.live.positionOfEvent(after.id);
  if (!position) throw gatewayError("NOT_FOUND", `event ${after.id} does not exist; resume with an Event's cursor instead`, { field: "after" });
  return position;
}

interface EventArgs {
  eventNames?: readonly string[] | null;
  serviceId?: string | number | null;
  webhookId?: string | number | null;
  customerId?: string | number | null;
  payloadFilter?: string | null;
}

/** The subscription's filter; naming another tenant's service or webhook is FORBIDDEN. */
async function eventFilter(ctx: Pick<GatewayContext, "principal" | "prisma">, args: EventArgs): Promise<EventFilter> {
  const principal = ctx.principal!;
  const serviceId = args.serviceId != null ? requireId("serviceId", args.serviceId) : undefined;
  const webhookId = args.webhookId != null ? requireId("webhookId", args.webhookId) : undefined;
  const customerId = args.customerId != null ? requireId("customerId", args.customerId) : undefined;
  if (serviceId !== undefined && principal.kind !== "admin" && !(principal.kind === "service" && principal.serviceId === serviceId)) {
    throw gatewayError("FORBIDDEN", `serviceId ${serviceId} is not this ${principal.kind} token's service`);
  }
  if (webhookId !== undefined && principal.kind !== "admin") {
    if (principal.kind !== "service" || !(await ownsWebhook(ctx.prisma, principal.serviceId, webhookId))) {
      throw gatewayError("FORBIDDEN", `webhook ${webhookId} is not this ${principal.kind} token's`);
    }
  }
  if (customerId !== undefined && principal.kind === "customer" && principal.customerId !== customerId) {
    throw gatewayError("FORBIDDEN", `customerId ${customerId} is not this customer token's`);
  }
  let types: ReadonlySet<number> | "all" = "all";
  if (args.eventNames) {
    if (!args.eventNames.length) throw badInput("eventNames", "give at least one name, or leave it out for all");
    const { found, missingNames } = await findEventTypes(ctx.prisma, [], args.eventNames);
    if (missingNames.length) throw gatewayError("NOT_FOUND", `event type "${missingNames[0]}" does not exist`, { field: "eventNames" });
    types = new Set(found.map((f) => f.id));
  }
  const payloadFilter = args.payloadFilter != null ? await payloadFilterInput(ctx.prisma, "payloadFilter", args.payloadFilter) : undefined;
  return { principal, types, serviceId, webhookId, customerId, payloadFilter };
}

/**
 * Ends the stream with UNAUTHENTICATED when the token that opened it is revoked or, a portal
 * session, expires (checked by
 * every gateway every HOOKGATE_LIVE_POLL_MS): over SSE the client gets that error and the stream
 * ends; a websocket connection with that token is closed with 4403 besides (websocket.ts).
 */
function endOnRevocation<T>(ctx: Pick<GatewayContext, "principal" | "tokens">, source: AsyncIterable<T>): AsyncIterable<T> {
  const p = ctx.principal;
  const tokenId = p?.tokenId;
  if (tokenId === undefined) return source;
  const inner = source[Symbol.asyncIterator]();
  let revoke: (error: Error) => void = () => undefined;
  const revoked = new Promise<never>((_resolve, reject) => (revoke = reject));
  revoked.catch(() => undefined);
  const unwatch = ctx.tokens.watch(tokenId, (why) =>
    revoke(
      gatewayError(
        "UNAUTHENTICATED",
        why === "expired"
          ? "the session of this subscription expired; open a new portal link"
          : "the token of this subscription was revoked; subscribe again with a valid token",
      ),
    ),
  );
  const stop = async (): Promise<void> => {
    unwatch();
    await inner.return?.();
  };
  const iterator: AsyncIterator<T> = {
    next: async () => {
      try {
        const result = await Promise.race([inner.next(), revoked]);
        if (result.done) unwatch();
        return result;
      } catch (error) {
        await stop();
        throw error;
      }
    },
    return: async () => {
      await stop();
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
