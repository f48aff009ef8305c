import type { Logger } from "../log.js";
import type { SqlClient } from "../store/database.js";
import { queueAutovacuumRuns, vacuumQueue } from "./delivery-queue.js";

/**
 * Vacuums the delivery queue where nothing else does. PostgreSQL's autovacuum keeps the queue
 * table small; PGlite has no autovacuum, and a PostgreSQL server may run with it off (for the
 * server, or for this table). There, every claim would walk an ever longer trail of dead rows
 * (BENCHMARKS.md, bench:growth), so the dispatcher vacuums the queue itself, every intervalMs
 * while it records attempts. Where autovacuum runs, this only asks, each round, whether it still does.
 */
export interface QueueVacuum {
  start(): void;
  /** Counts recorded attempts: an idle queue is not vacuumed again. */
  recorded(count: number): void;
  /** Vacuums now if autovacuum does not look after the queue; false when it does. */
  runOnce(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface QueueVacuumDeps {
  readonly sql: SqlClient;
  readonly kind: "pglite" | "postgres";
  readonly logger: Logger;
  readonly intervalMs: number;
}

export function createQueueVacuum(deps: QueueVacuumDeps): QueueVacuum {
  let recordedSince = 0;
  let said = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  const runOnce = async (): Promise<boolean> => {
    if (deps.kind === "postgres") {
      if (await queueAutovacuumRuns(deps.sql)) return false;
      if (!said) {
        deps.logger.warn(
          "autovacuum is off for the delivery_queue table on this PostgreSQL server: the dispatcher vacuums it itself (turn autovacuum on to leave it to PostgreSQL)",
        );
        said = true;
      }
    }
    recordedSince = 0;
    await vacuumQueue(deps.sql);
    return true;
  };

  return {
    start() {
      timer = setInterval(() => {
        if (recordedSince === 0) return;
        running = runOnce().catch((error: unknown) => deps.logger.warn({ err: error }, "vacuuming the delivery queue failed; trying again later"));
      }, deps.intervalMs);
      timer.unref();
    },
    recorded(count) {
      recordedSince += count;
    },
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
