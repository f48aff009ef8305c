import type { SecretBox } from "../crypto/secret-box.js";
import type { Logger } from "../log.js";
import type { SqlClient } from "../store/database.js";
import type { Clock } from "./clock.js";
import { AttemptAbort, type AttemptOutcome, type HttpSender } from "./http-sender.js";
import {
  claimDue,
  recordAttempts,
  releaseLeases,
  type AttemptRecord,
  type AutoDisableRule,
  type ClaimedDelivery,
  type DisabledWebhook,
} from "./outbox.js";
import { nextAttempt, parseRetryAfter } from "./retry-schedule.js";
import { sign } from "./signature.js";
import { WebhookConfigCache, type PreparedWebhook } from "./webhook-config.js";

/** How long a finished attempt may wait to be recorded with others in one transaction. */
const FLUSH_DELAY_MS = 20;

/** Tries to record a batch (a deadlock or a brief outage passes) before leaving it to the leases. */
const RECORD_TRIES = 3;

export interface DispatcherOptions {
  readonly sql: SqlClient;
  readonly secrets: SecretBox;
  readonly sender: HttpSender;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly autoDisable: AutoDisableRule;
  readonly random?: () => number;
  /** Called after each batch of attempts is stored (live delivery log, metrics). */
  readonly onRecorded?: (records: readonly AttemptRecord[], disabled: readonly DisabledWebhook[]) => void;
}

/**
 * Claims due deliveries, sends them with bounded concurrency, and records the attempts in
 * batches. Any number of dispatchers may share one PostgreSQL: claims use SKIP LOCKED and a
 * lease, so a delivery is sent by one worker at a time, and a dead worker's deliveries come
 * back when its lease ends.
 */
export class Dispatcher {
  private readonly configs: WebhookConfigCache;
  private readonly inFlight = new Map<string, { delivery: ClaimedDelivery; abort: AttemptAbort; done: Promise<void> }>();
  private readonly aborted: ClaimedDelivery[] = [];
  private pending: AttemptRecord[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private woken = false;
  private settledWaiters: (() => void)[] = [];

  constructor(private readonly options: DispatcherOptions) {
    this.configs = new WebhookConfigCache(options.sql, options.secrets, (webhookId, error) =>
      options.logger.error({ err: error, webhookId }, "cannot prepare webhook (its secrets do not open with this key?)"),
    );
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Look for due deliveries now instead of at the next poll. */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true; // remembered, so a wake during a claim is not lost
  }

  /**
   * Resolves once the dispatcher has looked for due deliveries (after this call), found none,
   * and has nothing in flight or unrecorded: "everything due by the clock is done".
   */
  settle(): Promise<void> {
    return new Promise((resolve) => {
      this.settledWaiters.push(resolve);
      this.wake();
    });
  }

  /** Stops claiming, lets in-flight calls finish for up to graceMs, gives back the rest, records everything. */
  stop(graceMs: number): Promise<void> {
    this.stopped ??= this.shutdown(graceMs);
    return this.stopped;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
    const all = () => Promise.all([...this.inFlight.values()].map((f) => f.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const f of this.inFlight.values()) f.abort.abort();
    await all();
    await this.flush();
    await releaseLeases(this.options.sql, this.aborted.splice(0), this.options.clock.now()).catch((error: unknown) =>
      this.options.logger.warn({ err: error }, "could not release leases; they expire on their own"),
    );
    await this.options.sender.close();
  }

  private async run(): Promise<void> {
    const { sql, clock, batchSize, concurrency, leaseMs, logger } = this.options;
    while (!this.stopping) {
      // Attempts sent but not yet recorded still hold a slot: a slow database slows the claims too.
      const free = concurrency - this.inFlight.size - this.pending.length;
      // Claim in sizeable batches: topping up one free slot at a time would cost a claim per delivery.
      if (free < Math.min(batchSize, concurrency) / 2) {
        // Woken when a send finishes or a batch is recorded; the poll interval is only a safety net.
        await this.waitForWake(this.options.pollMs);
        continue;
      }
      let claimed: ClaimedDelivery[] = [];
      let webhooks: Map<number, PreparedWebhook>;
      try {
        claimed = await claimDue(sql, clock.now(), Math.min(batchSize, free), leaseMs);
        if (!claimed.length) {
          if (this.settledWaiters.length && !this.inFlight.size) {
            await this.flush();
            for (const resolve of this.settledWaiters.splice(0)) resolve();
          }
          await this.waitForWake(this.options.pollMs);
          continue;
        }
        webhooks = await this.configs.get(claimed);
      } catch (error) {
        logger.error({ err: error }, "claiming deliveries failed; retrying after the poll interval");
        // Whatever was claimed goes back at once rather than waiting out its lease.
        await releaseLeases(sql, claimed, clock.now()).catch(() => undefined);
        await this.waitForWake(this.options.pollMs);
        continue;
      }
      for (const delivery of claimed) this.launch(delivery, webhooks.get(delivery.webhookId));
    }
  }

  private waitForWake(timeoutMs?: number): Promise<void> {
    if (this.woken || this.stopping) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wakeUp === done) self.wakeUp = undefined;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private launch(delivery: ClaimedDelivery, webhook: PreparedWebhook | undefined): void {
    const abort = new AttemptAbort();
    const done = (async () => {
      if (!webhook) return; // deleted since the claim; its deliveries went with it
      const record = await this.deliver(delivery, webhook, abort);
      if (record) this.enqueue(record);
      else this.aborted.push(delivery);
    })()
      .catch((error: unknown) => this.options.logger.error({ err: error, deliveryId: delivery.id }, "delivery crashed"))
      .finally(() => {
        this.inFlight.delete(delivery.id);
        this.wake();
      });
    this.inFlight.set(delivery.id, { delivery, abort, done });
  }

  /** One attempt: sign, send, and decide what happens next. null when aborted by shutdown. */
  private async deliver(delivery: ClaimedDelivery, webhook: PreparedWebhook, abort: AttemptAbort): Promise<AttemptRecord | null> {
    const { clock } = this.options;
    const startedAt = clock.now();
    // Ids are digits and the timestamp is ISO 8601: only the type name needs JSON quoting.
    const body = `{"id":"${delivery.eventId}","type":${JSON.stringify(delivery.eventType)},"timestamp":"${delivery.eventTimestamp}","data":${delivery.payload}}`;
    // The signature's timestamp is wall time: receivers compare it with their own clock.
    const timestamp = Math.floor(Date.now() / 1000);
    const keys =
      webhook.previousKey && webhook.previousKeyExpiresAt && webhook.previousKeyExpiresAt > startedAt
        ? [webhook.signingKey, webhook.previousKey]
        : [webhook.signingKey];
    const signature = sign(keys, delivery.eventId, timestamp, body);
    const headers = [...webhook.headers, "webhook-id", delivery.eventId, "webhook-timestamp", String(timestamp), "webhook-signature", signature];
    const outcome = await this.options.sender.send({ url: webhook.url, method: webhook.method, headers, body }, abort);
    if (outcome.errorClass === "ABORTED") return null;
    const attemptNumber = delivery.attemptCount + 1;
    const { status, nextAttemptAt } = this.decide(webhook, delivery, attemptNumber, outcome);
    return {
      deliveryId: delivery.id,
      webhookId: delivery.webhookId,
      attemptNumber,
      leaseUntil: delivery.leaseUntil,
      startedAt,
      durationMs: outcome.durationMs,
      requestUrl: webhook.url.toString(),
      requestMethod: webhook.method,
      requestHeaders: {
        ...webhook.loggedHeaders,
        "webhook-id": delivery.eventId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signature,
      },
      requestBody: body,
      responseStatus: outcome.status,
      responseHeaders: outcome.headers,
      responseBody: outcome.body,
      errorClass: outcome.errorClass,
      errorMessage: outcome.errorMessage,
      succeeded: outcome.succeeded,
      status,
      nextAttemptAt,
    };
  }

  private decide(webhook: PreparedWebhook, delivery: ClaimedDelivery, attemptNumber: number, outcome: AttemptOutcome) {
    if (outcome.succeeded) return { status: "SUCCEEDED" as const, nextAttemptAt: null };
    const now = this.options.clock.now();
    const retryAfter =
      outcome.status === 429 || outcome.status === 503 ? parseRetryAfter(outcome.headers?.["retry-after"], now) : undefined;
    const { nextAttemptAt } = nextAttempt(webhook.retry, attemptNumber, new Date(delivery.createdAtMs), now, retryAfter, this.options.random);
    return nextAttemptAt ? { status: "RETRYING" as const, nextAttemptAt } : { status: "FAILED" as const, nextAttemptAt: null };
  }

  private enqueue(record: AttemptRecord): void {
    this.pending.push(record);
    if (this.pending.length >= this.options.batchSize) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  /** Stores what is pending in one transaction; flushes run one after another. */
  private flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushing = this.flushing.then(async () => {
      const batch = this.pending.splice(0);
      if (!batch.length) return;
      const { sql, clock, autoDisable, logger } = this.options;
      for (let attempt = 1; ; attempt++) {
        try {
          const disabled = await recordAttempts(sql, batch, clock.now(), autoDisable);
          for (const d of disabled) logger.warn({ webhookId: d.id, reason: d.reason }, "webhook disabled");
          this.options.onRecorded?.(batch, disabled);
          this.wake(); // the recorded attempts no longer hold slots
          return;
        } catch (error) {
          if (attempt < RECORD_TRIES) {
            logger.warn({ err: error, attempts: batch.length, try: attempt }, "recording attempts failed; trying again");
            await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
            continue;
          }
          // Not stored: the leases run out and the deliveries are sent again (at-least-once).
          logger.error({ err: error, attempts: batch.length }, "recording attempts failed; the deliveries will be sent again");
          this.wake();
          return;
        }
      }
    });
    return this.flushing;
  }
}
