import type { Clock } from "../clock.js";
import type { SqlQuery } from "../store/database.js";
import { runPublishStatement, type PublishInput, type PublishRow } from "./publish-sql.js";

/**
 * Group commit for the publish statement: concurrent publishes in one process share a
 * statement, so one transaction and one commit. While a publish statement is in flight, the
 * publishes that arrive wait and go together in the next one; a publish that finds none in
 * flight goes at once, so at low load nothing waits, and under load the groups grow with it
 * (BENCHMARKS.md, "bench:publish after group commit"). Nothing is shared between processes.
 *
 * A group must not change what any one publish means:
 * - the statement writes all of its input or nothing (publish-sql.ts). When a member's input
 *   does not resolve (an unknown type or customer, a schema version that moved), that member
 *   gets its rows back to report or retry, and the others go again at once as a group of their
 *   own (so a stream of bad publishes cannot keep holding good ones back);
 * - when the store refuses the statement for what it was given (SQLSTATE classes 22, 23 and P0:
 *   bad data, a constraint, a trigger's exception), a group of several is split in two and each
 *   half goes again, so the error reaches only the publish that caused it (a few extra statements
 *   for one bad publish among many, not one each). Any other error (the store unavailable, a
 *   deadlock, a timeout) is every member's answer, as it would have been alone;
 * - publishes that share an idempotency key never share a statement, nor run beside one that
 *   holds their key (a retry waits for the first attempt's statement, and pulls no one else
 *   into its wait);
 * - latency stays bounded: when the statement in flight has run for MAX_WAIT_MS, the waiting
 *   publishes go without it (a statement waiting on a lock, such as a key a transaction elsewhere
 *   holds, does not hold up the process's other publishes).
 */

/** Most events one grouped statement carries; a larger batch goes alone. */
export const MAX_GROUP_EVENTS = 500;
/** Most payload text (bytes of JSON) one grouped statement carries; a larger batch goes alone. */
export const MAX_GROUP_BYTES = 4 * 1024 * 1024;
/** How long publishes wait for the statement in flight before they go without it. */
export const MAX_WAIT_MS = 20;

/** What the groups do, for the metrics. */
export interface GroupObserver {
  /** A publish statement ran for this many calls and events. */
  statement?(calls: number, events: number): void;
  /**
   * Calls went again: "blocked" when another call's input did not resolve, "refused" when the
   * store refused the group's statement (it was split).
   */
  retried?(reason: "blocked" | "refused", calls: number): void;
}

interface Member {
  readonly input: readonly PublishInput[];
  readonly keys: readonly string[];
  /** The payloads' JSON text, in UTF-16 code units (close enough for a bound). */
  readonly size: number;
  resolve(result: GroupResult): void;
  reject(error: unknown): void;
}

/** A member's rows (`i` as it gave them) and the time stamped on what the statement stored. */
export interface GroupResult {
  readonly rows: PublishRow[];
  readonly now: Date;
}

export class PublishGroups {
  private waiting: Member[] = [];
  /** Groups that go again as they are, before anything new: the halves of a refused group, a blocked group's others. */
  private ready: Member[][] = [];
  /** Idempotency keys in the statements in flight (with how many hold each). */
  private readonly keysInFlight = new Map<string, number>();
  private inFlight = 0;
  private overdue: NodeJS.Timeout | undefined;
  private scheduled = false;
  /** When the latest statement started (performance.now()). */
  private lastStart = 0;

  constructor(
    private readonly sql: SqlQuery,
    private readonly clock: Clock,
    private readonly observer: GroupObserver = {},
  ) {}

  /** Runs the routed publish statement for this input (its `i` local to the caller); its rows, `i` as given. */
  run(input: readonly PublishInput[]): Promise<GroupResult> {
    return new Promise((resolve, reject) => {
      const keys = input.flatMap((r) => (r.k === null ? [] : [r.k]));
      const size = input.reduce((n, r) => n + r.p.length, 0);
      this.waiting.push({ input, keys, size, resolve, reject });
      this.next();
    });
  }

  /**
   * Starts a statement for what waits: when none is in flight, after the requests this turn of
   * the event loop is handling have had their say (on PGlite the statement runs on this thread,
   * so nothing could join it while in flight); else once the one in flight is MAX_WAIT_MS old.
   */
  private next(): void {
    if (!this.pending() || this.scheduled || this.overdue) return;
    if (this.inFlight === 0) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (this.inFlight === 0 && this.pending()) this.start();
      });
      return;
    }
    this.overdue = setTimeout(
      () => {
        this.overdue = undefined;
        if (this.pending()) this.start();
      },
      Math.max(0, this.lastStart + MAX_WAIT_MS - performance.now()),
    );
    this.overdue.unref();
  }

  private pending(): boolean {
    return this.waiting.length > 0 || this.ready.length > 0;
  }

  private start(): void {
    // Empty when all that waits has a key in flight: that statement's end looks again.
    const group = this.take();
    if (!group.length) return;
    this.inFlight++;
    this.lastStart = performance.now();
    clearTimeout(this.overdue);
    this.overdue = undefined;
    for (const m of group) for (const k of m.keys) this.keysInFlight.set(k, (this.keysInFlight.get(k) ?? 0) + 1);
    void this.execute(group).finally(() => {
      for (const m of group) {
        for (const k of m.keys) {
          const n = this.keysInFlight.get(k)! - 1;
          if (n > 0) this.keysInFlight.set(k, n);
          else this.keysInFlight.delete(k);
        }
      }
      this.inFlight--;
      if (this.inFlight === 0) {
        clearTimeout(this.overdue);
        this.overdue = undefined;
      }
      this.next();
    });
    // What could not join (a key already taken, the size caps) waits for this one.
    this.next();
  }

  /**
   * The next group: a ready group if there is one, else the waiting members in arrival order up
   * to the caps, no idempotency key twice or already in flight.
   */
  private take(): Member[] {
    const ready = this.ready.shift();
    if (ready) return ready;
    const group: Member[] = [];
    const keys = new Set<string>();
    let events = 0;
    let size = 0;
    const left: Member[] = [];
    for (const m of this.waiting) {
      const fits =
        (group.length === 0 || (events + m.input.length <= MAX_GROUP_EVENTS && size + m.size <= MAX_GROUP_BYTES)) &&
        !m.keys.some((k) => keys.has(k) || this.keysInFlight.has(k));
      if (!fits) {
        left.push(m);
        continue;
      }
      group.push(m);
      events += m.input.length;
      size += m.size;
      for (const k of m.keys) keys.add(k);
    }
    this.waiting = left;
    return group;
  }

  private async execute(group: Member[]): Promise<void> {
    const now = this.clock.now();
    // One input: each member's requests renumbered after the previous member's.
    const offsets: number[] = [];
    const input: PublishInput[] = [];
    for (const m of group) {
      offsets.push(input.length);
      for (const r of m.input) input.push(group.length === 1 ? r : { ...r, i: input.length });
    }
    this.observer.statement?.(group.length, input.length);
    let rows: PublishRow[];
    try {
      rows = await runPublishStatement(this.sql, "route", input, now);
    } catch (error) {
      if (group.length > 1 && refusedInput(error)) {
        // Which member's input the store refused is not known: each half goes again.
        const middle = Math.ceil(group.length / 2);
        this.ready.unshift(group.slice(0, middle), group.slice(middle));
        this.observer.retried?.("refused", group.length);
      } else {
        for (const m of group) m.reject(error);
      }
      return;
    }
    if (group.length === 1) return group[0]!.resolve({ rows, now });
    let answers: { member: Member; rows: PublishRow[] }[];
    let others: Member[];
    try {
      rows.sort((a, b) => Number(a.i) - Number(b.i));
      const own = group.map((m, g) => rows.slice(offsets[g]!, offsets[g]! + m.input.length));
      const blocked = group.map((m, g) => own[g]!.some((row, j) => !resolves(row, m.input[j]!)));
      const anyBlocked = blocked.some(Boolean);
      // Nothing was written when any member is blocked: those get their rows, the others go again.
      answers = group.flatMap((member, g) =>
        anyBlocked && !blocked[g] ? [] : [{ member, rows: own[g]!.map((row, j) => ({ ...row, i: member.input[j]!.i })) }],
      );
      others = anyBlocked ? group.filter((_, g) => !blocked[g]) : [];
    } catch (error) {
      for (const m of group) m.reject(error);
      return;
    }
    for (const { member, rows: memberRows } of answers) member.resolve({ rows: memberRows, now });
    if (others.length) {
      this.ready.unshift(others);
      this.observer.retried?.("blocked", others.length);
    }
  }
}

/** Whether a request's row lets the statement write (see publish-sql.ts, the `fresh` CTE). */
function resolves(row: PublishRow, request: PublishInput): boolean {
  if (row.type_id === null) return false;
  if (row.wants_customer && row.customer_id === null) return false;
  return Number(row.schema_version) === request.v;
}

/** An error the store raised for the data it was given: bad data (22), a constraint (23), a trigger's exception (P0). */
function refusedInput(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^(22|23|P0)/.test(code);
}
