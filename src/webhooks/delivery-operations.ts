import type { Clock } from "../clock.js";
import type { Config } from "../config.js";
import { retryDelivery as retryQueued } from "../dispatcher/delivery-queue.js";
import { badInput, conflict, notFound, webhookNotFound } from "../errors.js";
import { PublishError, type Publisher, type ReplayRequest } from "../publishing/publisher.js";
import type { PrismaClient } from "../store/database.js";
import { findEventTypes, foundWebhook } from "./lookups.js";

// What retryDelivery, replayWebhook, replayPreview and sendTestEvent do once the caller is
// allowed to: the GraphQL fields (schema/deliveries.ts) only parse their arguments and call these.
// Each says what it reaches, so a caller (or a test) passes only that.

/** What retrying one delivery reaches: the store, the time, the dispatcher's wake-up. */
export interface RetryDeps {
  readonly prisma: PrismaClient;
  readonly clock: Clock;
  readonly publisher: Pick<Publisher, "deliveriesQueued">;
}

/** Makes a delivery due now; CONFLICT when it succeeded or is being sent, NOT_FOUND when there is none. */
export async function retryDelivery(deps: RetryDeps, id: bigint): Promise<void> {
  // One conditional write: never a delivery that succeeded, or one a worker is sending right now.
  if (!(await retryQueued(deps.prisma, id, deps.clock.now()))) {
    const delivery = await deps.prisma.delivery.findUnique({ where: { id }, select: { status: true } });
    if (!delivery) throw notFound(`delivery ${id}`);
    if (delivery.status === "SUCCEEDED") throw conflict(`delivery ${id} already succeeded; use replayWebhook to send it again`);
    throw conflict(`delivery ${id} is being sent right now; its outcome will be in webhookLogs shortly`);
  }
  deps.publisher.deliveriesQueued();
}

/** What a replay reaches: the publisher, and the most deliveries one replay may queue. */
export interface ReplayDeps {
  readonly publisher: Pick<Publisher, "replay" | "replayCount">;
  readonly config: Pick<Config, "HOOKGATE_MAX_REPLAY_DELIVERIES">;
}

/** A replay's webhook, since and onlyFailed; the limit comes from the config. */
export type ReplayArgs = Omit<ReplayRequest, "maxDeliveries">;

/** Queues the replay; answers how many deliveries it queued. */
export async function replayWebhook(deps: ReplayDeps, request: ReplayArgs): Promise<number> {
  const maxDeliveries = deps.config.HOOKGATE_MAX_REPLAY_DELIVERIES;
  const replay = await refusedAsBadInput(() => deps.publisher.replay({ ...request, maxDeliveries }));
  return foundWebhook(request.webhookId, replay).queued;
}

/** How many deliveries replayWebhook would queue now, and the most it may. */
export async function previewReplay(deps: ReplayDeps, request: ReplayArgs): Promise<{ count: number; limit: number }> {
  const count = await refusedAsBadInput(() => deps.publisher.replayCount(request));
  if (count === null) throw webhookNotFound(request.webhookId);
  return { count, limit: deps.config.HOOKGATE_MAX_REPLAY_DELIVERIES };
}

/** The publisher refuses a replay's input with a PublishError naming the argument: BAD_USER_INPUT on it. */
async function refusedAsBadInput<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof PublishError) throw badInput(error.field, error.message);
    throw error;
  }
}

/** What a test event reaches: the store (the webhook, the event type) and the publisher. */
export interface TestEventDeps {
  readonly prisma: PrismaClient;
  readonly publisher: Pick<Publisher, "sendTest">;
}

/** Publishes the event type's sampleData to this webhook only (by default its first event type); answers the delivery's id. */
export async function sendTestEvent(deps: TestEventDeps, webhookId: number, eventName: string | null | undefined): Promise<bigint> {
  const webhook = foundWebhook(
    webhookId,
    await deps.prisma.webhook.findUnique({
      where: { id: webhookId },
      select: { eventTypes: { select: { eventType: true }, orderBy: { eventTypeId: "asc" }, take: 1 } },
    }),
  );
  const type = eventName
    ? ((await findEventTypes(deps.prisma, [], [eventName], { sampleData: true })).found[0] ?? null)
    : (webhook.eventTypes[0]?.eventType ?? null);
  if (!type) throw notFound(`event type "${eventName ?? "(none subscribed)"}"`);
  // A test event is an event: it goes through the publisher like any other (live feed, metrics).
  const { deliveryId } = await deps.publisher.sendTest(webhookId, {
    eventTypeId: type.id,
    payloadJson: JSON.stringify(type.sampleData),
  });
  return deliveryId;
}
