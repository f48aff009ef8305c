import type { Logger } from "../log.js";
import type { SqlClient } from "../store/database.js";
import { HORIZON_FOR_LATER_READS, SNAPSHOT_XMAX } from "../store/visibility-horizon.js";

/**
 * The horizon (src/store/visibility-horizon.ts): every transaction of this database with an id
 * below it has finished (committed or rolled back), so no row (event or attempt) with a smaller
 * tx_id can still appear. It is read in a statement of its own, before the rows it bounds are read
 * (see EventFeed.drain()), and with it the statement's xmax (the live attempt log's floors).
 */
const HORIZON = `SELECT ${HORIZON_FOR_LATER_READS}::text AS horizon, ${SNAPSHOT_XMAX}::text AS xmax`;
/** Where pg_stat_activity cannot be read (an embedded store without it): the cluster-wide xmin. */
const CLUSTER_HORIZON =
  "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax";

/** One reading: the horizon, and the statement's xmax (the newest transaction id that had ended, plus one). */
export interface HorizonReading {
  readonly horizon: bigint;
  readonly xmax: bigint;
}

/**
 * Reads the horizon, falling back once to the cluster-wide one where pg_stat_activity cannot be
 * read. The one place that knows whether it can be read: the live attempt log's floor asks here.
 */
export class HorizonReader {
  private sqlText = HORIZON;

  constructor(
    private readonly sql: SqlClient,
    private readonly logger: Logger,
  ) {}

  /** Whether this database's sessions can be read (pg_stat_activity, pg_prepared_xacts). */
  get sessionsReadable(): boolean {
    return this.sqlText === HORIZON;
  }

  async read(): Promise<HorizonReading> {
    try {
      const [row] = await this.sql.query<{ horizon: string; xmax: string }>(this.sqlText, [], "hookgate_live_horizon");
      return { horizon: BigInt(row!.horizon), xmax: BigInt(row!.xmax) };
    } catch (error) {
      if (!this.sessionsUnreadable(error)) throw error;
      return this.read();
    }
  }

  /**
   * Whether `error` says the sessions cannot be read; if so, from now on they are not read (the
   * cluster-wide horizon), and the caller may try again without them. Said once.
   */
  sessionsUnreadable(error: unknown): boolean {
    if (!this.sessionsReadable || !/pg_stat_activity|pg_prepared_xacts|permission/i.test(String((error as Error).message))) return false;
    this.logger.info({ err: { message: (error as Error).message } }, "live feed uses the cluster-wide horizon (pg_stat_activity cannot be read)");
    this.sqlText = CLUSTER_HORIZON;
    return true;
  }
}
