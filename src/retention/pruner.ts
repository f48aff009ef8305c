import type { Clock } from "../clock.js";
import type { Logger } from "../log.js";
import type { SqlClient, SqlQuery } from "../store/database.js";

/**
 * Retention: events (with their deliveries and attempts) older than the retention window are
 * deleted, and attempt bodies older than a shorter window are cleared, in the background, in
 * small batches, each in a transaction of its own, so publishers and the dispatcher never wait
 * long behind it. Any number of processes may run a pruner: a transaction-scoped advisory lock
 * lets one of them work at a time, and the others skip the round.
 */
export interface RetentionSettings {
  /** Days events, deliveries and attempts are kept; 0 keeps them forever. */
  readonly retentionDays: number;
  /** Days attempt request and response bodies are kept; 0 keeps them as long as the attempt. */
  readonly bodyRetentionDays: number;
  /** How often a round runs. */
  readonly intervalMs: number;
  /** Rows per statement. */
  readonly batchSize: number;
}

export interface PrunerDeps {
  readonly sql: SqlClient;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Rows pruned by one batch: events deleted, or attempts whose bodies were cleared. */
  readonly onPruned?: (kind: PrunedKind, rows: number) => void;
}

export type PrunedKind = "events" | "attempt_bodies";

export interface PruneReport {
  /** False when another process held the pruning lock, so this round did nothing. */
  readonly ran: boolean;
  readonly events: number;
  readonly attemptBodies: number;
}

export interface Pruner {
  start(): void;
  /** One whole round now: every batch until nothing is left to prune. */
  runOnce(): Promise<PruneReport>;
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;
/** retention_state row holding the newest created_at (epoch ms) of a pruned event. */
export const EVENTS_WATERMARK = "events_pruned_until";
const PRUNE_LOCK = 72_707_371;

// An event goes when it is older than the window and none of its deliveries is still waiting
// (a parked or retrying delivery keeps it) or was queued inside the window (a replay of an old
// event keeps the event as long as the replay's log). Its deliveries go by the foreign key's
// cascade, their queue rows and attempts by the triggers that keep those relations.
const PRUNE_EVENTS = `
WITH doomed AS (
  SELECT e.id FROM events e
  WHERE e.created_at < $1
    AND NOT EXISTS (
      SELECT 1 FROM deliveries d
      WHERE d.event_id = e.id AND (d.created_at >= $1 OR d.status IN ('PENDING', 'RETRYING'))
    )
  ORDER BY e.created_at
  LIMIT $2
), gone AS (
  DELETE FROM events WHERE id = ANY(ARRAY(SELECT id FROM doomed)) RETURNING created_at
), mark AS (
  -- The newest time pruned so far: a replay from before it would be silently partial.
  INSERT INTO retention_state (name, position, updated_at)
  SELECT '${EVENTS_WATERMARK}', (EXTRACT(EPOCH FROM max(created_at)) * 1000)::bigint, now() FROM gone HAVING count(*) > 0
  ON CONFLICT (name) DO UPDATE SET position = GREATEST(retention_state.position, EXCLUDED.position), updated_at = now()
)
SELECT count(*)::int AS n FROM gone`;

// The attempt log is walked in id order from where the last round stopped; attempts are
// appended in time order, so the walk stops at the first batch that starts inside the window.
const NEXT_ATTEMPTS = `
SELECT id::text AS id, started_at < $2 AS old FROM delivery_attempts
WHERE id > $1 ORDER BY id LIMIT $3`;

const CLEAR_BODIES = `
WITH cleared AS (
  UPDATE delivery_attempts SET request_body = '', response_body = NULL
  WHERE id > $1 AND id <= $2 AND started_at < $3 AND (request_body <> '' OR response_body IS NOT NULL)
  RETURNING 1
)
SELECT count(*)::int AS n FROM cleared`;

const SAVE_POSITION = `
INSERT INTO retention_state (name, position, updated_at) VALUES ('attempt_bodies', $1, now())
ON CONFLICT (name) DO UPDATE SET position = GREATEST(retention_state.position, EXCLUDED.position), updated_at = now()`;

export function createPruner(settings: RetentionSettings, deps: PrunerDeps): Pruner {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PruneReport> | undefined;
  let stopped = false;
  let failing = false;

  /** One batch under the lock; undefined when another process holds it. */
  const batch = <T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T | undefined> =>
    deps.sql.transaction(async (tx) => {
      const [lock] = await tx.query<{ got: boolean }>(`SELECT pg_try_advisory_xact_lock(${PRUNE_LOCK}) AS got`);
      return lock?.got ? fn(tx) : undefined;
    });

  async function pruneEvents(cutoff: Date): Promise<number | undefined> {
    let total = 0;
    while (!stopped) {
      const n = await batch(async (tx) => (await tx.query<{ n: number }>(PRUNE_EVENTS, [cutoff, settings.batchSize]))[0]!.n);
      if (n === undefined) return total ? total : undefined;
      if (n) deps.onPruned?.("events", n);
      total += n;
      if (n < settings.batchSize) break;
    }
    return total;
  }

  async function clearBodies(cutoff: Date): Promise<number | undefined> {
    let total = 0;
    while (!stopped) {
      const step = await batch(async (tx) => {
        const [state] = await tx.query<{ position: string }>(`SELECT position::text AS position FROM retention_state WHERE name = 'attempt_bodies'`);
        const from = state?.position ?? "0";
        const rows = await tx.query<{ id: string; old: boolean }>(NEXT_ATTEMPTS, [from, cutoff, settings.batchSize]);
        // Up to the last old attempt before the first one inside the window: the rest waits for a later round.
        const firstNew = rows.findIndex((r) => !r.old);
        const old = firstNew === -1 ? rows : rows.slice(0, firstNew);
        const done = firstNew !== -1 || rows.length < settings.batchSize;
        if (!old.length) return { cleared: 0, done };
        const to = old[old.length - 1]!.id;
        const [cleared] = await tx.query<{ n: number }>(CLEAR_BODIES, [from, to, cutoff]);
        await tx.query(SAVE_POSITION, [to]);
        return { cleared: cleared!.n, done };
      });
      if (step === undefined) return total ? total : undefined;
      if (step.cleared) deps.onPruned?.("attempt_bodies", step.cleared);
      total += step.cleared;
      if (step.done) break;
    }
    return total;
  }

  async function round(): Promise<PruneReport> {
    const now = deps.clock.now().getTime();
    let ran = false;
    let events = 0;
    let attemptBodies = 0;
    if (settings.retentionDays > 0) {
      const n = await pruneEvents(new Date(now - settings.retentionDays * DAY_MS));
      if (n !== undefined) ran = true;
      events = n ?? 0;
    }
    if (settings.bodyRetentionDays > 0) {
      const n = await clearBodies(new Date(now - settings.bodyRetentionDays * DAY_MS));
      if (n !== undefined) ran = true;
      attemptBodies = n ?? 0;
    }
    if (events || attemptBodies) deps.logger.info({ events, attemptBodies }, "retention: pruned");
    return { ran, events, attemptBodies };
  }

  const runOnce = (): Promise<PruneReport> =>
    (running ??= round()
      .then((report) => {
        if (failing) deps.logger.info("retention: pruning works again");
        failing = false;
        return report;
      })
      .finally(() => {
        running = undefined;
      }));

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((error: unknown) => {
          // Said once per outage: the next round tries again.
          if (!failing) deps.logger.warn({ err: error }, "retention: pruning failed; retrying next round");
          failing = true;
        })
        .finally(schedule);
    }, settings.intervalMs);
    timer.unref();
  };

  return {
    start() {
      if (settings.retentionDays > 0 || settings.bodyRetentionDays > 0) schedule();
    },
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

/**
 * The newest creation time of any event retention has deleted, or undefined when none was: what
 * was published at or before it may be gone, so a replay from there would be partial.
 */
export async function prunedUntil(sql: SqlQuery): Promise<Date | undefined> {
  const [row] = await sql.query<{ position: string }>(`SELECT position::text AS position FROM retention_state WHERE name = $1`, [EVENTS_WATERMARK]);
  return row ? new Date(Number(row.position)) : undefined;
}
