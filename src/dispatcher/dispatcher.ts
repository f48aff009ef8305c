import type { SecretBox } from "../crypto/secret-box.js";
import { AttemptRecorder, type AttemptRecorderOptions } from "./attempt-recorder.js";
import { claimDue, GONE, releaseLeases, type AttemptRecord, type ClaimedDelivery, type ClaimLimits } from "./delivery-queue.js";
import { AttemptAbort, type AttemptOutcome, type HttpSender } from "./http-sender.js";
import { nextAttempt, parseRetryAfter } from "./retry-schedule.js";
import { sign } from "./signature.js";
import { WebhookConfigCache, type CachedWebhook, type PreparedWebhook, type UnreadableWebhook } from "./webhook-config.js";
import { webhookBody } from "./webhook-body.js";

/** The recorder's options (sql, logger, clock, batchSize, autoDisable, onRecordFailed, onRecorded) and the sending's. */
export interface DispatcherOptions extends AttemptRecorderOptions {
  readonly secrets: SecretBox;
  readonly sender: HttpSender;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  /**
   * The longest one attempt can take. A claimed delivery waits for a free slot; if its lease would
   * end before an attempt started now could finish, it is given back instead of sent (another
   * worker may take it once the lease ends). Default: half the lease.
   */
  readonly attemptMs?: number;
  readonly random?: () => number;
  /**
   * Calls one webhook may have in flight from this process (HOOKGATE_MAX_IN_FLIGHT_PER_WEBHOOK).
   * This process holds at most twice as many of one webhook's deliveries (in flight and waiting
   * for a slot together; at least one claim's worth), so one webhook's backlog never holds every slot.
   * Default: no cap.
   */
  readonly maxInFlightPerWebhook?: number;
}

/** A webhook whose secrets do not open is logged once per webhook in this long (its attempts say it every time). */
export const UNREADABLE_LOG_INTERVAL_MS = 15 * 60_000;

/** What an attempt of a webhook whose secrets do not open says: what happened and what to do; no secret material. */
export function secretUnreadableMessage(fields: readonly string[]): string {
  return (
    `not sent: the webhook's sealed ${fields.join(", ")} do not open with this process's HOOKGATE_ENCRYPTION_KEY ` +
    "(sealed with another key, or damaged). Give every Hookgate process on this database the same key; " +
    "if the key they were sealed with is lost, set them again (rotateWebhookSecret; auth and requestHeaders with updateWebhook)"
  );
}

/** A claimed delivery waiting for a send slot. */
interface Queued {
  readonly delivery: ClaimedDelivery;
  /** undefined when the webhook went away since the claim, or cannot be prepared. */
  readonly webhook: CachedWebhook | undefined;
}

/**
 * Claims due deliveries, sends them with bounded concurrency, and records the attempts in
 * batches. Any number of dispatchers may share one PostgreSQL: claims use SKIP LOCKED and a
 * lease, so a delivery is sent by one worker at a time, and a dead worker's deliveries come
 * back when its lease ends.
 *
 * Claiming, sending and recording overlap: the next batch is claimed while the current one is
 * being sent (a finished send starts the next claimed delivery at once, without a round trip),
 * and finished attempts are recorded while others are sent. Attempts not yet recorded are
 * bounded: a slow database stops the claims, and so, soon, the sends.
 */
export class Dispatcher {
  private readonly configs: WebhookConfigCache;
  private readonly inFlight = new Map<string, { delivery: ClaimedDelivery; abort: AttemptAbort; done: Promise<void> }>();
  /** Claimed, not sent yet, oldest first; queue[queueHead] is the next to send. */
  private queue: (Queued | undefined)[] = [];
  private queueHead = 0;
  /** Claimed deliveries waiting for a slot of their webhook (it has its fill in flight), per webhook. */
  private readonly waiting = new Map<number, Queued[]>();
  private waitingCount = 0;
  /** Per webhook: calls in flight, and deliveries claimed and not finished (in flight, queued or waiting). */
  private readonly flying = new Map<number, number>();
  private readonly held = new Map<number, number>();
  private readonly perWebhook: number;
  /** Claimed but not sent (shutdown, or a lease too short to finish an attempt): given back. */
  private readonly aborted: ClaimedDelivery[] = [];
  /** Finished attempts on their way to the store. */
  private readonly recorder: AttemptRecorder;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private woken = false;
  /** The last claim found nothing due: finished sends do not claim again until a wake or the poll. */
  private idle = false;
  private settledWaiters: (() => void)[] = [];
  private readonly attemptMs: number;
  /** When each unreadable webhook was last logged (clock ms). */
  private readonly unreadableLogged = new Map<number, number>();

  constructor(private readonly options: DispatcherOptions) {
    this.configs = new WebhookConfigCache(options.sql, options.secrets, (webhookId, error) =>
      options.logger.error({ err: error, webhookId }, "cannot prepare webhook"),
    );
    this.attemptMs = options.attemptMs ?? options.leaseMs / 2;
    this.perWebhook = options.maxInFlightPerWebhook ?? Infinity;
    // A recorded batch no longer counts against the claims. A FIFO head that finished has made the
    // next one in its line due (the record statement promotes it): look now, not at the next poll,
    // or a FIFO webhook would get one delivery per poll interval.
    this.recorder = new AttemptRecorder(options, (records) => {
      if (records.some((r) => r.fifo && r.status !== "RETRYING")) this.wake();
      else this.nudge();
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Look for due deliveries now instead of at the next poll. */
  wake(): void {
    this.idle = false;
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
    // Claimed but never started: back to the queue at once.
    for (let i = this.queueHead; i < this.queue.length; i++) this.drop(this.queue[i]!.delivery);
    this.queue = [];
    this.queueHead = 0;
    for (const items of this.waiting.values()) for (const item of items) this.drop(item.delivery);
    this.waiting.clear();
    this.waitingCount = 0;
    const all = () => Promise.all([...this.inFlight.values()].map((f) => f.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const f of this.inFlight.values()) f.abort.abort();
    await all();
    await this.recorder.flush();
    await this.giveBack();
    await this.options.sender.close();
  }

  private giveBack(): Promise<void> {
    return releaseLeases(this.options.sql, this.aborted.splice(0), this.options.clock.now()).catch((error: unknown) =>
      this.options.logger.warn({ err: error }, "could not release leases; they expire on their own"),
    );
  }

  private get queued(): number {
    return this.queue.length - this.queueHead + this.waitingCount;
  }

  /** A claimed delivery that will not be sent now: given back, and no longer held. */
  private drop(delivery: ClaimedDelivery): void {
    this.aborted.push(delivery);
    this.unhold(delivery.webhookId);
  }

  private unhold(webhookId: number): void {
    const n = (this.held.get(webhookId) ?? 1) - 1;
    if (n > 0) this.held.set(webhookId, n);
    else this.held.delete(webhookId);
  }

  /** What the next claim may take of each webhook, and which of this worker's own deliveries it must leave. */
  private claimLimits(now: number): ClaimLimits {
    // What one webhook may hold here (in flight and waiting for its slots): twice its slots, and
    // at least a whole claim, so a lone busy webhook is still claimed in full batches.
    const fill = Number.isFinite(this.perWebhook) ? Math.max(2 * this.perWebhook, this.options.batchSize) : 2_147_483_647;
    const fullWebhooks: number[] = [];
    const heldWebhooks: number[] = [];
    const heldSlots: number[] = [];
    if (fill < 2_147_483_647) {
      for (const [webhookId, n] of this.held) {
        if (n >= fill) fullWebhooks.push(webhookId);
        else {
          heldWebhooks.push(webhookId);
          heldSlots.push(fill - n);
        }
      }
    }
    // Sent but not recorded yet, with the lease over: due again by the queue, but this worker
    // still has the outcome to record. Taking it again would send it twice.
    const unrecorded: string[] = [];
    // (In flight past its lease only if the clock jumped: an attempt starts only if it can end in time.)
    for (const f of this.inFlight.values()) if (f.delivery.leaseUntil.getTime() <= now) unrecorded.push(f.delivery.id);
    this.recorder.expiredLeases(now, unrecorded);
    return { fullWebhooks, heldWebhooks, heldSlots, slotsPerWebhook: fill, unrecorded };
  }

  /** How many deliveries to claim now: 0 while the slots and the next batch are covered, or too much is unrecorded. */
  private claimSize(): number {
    const { batchSize, concurrency } = this.options;
    // Every slot busy and up to two batches waiting behind them: the next claim is under way
    // while one batch still waits, so the slots do not run dry during a claim's round trip.
    const room = concurrency + 2 * batchSize - this.inFlight.size - this.queued;
    // Claim in whole batches: topping up one free slot at a time would cost a claim per delivery.
    if (room < Math.min(batchSize, concurrency)) return 0;
    // Finished attempts not yet recorded count too: a slow database slows the claims.
    if (this.recorder.count >= concurrency + 2 * batchSize) return 0;
    return Math.min(batchSize, room);
  }

  private async run(): Promise<void> {
    const { sql, clock, leaseMs, logger } = this.options;
    while (!this.stopping) {
      if (this.aborted.length) await this.giveBack();
      const size = this.claimSize();
      if (!size) {
        // Woken when a send finishes or a batch is recorded; the poll interval is only a safety net.
        await this.waitForWake(this.options.pollMs);
        continue;
      }
      let claimed: ClaimedDelivery[] = [];
      let webhooks: Map<number, CachedWebhook>;
      let limits: ClaimLimits;
      try {
        const now = clock.now();
        limits = this.claimLimits(now.getTime());
        claimed = await claimDue(sql, now, size, leaseMs, limits);
        if (!claimed.length) {
          this.idle = true;
          if (this.settledWaiters.length && !this.inFlight.size && !this.queued) {
            await this.recorder.flush();
            for (const resolve of this.settledWaiters.splice(0)) resolve();
          }
          await this.waitForWake(this.options.pollMs);
          this.idle = false; // polled or woken: look again
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
      for (const delivery of claimed) {
        this.queue.push({ delivery, webhook: webhooks.get(delivery.webhookId) });
        this.held.set(delivery.webhookId, (this.held.get(delivery.webhookId) ?? 0) + 1);
      }
      this.startQueued();
      // Fewer than asked for, and no webhook's slots held any back: everything due when the claim
      // ran is claimed. What becomes due later wakes the loop (or the poll finds it), as after an
      // empty claim; claiming again at once would find nothing.
      if (claimed.length < size && !heldBack(claimed, limits)) {
        this.idle = true;
        await this.waitForWake(this.options.pollMs);
        this.idle = false;
      }
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

  /**
   * After a send finishes or a batch is recorded: wake the claiming loop if it can claim now,
   * or if a settle() is waiting and everything has finished.
   */
  private nudge(): void {
    if (!this.wakeUp || this.stopping) return;
    if (this.settledWaiters.length && !this.inFlight.size && !this.queued) this.wake();
    else if (!this.idle && this.claimSize() > 0) this.wakeUp();
  }

  /** Fills free send slots from the claimed queue. */
  private startQueued(): void {
    const { concurrency, clock } = this.options;
    if (this.stopping || this.inFlight.size >= concurrency || this.queueHead >= this.queue.length) return;
    // An attempt started now must end before its lease does.
    const latestStart = clock.now().getTime() + this.attemptMs;
    while (this.inFlight.size < concurrency && this.queueHead < this.queue.length) {
      const item = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined;
      if (this.queueHead === this.queue.length) {
        this.queue = [];
        this.queueHead = 0;
      }
      this.startOrWait(item, latestStart);
    }
  }

  /** Sends a claimed delivery, or parks it until its webhook has a free slot. */
  private startOrWait(item: Queued, latestStart: number): void {
    // A delivery whose lease would end mid-attempt is not sent: it goes back for anyone to take.
    if (latestStart > item.delivery.leaseUntil.getTime()) return this.drop(item.delivery);
    // No webhook: deleted since the claim (its deliveries went with it), or not preparable (logged; the lease runs out).
    // One whose secrets do not open is prepared as unreadable: its attempt is recorded (SECRET_UNREADABLE).
    if (!item.webhook) return this.unhold(item.delivery.webhookId);
    const webhookId = item.delivery.webhookId;
    if ((this.flying.get(webhookId) ?? 0) >= this.perWebhook) {
      const list = this.waiting.get(webhookId);
      if (list) list.push(item);
      else this.waiting.set(webhookId, [item]);
      this.waitingCount++;
      return;
    }
    this.flying.set(webhookId, (this.flying.get(webhookId) ?? 0) + 1);
    this.launch(item.delivery, item.webhook);
  }

  /** A call of this webhook ended: its slot goes to the next delivery of it waiting, if any. */
  private slotFreed(webhookId: number): void {
    const n = (this.flying.get(webhookId) ?? 1) - 1;
    if (n > 0) this.flying.set(webhookId, n);
    else this.flying.delete(webhookId);
    this.unhold(webhookId);
    const list = this.waiting.get(webhookId);
    if (!list || this.stopping) return;
    const next = list.shift()!;
    if (!list.length) this.waiting.delete(webhookId);
    this.waitingCount--;
    this.startOrWait(next, this.options.clock.now().getTime() + this.attemptMs);
  }

  private launch(delivery: ClaimedDelivery, webhook: CachedWebhook): void {
    const abort = new AttemptAbort();
    // Inline arrows, not a named closure: tsx wraps named closures in a __name() call per delivery.
    const done = this.deliver(delivery, webhook, abort).then(
      (record) => this.finished(delivery, record),
      (error: unknown) => {
        this.options.logger.error({ err: error, deliveryId: delivery.id }, "delivery crashed");
        this.finished(delivery, undefined);
      },
    );
    this.inFlight.set(delivery.id, { delivery, abort, done });
  }

  /** A send is over: its record (undefined: it crashed, null: aborted by shutdown) goes on, and the slot is free. */
  private finished(delivery: ClaimedDelivery, record: AttemptRecord | null | undefined): void {
    this.inFlight.delete(delivery.id);
    if (record) this.recorder.add(record);
    else if (record === null) this.aborted.push(delivery); // aborted by shutdown: given back
    this.slotFreed(delivery.webhookId);
    this.startQueued();
    this.nudge();
  }

  /** One attempt: sign, send, and decide what happens next. null when aborted by shutdown. */
  private async deliver(delivery: ClaimedDelivery, webhook: CachedWebhook, abort: AttemptAbort): Promise<AttemptRecord | null> {
    if (webhook.unreadable) return this.unreadableAttempt(delivery, webhook);
    const { clock } = this.options;
    const startedAt = clock.now();
    const body = webhookBody(delivery.eventId, delivery.eventType, delivery.eventTimestamp, delivery.payload);
    // The signature's timestamp is wall time: receivers compare it with their own clock.
    const timestamp = Math.floor(Date.now() / 1000);
    const keys =
      webhook.previousKey && webhook.previousKeyExpiresAt && webhook.previousKeyExpiresAt > startedAt
        ? [webhook.signingKey, webhook.previousKey]
        : webhook.signingKeys;
    const signature = sign(keys, delivery.eventId, timestamp, body);
    const headers = webhook.headers.concat("webhook-id", delivery.eventId, "webhook-timestamp", String(timestamp), "webhook-signature", signature);
    const outcome = await this.options.sender.send({ url: webhook.url, method: webhook.method, headers, body }, abort);
    if (outcome.errorClass === "ABORTED") return null;
    const attemptNumber = delivery.attemptCount + 1;
    const { status, nextAttemptAt } = this.decide(webhook, delivery, attemptNumber, outcome);
    return new Attempt(delivery, webhook, attemptNumber, startedAt, outcome, status, nextAttemptAt, timestamp, signature, body);
  }

  /**
   * A delivery of a webhook whose secrets do not open: nothing is sent (it cannot be signed or
   * authenticated), and the attempt is recorded as failed (SECRET_UNREADABLE) on the webhook's
   * retry schedule, as a refused target is, so it shows in the logs and metrics instead of being
   * claimed again at every lease end.
   */
  private unreadableAttempt(delivery: ClaimedDelivery, webhook: UnreadableWebhook): AttemptRecord {
    this.reportUnreadable(webhook);
    const startedAt = this.options.clock.now();
    const body = webhookBody(delivery.eventId, delivery.eventType, delivery.eventTimestamp, delivery.payload);
    const outcome: AttemptOutcome = {
      succeeded: false,
      status: null,
      headers: null,
      body: null,
      bodyEncoding: null,
      errorClass: "SECRET_UNREADABLE",
      errorMessage: secretUnreadableMessage(webhook.unreadable),
      durationMs: 0,
    };
    const attemptNumber = delivery.attemptCount + 1;
    const { status, nextAttemptAt } = this.decide(webhook, delivery, attemptNumber, outcome);
    // Nothing was signed: no signature is logged.
    return new Attempt(delivery, webhook, attemptNumber, startedAt, outcome, status, nextAttemptAt, Math.floor(Date.now() / 1000), "", body);
  }

  /** Logs an unreadable webhook at most once per UNREADABLE_LOG_INTERVAL_MS (its id and the fields; never their contents). */
  private reportUnreadable(webhook: UnreadableWebhook): void {
    const now = this.options.clock.now().getTime();
    const last = this.unreadableLogged.get(webhook.id);
    if (last !== undefined && now - last < UNREADABLE_LOG_INTERVAL_MS && now >= last) return;
    this.unreadableLogged.set(webhook.id, now);
    this.options.logger.error(
      { webhookId: webhook.id, unreadable: webhook.unreadable, errorClass: "SECRET_UNREADABLE" },
      "webhook secrets do not open with this HOOKGATE_ENCRYPTION_KEY; its deliveries fail (SECRET_UNREADABLE) until every process has the key they were sealed with, or the secrets are set again",
    );
  }

  private decide(webhook: CachedWebhook, delivery: ClaimedDelivery, attemptNumber: number, outcome: AttemptOutcome) {
    if (outcome.succeeded) return { status: "SUCCEEDED" as const, nextAttemptAt: null };
    // 410 Gone: the receiver asked to be forgotten; recording it also disables the webhook.
    if (outcome.status === GONE) return { status: "FAILED" as const, nextAttemptAt: null };
    const now = this.options.clock.now();
    const retryAfter =
      outcome.status === 429 || outcome.status === 503 ? parseRetryAfter(outcome.headers?.["retry-after"], now) : undefined;
    const { nextAttemptAt } = nextAttempt(webhook.retry, attemptNumber, new Date(delivery.createdAtMs), now, retryAfter, this.options.random);
    return nextAttemptAt ? { status: "RETRYING" as const, nextAttemptAt } : { status: "FAILED" as const, nextAttemptAt: null };
  }
}

/**
 * A finished attempt on its way to the store. A class rather than an object literal: the
 * request headers as logged are put together only if someone reads them (the store gets them in
 * parts), and an object literal with a getter costs some twenty times more to create.
 */
class Attempt implements AttemptRecord {
  readonly deliveryId: string;
  readonly eventId: string;
  readonly webhookId: number;
  readonly leaseUntil: Date;
  readonly durationMs: number;
  readonly requestUrl: string;
  readonly requestMethod: string;
  readonly responseStatus: number | null;
  readonly responseHeaders: Record<string, string> | null;
  readonly responseBody: string | null;
  readonly responseBodyEncoding: "base64" | null;
  readonly errorClass: string | null;
  readonly errorMessage: string | null;
  readonly succeeded: boolean;
  readonly webhookHeaders: Readonly<Record<string, string>>;
  readonly fifo: "CONTINUE" | "PAUSE" | null;

  constructor(
    delivery: ClaimedDelivery,
    webhook: CachedWebhook,
    readonly attemptNumber: number,
    readonly startedAt: Date,
    outcome: AttemptOutcome,
    readonly status: AttemptRecord["status"],
    readonly nextAttemptAt: Date | null,
    readonly signatureTimestamp: number,
    readonly signature: string,
    readonly requestBody: string,
  ) {
    this.deliveryId = delivery.id;
    this.eventId = delivery.eventId;
    this.webhookId = delivery.webhookId;
    this.leaseUntil = delivery.leaseUntil;
    this.durationMs = outcome.durationMs;
    this.requestUrl = webhook.urlText;
    this.requestMethod = webhook.method;
    this.responseStatus = outcome.status;
    this.responseHeaders = outcome.headers;
    this.responseBody = outcome.body;
    this.responseBodyEncoding = outcome.bodyEncoding;
    this.errorClass = outcome.errorClass;
    this.errorMessage = outcome.errorMessage;
    this.succeeded = outcome.succeeded;
    this.webhookHeaders = webhook.loggedHeaders;
    this.fifo = webhook.fifo;
    // A FIFO head that failed finally: the attempt log says what became of the line behind it.
    if (this.fifo && status === "FAILED") {
      const note = this.fifo === "PAUSE" ? "FIFO: the webhook is paused; the deliveries after it wait" : "FIFO: the deliveries after it go on";
      this.errorMessage = `${this.errorMessage ?? `HTTP ${outcome.status}`} (${note})`;
    }
  }

  get requestHeaders(): Record<string, string> {
    return {
      ...this.webhookHeaders,
      "webhook-id": this.eventId,
      "webhook-timestamp": String(this.signatureTimestamp),
      "webhook-signature": this.signature,
    };
  }
}

/** Whether a claim may have left due deliveries behind for want of a webhook's slots. */
function heldBack(claimed: readonly ClaimedDelivery[], limits: ClaimLimits): boolean {
  if (limits.fullWebhooks.length) return true;
  const counts = new Map<number, number>();
  for (const d of claimed) counts.set(d.webhookId, (counts.get(d.webhookId) ?? 0) + 1);
  for (const [webhookId, n] of counts) {
    const i = limits.heldWebhooks.indexOf(webhookId);
    if (n >= (i < 0 ? limits.slotsPerWebhook : limits.heldSlots[i]!)) return true;
  }
  return false;
}
