import type { Clock } from "../clock.js";
import { badInput, webhookNotFound } from "../errors.js";
import { topics, type Bus } from "../pubsub/bus.js";
import type { SqlClient } from "../store/database.js";
import { acknowledge, handOut, outstandingUntil, readConsumer, waitingAbove, type PulledDelivery } from "./pull-queue.js";

/**
 * Receiving and acknowledging a PULL webhook's notifications (the statements: pull-queue.ts),
 * with long polling: a receive that finds nothing waits up to its waitSeconds for something to
 * arrive, holding no database connection meanwhile. It looks again when
 *  - a publish routed an event to the webhook (the event type's bus topic, whose messages name
 *    the webhooks the event was queued for: every gateway hears it, through Redis);
 *  - notifications of the webhook were acknowledged (its pull-queue topic), or the batch that is
 *    out reaches the end of its lease (a timer): the next batch may be handed out then;
 *  - deliveries wait for the feed's horizon (a transaction still open somewhere): soon, backing
 *    off as the live feed does;
 *  - and, whatever the bus says (Redis down, a message lost), every pollMs.
 */
export interface PullQueueOptions {
  readonly sql: SqlClient;
  readonly bus: Bus;
  readonly clock: Clock;
  /** The live feed's horizon (src/live/event-feed.ts): deliveries are handed out below it only. */
  readonly horizon: () => Promise<bigint>;
  readonly visibilitySeconds: number;
  /** The fallback interval between looks while waiting. */
  readonly pollMs: number;
  /** Notifications handed out, or acknowledged (the metrics). Never throws. */
  readonly onPulled?: (kind: "handed_out" | "acknowledged", count: number) => void;
}

export interface ReceiveRequest {
  readonly webhookId: number;
  readonly max: number;
  readonly waitSeconds: number;
  /** Ends the wait early (the client went away). */
  readonly signal?: AbortSignal;
}

/** Limits of a receive, as the API states them. */
export const PULL_LIMITS = { maxBatch: 100, maxWaitSeconds: 60 } as const;

/** First look again after deliveries were seen waiting for the horizon; doubles up to pollMs. */
const HORIZON_RETRY_MS = 5;

export class PullQueue {
  constructor(private readonly options: PullQueueOptions) {}

  /** The webhook's oldest undelivered notifications (at most `max`), or none once `waitSeconds` have passed. */
  async receive(request: ReceiveRequest): Promise<PulledDelivery[]> {
    const { webhookId } = request;
    if (!Number.isInteger(request.max) || request.max < 1 || request.max > PULL_LIMITS.maxBatch) {
      throw badInput("max", `must be between 1 and ${PULL_LIMITS.maxBatch}`);
    }
    if (!Number.isFinite(request.waitSeconds) || request.waitSeconds < 0 || request.waitSeconds > PULL_LIMITS.maxWaitSeconds) {
      throw badInput("waitSeconds", `must be between 0 and ${PULL_LIMITS.maxWaitSeconds}`);
    }
    const consumer = await this.consumerOf(webhookId);
    const deadline = Date.now() + request.waitSeconds * 1000;
    // Listening starts before the first look, so nothing that happens after it is missed.
    const wake = new Wake();
    const unsubscribe = [
      ...consumer.eventTypeIds.map((id) =>
        this.options.bus.subscribe(topics.eventType(id), (message) => {
          if (routedTo(message, webhookId)) wake.fire();
        }),
      ),
      this.options.bus.subscribe(topics.pullQueue(webhookId), () => wake.fire()),
    ];
    const abort = () => wake.fire();
    request.signal?.addEventListener("abort", abort);
    try {
      let horizonRetryMs = HORIZON_RETRY_MS;
      for (;;) {
        wake.reset();
        const { notifications, waitingForHorizon } = await this.look(webhookId, request.max);
        if (notifications.length) {
          this.options.onPulled?.("handed_out", notifications.length);
          return notifications;
        }
        const left = deadline - Date.now();
        if (left <= 0 || request.signal?.aborted) return [];
        let next = this.options.pollMs;
        if (waitingForHorizon) {
          next = Math.min(next, horizonRetryMs);
          horizonRetryMs = Math.min(horizonRetryMs * 2, this.options.pollMs);
        } else {
          horizonRetryMs = HORIZON_RETRY_MS;
          const until = await outstandingUntil(this.options.sql, webhookId, this.options.clock.now());
          if (until) next = Math.min(next, Math.max(1, until.getTime() - this.options.clock.now().getTime()));
        }
        await wake.wait(Math.min(left, next));
        // A client that went away takes nothing with it (what it took would wait for its timeout).
        if (request.signal?.aborted) return [];
      }
    } finally {
      request.signal?.removeEventListener("abort", abort);
      for (const off of unsubscribe) off();
    }
  }

  /** Acknowledges receipts of the webhook; returns those acknowledged (unknown or stale ones are not). */
  async acknowledge(webhookId: number, receiptIds: readonly string[], field = "receiptIds"): Promise<string[]> {
    if (receiptIds.length > 1_000) throw badInput(field, "at most 1000 receipts at once");
    const ids = receiptIds.map((id, i) => {
      const text = String(id).trim();
      if (!/^\d{1,18}$/.test(text)) throw badInput(receiptIds.length === 1 ? field : `${field}[${i}]`, "must be a receipt id (digits)");
      return BigInt(text);
    });
    await this.consumerOf(webhookId);
    const done = await acknowledge(this.options.sql, webhookId, ids, this.options.clock.now(), this.options.visibilitySeconds);
    if (done.length) this.options.onPulled?.("acknowledged", done.length);
    // Waiting consumers of this webhook (on any gateway) may take the next batch now.
    if (done.length) this.options.bus.publish(topics.pullQueue(webhookId), { acknowledged: done.length });
    return done;
  }

  private async consumerOf(webhookId: number) {
    const consumer = await readConsumer(this.options.sql, webhookId);
    if (!consumer) throw webhookNotFound(webhookId);
    if (consumer.deliveryMode !== "PULL") {
      throw badInput("webhookId", `webhook ${webhookId} is a PUSH webhook (its deliveries are sent to its URL); only a PULL webhook's are received`);
    }
    return consumer;
  }

  /** One look: hand out what is there. `waitingForHorizon`: deliveries exist that are not below the horizon yet. */
  private async look(webhookId: number, max: number): Promise<{ notifications: PulledDelivery[]; waitingForHorizon: boolean }> {
    const { sql, clock, visibilitySeconds } = this.options;
    // The horizon first, in a statement of its own (as the live feed reads it).
    const horizon = await this.options.horizon();
    const now = clock.now();
    const notifications = await handOut(sql, webhookId, now, horizon, max, new Date(now.getTime() + visibilitySeconds * 1000));
    if (notifications.length) return { notifications, waitingForHorizon: false };
    return { notifications, waitingForHorizon: await waitingAbove(sql, webhookId, horizon) };
  }
}

/** Whether a bus message about a stored event says it was queued for this webhook. */
function routedTo(message: unknown, webhookId: number): boolean {
  const w = (message as { w?: unknown } | null)?.w;
  return Array.isArray(w) && w.includes(webhookId);
}

/** A one-shot wake-up that can be re-armed: fire() before wait() is not lost. */
class Wake {
  private fired = false;
  private resolve: (() => void) | undefined;

  fire(): void {
    this.fired = true;
    this.resolve?.();
  }

  reset(): void {
    this.fired = false;
  }

  wait(ms: number): Promise<void> {
    if (this.fired) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        self.resolve = undefined;
        resolve();
      }
      this.resolve = done;
    });
  }
}
