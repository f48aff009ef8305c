// The visibility horizon, the one rule behind every "in the order of the storing transactions"
// read (the live event feed, the live attempt log, the pull queue, FIFO webhooks): a row whose
// tx_id lies below it was stored by a transaction that has ended, so no row can still appear
// before it.
//
// It is read from the statement's own snapshot: the oldest transaction the snapshot saw running
// (pg_snapshot_xip, 64-bit ids) that can store rows here, or the snapshot's xmax with none. Every
// transaction below it had ended (or belongs to another database of the server), so its rows are
// visible. pg_stat_activity, which says which database a transaction belongs to, shows every
// session's backend_xid to every role, so no session can hide from this. Two forms, for rows read
// by the same statement and for rows read by a later one (below).
//
// Why not the running transactions of pg_stat_activity alone: their ids are 32-bit, and a running
// transaction's id may lie AT OR ABOVE the snapshot's xmax (xmax is the newest ENDED id plus one,
// not the next id to be handed out; with two transactions open, the younger is above it). Widened
// against xmax as if below it, such an id became a horizon some four billion ids in the past, and
// every live reader stood still while it lasted.

const XID_WRAP = 4294967296;

/**
 * A scalar subquery: the horizon for rows read by THIS statement (the FIFO claim), as bigint. Only
 * other databases' transactions are left out: one of this database's that ends between the
 * snapshot and the pg_stat_activity read is still invisible to this statement, so it must count.
 */
export const HORIZON_OF_SNAPSHOT = `(SELECT least(pg_snapshot_xmax(pg_current_snapshot())::text::bigint, min(x::text::bigint))
    FROM pg_snapshot_xip(pg_current_snapshot()) AS x
    WHERE (x::text::bigint % ${XID_WRAP}) NOT IN (
      SELECT backend_xid::text::bigint FROM pg_stat_activity WHERE datname IS DISTINCT FROM current_database() AND backend_xid IS NOT NULL
      UNION ALL SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database IS DISTINCT FROM current_database()))`;

/** The enclosing statement's snapshot xmax: the newest ended transaction id plus one. */
export const SNAPSHOT_XMAX = "pg_snapshot_xmax(pg_current_snapshot())::text::bigint";

/**
 * A 32-bit transaction id of a RUNNING transaction (pg_stat_activity, pg_prepared_xacts) as the
 * 64-bit id it stands for, given a 64-bit reference near it (the statement's xmax): running ids lie
 * within 2^31 of it, below or above.
 */
export function widenXid(xid32: string, reference64: string): string {
  const half = XID_WRAP / 2;
  return `(${reference64} + ((((${xid32}) - (${reference64} % ${XID_WRAP}) + ${half}) % ${XID_WRAP} + ${XID_WRAP}) % ${XID_WRAP}) - ${half})`;
}

/**
 * A scalar subquery: the horizon for rows read by a LATER statement (the live readers, the pull
 * queue), as bigint. Only this database's transactions that are still running when
 * pg_stat_activity is read count: one that ended after the snapshot is visible to the later
 * statement, and other databases' never hold it back.
 */
export const HORIZON_FOR_LATER_READS = `(SELECT least(pg_snapshot_xmax(pg_current_snapshot())::text::bigint, min(x::text::bigint))
    FROM pg_snapshot_xip(pg_current_snapshot()) AS x
    WHERE (x::text::bigint % ${XID_WRAP}) IN (
      SELECT backend_xid::text::bigint FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL
      UNION ALL SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database = current_database()))`;
