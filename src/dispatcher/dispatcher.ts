import type { SecretBox } from "../crypto/secret-box.js";
import type { Logger } from "../log.js";
import { isStoreUnavailable, type SqlClient } from "../store/database.js";
import type { Clock } from "../clock.js";
import { AttemptAbort, type AttemptOutcome, type HttpSender } from "./http-sender.js";
import {
  claimDue,
  GONE,
  recordAttempts,
  releaseLeases,
  type AttemptRecord,
  type AutoDisableRule,
  type ClaimedDelivery,
  type ClaimLimits,
  type DisabledWebhook,
} from "./delivery-queue.js";
import { nextAttempt, parseRetryAfter } from "./retry-schedule.js";
import { sign } from "./signature.js";
import { WebhookConfigCache, type PreparedWebhook } from "./webhook-config.js";

/** How long a finished attempt may wait to be recorded with others in one transaction. */
const FLUSH_DELAY_MS = 20;

/** Tries to record a batch (a deadlock or a brief outage passes) before leaving it to the leases. */
const RECORD_TRIES = 3;

/**
 * Batches recorded at once (each on its own connection). Only batches in which every attempt
 * succeeded overlap: a failure changes its webhook's failure streak, which must see the batches
 * before it, so a batch with failures waits for those and holds back the ones after it.
 */
const PARALLEL_RECORDS = 2;

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
  /**
   * Called when attempts could not be stored as they were: stored_without_response (a row the
   * store refused, kept as RECORD_FAILED) or not_stored (its delivery will be sent again).
   */
  readonly onRecordFailed?: (attempts: number, outcome: "stored_without_response" | "not_stored") => void;
  /** Called after each batch of attempts is stored (live delivery log, metrics). */
  readonly onRecorded?: (records: readonly AttemptRecord[], disabled: readonly DisabledWebhook[]) => void;
}

/** A claimed delivery waiting for a send slot. */
interface Queued {
  readonly delivery: ClaimedDelivery;
  /** undefined when the webhook went away since the claim, or cannot be prepared. */
  readonly webhook: PreparedWebhook | undefined;
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
  /** Finished attempts not yet handed to a batch. */
  private pending: AttemptRecord[] = [];
  /** Batches waiting their turn to be recorded, in order. */
  private readonly batches: { records: AttemptRecord[]; allSucceeded: boolean }[] = [];
  /** Batches being recorded right now. */
  private readonly recording = new Set<{ records: AttemptRecord[]; allSucceeded: boolean }>();
  /** Attempts pending, waiting in batches, or being recorded. */
  private unrecorded = 0;
  private recordedWaiters: (() => void)[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private woken = false;
  /** The last claim found nothing due: finished sends do not claim again until a wake or the poll. */
  private idle = false;
  private settledWaiters: (() => void)[] = [];
  private readonly attemptMs: number;

  constructor(private readonly options: DispatcherOptions) {
    this.configs = new WebhookConfigCache(options.sql, options.secrets, (webhookId, error) =>
      options.logger.error({ err: error, webhookId }, "cannot prepare webhook (its secrets do not open with this key?)"),
    );
    this.attemptMs = options.attemptMs ?? options.leaseMs / 2;
    this.perWebhook = options.maxInFlightPerWebhook ?? Infinity;
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
    await this.flush();
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
    if (this.unrecorded) {
      const expired = (records: readonly AttemptRecord[]) => {
        for (const r of records) if (r.leaseUntil.getTime() <= now) unrecorded.push(r.deliveryId);
      };
      expired(this.pending);
      for (const b of this.batches) expired(b.records);
      for (const b of this.recording) expired(b.records);
    }
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
    if (this.unrecorded >= concurrency + 2 * batchSize) return 0;
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
      let webhooks: Map<number, PreparedWebhook>;
      try {
        const now = clock.now();
        claimed = await claimDue(sql, now, size, leaseMs, this.claimLimits(now.getTime()));
        if (!claimed.length) {
          this.idle = true;
          if (this.settledWaiters.length && !this.inFlight.size && !this.queued) {
            await this.flush();
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
    // No webhook: deleted since the claim (its deliveries went with it), or unreadable (logged; the lease runs out).
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

  private launch(delivery: ClaimedDelivery, webhook: PreparedWebhook): void {
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
    if (record) this.enqueue(record);
    else if (record === null) this.aborted.push(delivery); // aborted by shutdown: given back
    this.slotFreed(delivery.webhookId);
    this.startQueued();
    this.nudge();
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
        : webhook.signingKeys;
    const signature = sign(keys, delivery.eventId, timestamp, body);
    const headers = webhook.headers.concat("webhook-id", delivery.eventId, "webhook-timestamp", String(timestamp), "webhook-signature", signature);
    const outcome = await this.options.sender.send({ url: webhook.url, method: webhook.method, headers, body }, abort);
    if (outcome.errorClass === "ABORTED") return null;
    const attemptNumber = delivery.attemptCount + 1;
    const { status, nextAttemptAt } = this.decide(webhook, delivery, attemptNumber, outcome);
    return new Attempt(delivery, webhook, attemptNumber, startedAt, outcome, status, nextAttemptAt, timestamp, signature, body);
  }

  private decide(webhook: PreparedWebhook, delivery: ClaimedDelivery, attemptNumber: number, outcome: AttemptOutcome) {
    if (outcome.succeeded) return { status: "SUCCEEDED" as const, nextAttemptAt: null };
    // 410 Gone: the receiver asked to be forgotten; recording it also disables the webhook.
    if (outcome.status === GONE) return { status: "FAILED" as const, nextAttemptAt: null };
    const now = this.options.clock.now();
    const retryAfter =
      outcome.status === 429 || outcome.status === 503 ? parseRetryAfter(outcome.headers?.["retry-after"], now) : undefined;
    const { nextAttemptAt } = nextAttempt(webhook.retry, attemptNumber, new Date(delivery.createdAtMs), now, retryAfter, this.options.random);
    return nextAttemptAt ? { status: "RETRYING" as const, nextAttemptAt } : { status: "FAILED" as const, nextAttemptAt: null };
  }

  private enqueue(record: AttemptRecord): void {
    this.pending.push(record);
    this.unrecorded++;
    if (this.pending.length >= this.options.batchSize) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  /** Hands what is pending to batches; resolves once every attempt finished so far is recorded (or given up). */
  private flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const { batchSize } = this.options;
    for (let i = 0; i < this.pending.length; i += batchSize) {
      const records = this.pending.slice(i, i + batchSize);
      this.batches.push({ records, allSucceeded: records.every((r) => r.succeeded) });
    }
    this.pending = [];
    this.startBatches();
    if (!this.unrecorded) return Promise.resolve();
    return new Promise((resolve) => this.recordedWaiters.push(resolve));
  }

  private startBatches(): void {
    while (this.batches.length) {
      const next = this.batches[0]!;
      const overlap = next.allSucceeded && [...this.recording].every((b) => b.allSucceeded);
      if (this.recording.size && (!overlap || this.recording.size >= PARALLEL_RECORDS)) return;
      this.batches.shift();
      this.recording.add(next);
      void this.record(next.records).finally(() => {
        this.recording.delete(next);
        this.unrecorded -= next.records.length;
        this.startBatches();
        if (!this.unrecorded) for (const resolve of this.recordedWaiters.splice(0)) resolve();
        this.nudge(); // the recorded attempts no longer count against the claims
      });
    }
  }

  /**
   * Stores one batch; never throws. A batch the store refuses for what it holds (not for being
   * unreachable) is split in halves until the rows it refuses are alone: the others are stored
   * as usual, and a refused one is stored without its response, as RECORD_FAILED, with its
   * delivery moved on all the same. So one row never takes the others down, and no delivery is
   * sent again and again with nothing logged. Every record failure is logged and counted.
   */
  private async record(batch: AttemptRecord[]): Promise<void> {
    const error = await this.store(batch);
    if (error === undefined) return;
    const { logger } = this.options;
    if (isStoreUnavailable(error)) {
      // Not stored: the leases run out and the deliveries are sent again (at-least-once).
      this.options.onRecordFailed?.(batch.length, "not_stored");
      logger.error({ err: error, attempts: batch.length }, "recording attempts failed; the deliveries will be sent again");
      return;
    }
    if (batch.length > 1) {
      logger.warn({ err: error, attempts: batch.length }, "recording attempts failed; recording them in halves to find the row the store refuses");
      const half = batch.length >> 1;
      await this.record(batch.slice(0, half));
      await this.record(batch.slice(half));
      return;
    }
    const refused = batch[0]!;
    const fallback = withoutResponse(refused, error);
    const again = await this.store([fallback]);
    if (again === undefined) {
      this.options.onRecordFailed?.(1, "stored_without_response");
      logger.error(
        { err: error, deliveryId: refused.deliveryId, webhookId: refused.webhookId, attempt: refused.attemptNumber },
        "recording an attempt failed; stored without its response (RECORD_FAILED)",
      );
      return;
    }
    this.options.onRecordFailed?.(1, "not_stored");
    logger.error(
      { err: again, firstError: error, deliveryId: refused.deliveryId, webhookId: refused.webhookId },
      "recording an attempt failed, also without its response; the delivery will be sent again",
    );
  }

  /** One try (a deadlock or a brief outage passes: a few) at storing a batch; the error when it was not stored. */
  private async store(batch: AttemptRecord[]): Promise<unknown> {
    const { sql, clock, autoDisable, logger } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const disabled = await recordAttempts(sql, batch, clock.now(), autoDisable);
        for (const d of disabled) logger.warn({ webhookId: d.id, reason: d.reason }, "webhook disabled");
        logAttempts(logger, batch);
        try {
          this.options.onRecorded?.(batch, disabled);
        } catch (error) {
          logger.warn({ err: error }, "onRecorded failed"); // stored all the same: never recorded twice
        }
        return undefined;
      } catch (error) {
        // What the rows hold does not change between tries: only a passing condition is tried again.
        if (attempt >= RECORD_TRIES || !isPassing(error)) return error;
        logger.warn({ err: error, attempts: batch.length, try: attempt }, "recording attempts failed; trying again");
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }
}

/** SQLSTATE classes that pass on their own: connection (08), rollback/deadlock (40), resources (53), operator (57). */
const PASSING_CLASSES = new Set(["08", "40", "53", "57"]);

function sqlState(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current && typeof current === "object"; depth++) {
    const e = current as { code?: unknown; originalCode?: unknown; cause?: unknown };
    for (const code of [e.code, e.originalCode]) if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = e.cause;
  }
  return undefined;
}

/** Worth trying the same statement again: the store is away, or the failure was about timing, not data. */
function isPassing(error: unknown): boolean {
  if (isStoreUnavailable(error)) return true;
  const state = sqlState(error);
  return state !== undefined && PASSING_CLASSES.has(state.slice(0, 2));
}

/** The attempt as it can still be stored: what was sent and the status, not what came back. */
function withoutResponse(record: AttemptRecord, error: unknown): AttemptRecord {
  const reason = error instanceof Error ? error.message : String(error);
  return Object.assign(Object.create(Object.getPrototypeOf(record) as object) as AttemptRecord, record, {
    responseHeaders: null,
    responseBody: null,
    responseBodyEncoding: null,
    errorClass: "RECORD_FAILED",
    // Plain ASCII: the store's own message may quote the bytes it refused.
    errorMessage: `the response could not be stored (${reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 200)}); the attempt is kept without it`,
  });
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

  constructor(
    delivery: ClaimedDelivery,
    webhook: PreparedWebhook,
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

/**
 * One line per delivery that gave up (warn), and with HOOKGATE_LOG_LEVEL=debug one per attempt,
 * each with its delivery id. After recording, so the hot path pays one level check per batch.
 */
function logAttempts(logger: Logger, batch: readonly AttemptRecord[]): void {
  const debug = logger.isLevelEnabled("debug");
  for (const r of batch) {
    if (r.status !== "FAILED" && !debug) continue;
    const line = {
      deliveryId: r.deliveryId,
      webhookId: r.webhookId,
      attempt: r.attemptNumber,
      status: r.status,
      responseStatus: r.responseStatus,
      errorClass: r.errorClass,
      ms: r.durationMs,
    };
    if (r.status === "FAILED") logger.warn(line, "delivery failed: its retry schedule is spent");
    else logger.debug(line, "delivery attempt recorded");
  }
}
