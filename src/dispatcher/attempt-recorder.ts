import type { Clock } from "../clock.js";
import type { Logger } from "../log.js";
import { isStoreUnavailable, type SqlClient } from "../store/database.js";
import { recordAttempts, type AttemptRecord, type AutoDisableRule, type DisabledWebhook, type FailingWebhook } from "./delivery-queue.js";

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

export interface AttemptRecorderOptions {
  readonly sql: SqlClient;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Attempts recorded in one statement at most (the dispatcher claims as many at once). */
  readonly batchSize: number;
  readonly autoDisable: AutoDisableRule;
  /**
   * Called when attempts could not be stored as they were: stored_without_response (a row the
   * store refused, kept as RECORD_FAILED) or not_stored (its delivery will be sent again).
   */
  readonly onRecordFailed?: (attempts: number, outcome: "stored_without_response" | "not_stored") => void;
  /** Called after each batch of attempts is stored (live delivery log, metrics, operational events). */
  readonly onRecorded?: (records: readonly AttemptRecord[], disabled: readonly DisabledWebhook[], failing: readonly FailingWebhook[]) => void;
}

/**
 * The dispatcher's attempt recorder: finished attempts wait up to FLUSH_DELAY_MS to be stored
 * with others, in batches of at most batchSize, each in one statement (recordAttempts), at most
 * PARALLEL_RECORDS at once. It never throws: what the store refuses is stored without its
 * response, and what cannot be stored at all is left to the leases (the delivery is sent again).
 * Apart from the sending, so the claim loop sees only how much is still unrecorded.
 */
export class AttemptRecorder {
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

  constructor(
    private readonly options: AttemptRecorderOptions,
    /** Called after each batch is done (stored or given up): its attempts no longer count as unrecorded. */
    private readonly onBatchDone: (records: readonly AttemptRecord[]) => void,
  ) {}

  /** Attempts finished and not yet recorded (or given up). */
  get count(): number {
    return this.unrecorded;
  }

  /** Adds the ids of unrecorded attempts' deliveries whose lease had ended by `now` (epoch ms) to `into`. */
  expiredLeases(now: number, into: string[]): void {
    if (!this.unrecorded) return;
    expiredIn(this.pending, now, into);
    for (const b of this.batches) expiredIn(b.records, now, into);
    for (const b of this.recording) expiredIn(b.records, now, into);
  }

  add(record: AttemptRecord): void {
    this.pending.push(record);
    this.unrecorded++;
    if (this.pending.length >= this.options.batchSize) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  /** Hands what is pending to batches; resolves once every attempt finished so far is recorded (or given up). */
  flush(): Promise<void> {
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
        this.onBatchDone(next.records);
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
        const { disabled, failing } = await recordAttempts(sql, batch, clock.now(), autoDisable);
        for (const f of failing) logger.warn({ webhookId: f.id, consecutiveFailures: f.consecutiveFailures }, "webhook failing");
        for (const d of disabled) logger.warn({ webhookId: d.id, reason: d.reason }, "webhook disabled");
        logAttempts(logger, batch);
        try {
          this.options.onRecorded?.(batch, disabled, failing);
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

function expiredIn(records: readonly AttemptRecord[], now: number, into: string[]): void {
  for (const r of records) if (r.leaseUntil.getTime() <= now) into.push(r.deliveryId);
}
