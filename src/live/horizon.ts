import type { Logger } from "../log.js";
import type { SqlClient } from "../store/database.js";

/**
 * The horizon: every transaction of this database with an id below it has finished (committed
 * or rolled back), so no row (event or attempt) with a smaller tx_id can still appear. It is read in a
 * statement of its own, before the rows it bounds are read (see EventFeed.drain()).
 *
 * The snapshot's xmin alone would do, but it is cluster-wide: any transaction open in any
 * database of the server would hold back every live feed. Only transactions of this database
 * can store events, so the horizon is the oldest of them still running (sessions and prepared
 * transactions), or, with none, the snapshot's xmax (the next id to be handed out; the statement
 * took its snapshot before it read the running ones, so anything given an id later gets one at or
 * above it). pg_stat_activity hides other roles' transactions from an unprivileged role: when a
 * session of this database is hidden, the cluster-wide xmin is used instead (correct, only
 * slower to move). Ids in pg_stat_activity are 32-bit: each is widened to 64 bits against xmax
 * (running transactions lie within 2^31 below it).
 */
const HORIZON = `
WITH s AS MATERIALIZED (
  SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax, pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin
), running AS (
  SELECT backend_xid::text::bigint AS x FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL
  UNION ALL
  SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database = current_database()
)
SELECT (CASE
  WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = '<insufficient privilege>') THEN s.xmin
  ELSE least(s.xmax, (SELECT min(s.xmax - (((s.xmax % 4294967296) - r.x) % 4294967296 + 4294967296) % 4294967296) FROM running r))
END)::text AS horizon, s.xmax::text AS xmax
FROM s`;
/** Where pg_stat_activity cannot be read (an embedded store without it): the cluster-wide xmin. */
const CLUSTER_HORIZON =
  "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax";

/** One reading: the horizon, and the statement's xmax (every transaction given an id later has one at or above it). */
export interface HorizonReading {
  readonly horizon: bigint;
  readonly xmax: bigint;
}

/** Reads the horizon, falling back once to the cluster-wide one where pg_stat_activity cannot be read. */
export class HorizonReader {
  private sqlText = HORIZON;

  constructor(
    private readonly sql: SqlClient,
    private readonly logger: Logger,
  ) {}

  async read(): Promise<HorizonReading> {
    try {
      const [row] = await this.sql.query<{ horizon: string; xmax: string }>(this.sqlText, [], "hookgate_live_horizon");
      return { horizon: BigInt(row!.horizon), xmax: BigInt(row!.xmax) };
    } catch (error) {
      if (this.sqlText === CLUSTER_HORIZON || !/pg_stat_activity|pg_prepared_xacts|permission/i.test(String((error as Error).message))) throw error;
      this.logger.info({ err: { message: (error as Error).message } }, "live feed uses the cluster-wide horizon");
      this.sqlText = CLUSTER_HORIZON;
      return this.read();
    }
  }
}
