import type { SqlQuery } from "../store/database.js";

/**
 * Where an event stands in the one order every live subscriber sees: the id of the transaction
 * that stored it (0 for rows stored before transaction ids were kept: they are all older than
 * any other), then its id. In SQL: (coalesce(tx_id, 0), id), served by events_position_idx.
 */
export interface Position {
  readonly tx: bigint;
  readonly id: bigint;
}

export const START: Position = { tx: 0n, id: 0n };

/** The SQL expression of an event's position key's first part (alias e). */
export const TX = "coalesce(e.tx_id, 0)";

export function compare(a: Position, b: Position): number {
  if (a.tx !== b.tx) return a.tx < b.tx ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

export function positionOf(e: { readonly txId: bigint | null; readonly id: bigint }): Position {
  return { tx: e.txId ?? 0n, id: e.id };
}

/**
 * The cluster's identity: transaction ids count per PostgreSQL cluster, and a dump restored
 * into another cluster starts counting again (and keeps the stored tx_id values), so a cursor
 * from before would point into another numbering. A cursor carries the identity it was made on.
 */
export async function readClusterId(sql: SqlQuery): Promise<string> {
  const [row] = await sql.query<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()");
  return row!.id;
}

const PREFIX = "hg1";

/** The opaque cursor a subscriber resumes with (Event.cursor; `after`). */
export function encodeCursor(clusterId: string, p: Position): string {
  return Buffer.from(`${PREFIX}:${clusterId}:${p.tx}:${p.id}`).toString("base64url");
}

export type DecodedAfter =
  | { readonly kind: "eventId"; readonly id: bigint }
  | { readonly kind: "cursor"; readonly clusterId: string; readonly position: Position };

/**
 * `after` as given: an event id (digits), or a cursor. undefined when it is neither. (Event ids
 * are digits only and a cursor never is: base64url of text starting "hg1:".)
 */
export function decodeAfter(value: string): DecodedAfter | undefined {
  if (/^\d{1,19}$/.test(value)) return { kind: "eventId", id: BigInt(value) };
  const text = Buffer.from(value, "base64url").toString("utf8");
  const m = /^hg1:(\d{1,20}):(\d{1,19}):(\d{1,19})$/.exec(text);
  if (!m) return undefined;
  return { kind: "cursor", clusterId: m[1]!, position: { tx: BigInt(m[2]!), id: BigInt(m[3]!) } };
}

/**
 * Where deliveryAttempted resumes: an attempt's position (its storing transaction's id, then its
 * id) and an id floor: every attempt positioned after it has an id above the floor, so the resume
 * walks the primary key from there instead of reading the whole log (attempts have no index on
 * their position: it would be paid on the dispatcher's hot path).
 */
export interface AttemptPoint {
  readonly position: Position;
  readonly floor: bigint;
}

const ATTEMPT_PREFIX = "hga1";

/** The opaque cursor of a live attempt (DeliveryAttempt.cursor; deliveryAttempted's `after`). */
export function encodeAttemptCursor(clusterId: string, point: AttemptPoint): string {
  return Buffer.from(`${ATTEMPT_PREFIX}:${clusterId}:${point.position.tx}:${point.position.id}:${point.floor}`).toString("base64url");
}

/** An attempt cursor as given; undefined when it is not one. */
export function decodeAttemptCursor(value: string): { readonly clusterId: string; readonly point: AttemptPoint } | undefined {
  const text = Buffer.from(value, "base64url").toString("utf8");
  const m = /^hga1:(\d{1,20}):(\d{1,19}):(\d{1,19}):(\d{1,19})$/.exec(text);
  if (!m) return undefined;
  return { clusterId: m[1]!, point: { position: { tx: BigInt(m[2]!), id: BigInt(m[3]!) }, floor: BigInt(m[4]!) } };
}
