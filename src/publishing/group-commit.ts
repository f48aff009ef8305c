import type { Clock } from "../clock.js";
import { isStoreUnavailable, type SqlQuery } from "../store/database.js";
import { publishStatement, type PublishInput, type PublishRow } from "./publish-sql.js";

/**
 * Group commit for the publish statement: concurrent publishes in one process share a
 * statement, so one transaction and one commit. While a publish statement is in flight, the
 * publishes that arrive wait and go together in the next one; a publish that finds none in
 * flight goes at once, so at low load nothing waits, and under load the groups grow with it
 * (BENCHMARKS.md, "Group commit"). Nothing is shared between processes.
 *
 * A group must not change what any one publish means:
 * - the statement writes all of its input or nothing (publish-sql.ts). When a member's input
 *   does not resolve (an unknown type or customer, a schema version that moved), that member
 *   gets its rows back to report or retry, and the others go again without it;
 * - when the store refuses the statement (not when it is unavailable), a group of several is split in two and
 *   each half goes again, so an error reaches only the publish that caused it (a few extra
 *   statements for one bad publish among many, not one each);
 * - publishes that share an idempotency key never share a statement (the later one goes in the
 *   next group and finds the first one's event);
 * - latency stays bounded: when the statement in flight has run for MAX_WAIT_MS, the waiting
 *   publishes go without it (a statement waiting on a lock, such as a key a transaction elsewhere
 *   holds, does not hold up the process's other publishes).
 */

/** Most events one grouped statement carries; a larger batch goes alone. */
export const MAX_GROUP_EVENTS = 500;
/** How long publishes wait for the statement in flight before they go without it. */
export const MAX_WAIT_MS = 20;

interface Member {
  readonly input: readonly PublishInput[];
  readonly keys: readonly string[];
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
  /** Halves of groups that failed: each goes again as it is, before anything new. */
  private halves: Member[][] = [];
  private inFlight = 0;
  private overdue: NodeJS.Timeout | undefined;
  private scheduled = false;
  /** When the latest statement started (performance.now()). */
  private lastStart = 0;

  constructor(
    private readonly sql: SqlQuery,
    private readonly clock: Clock,
  ) {}

  /** Runs the routed publish statement for this input (its `i` local to the caller); its rows, `i` as given. */
  run(input: readonly PublishInput[]): Promise<GroupResult> {
    return new Promise((resolve, reject) => {
      const keys = input.flatMap((r) => (r.k === null ? [] : [r.k]));
      this.waiting.push({ input, keys, resolve, reject });
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
    return this.waiting.length > 0 || this.halves.length > 0;
  }

  private start(): void {
    const group = this.take();
    if (!group.length) return;
    this.inFlight++;
    this.lastStart = performance.now();
    clearTimeout(this.overdue);
    this.overdue = undefined;
    void this.execute(group).finally(() => {
      this.inFlight--;
      if (this.inFlight === 0) {
        clearTimeout(this.overdue);
        this.overdue = undefined;
      }
      this.next();
    });
    // What could not join (a key already in the group, the size cap) waits for this one.
    this.next();
  }

  /** The next group: waiting members in arrival order, up to MAX_GROUP_EVENTS, no idempotency key twice. */
  private take(): Member[] {
    const half = this.halves.shift();
    if (half) return half;
    const group: Member[] = [];
    const keys = new Set<string>();
    let events = 0;
    const left: Member[] = [];
    for (const m of this.waiting) {
      const fits =
        (group.length === 0 || events + m.input.length <= MAX_GROUP_EVENTS) &&
        !m.keys.some((k) => keys.has(k));
      if (!fits) {
        left.push(m);
        continue;
      }
      group.push(m);
      events += m.input.length;
      for (const k of m.keys) keys.add(k);
    }
    this.waiting = left;
    return group;
  }

  private async execute(group: Member[]): Promise<void> {
    const now = this.clock.now();
    if (group.length === 1) {
      const only = group[0]!;
      try {
        only.resolve({ rows: await this.query(only.input, now), now });
      } catch (error) {
        only.reject(error);
      }
      return;
    }
    // One input: each member's requests renumbered after the previous member's.
    const offsets: number[] = [];
    const input: PublishInput[] = [];
    for (const m of group) {
      offsets.push(input.length);
      for (const r of m.input) input.push({ ...r, i: input.length });
    }
    let rows: PublishRow[];
    try {
      rows = await this.query(input, now);
    } catch (error) {
      // The store is away: that is every member's answer.
      if (isStoreUnavailable(error)) {
        for (const m of group) m.reject(error);
        return;
      }
      // Which member's input the store refused is not known: each half goes again.
      const middle = Math.ceil(group.length / 2);
      this.halves.unshift(group.slice(0, middle), group.slice(middle));
      return;
    }
    const byIndex = rows.sort((a, b) => Number(a.i) - Number(b.i));
    const blocked = group.map((m, g) => byIndex.slice(offsets[g]!, offsets[g]! + m.input.length).some((row, j) => !resolves(row, m.input[j]!)));
    const anyBlocked = blocked.some(Boolean);
    group.forEach((m, g) => {
      if (anyBlocked && !blocked[g]) return;
      const own = byIndex.slice(offsets[g]!, offsets[g]! + m.input.length).map((row, j) => ({ ...row, i: m.input[j]!.i }));
      m.resolve({ rows: own, now });
    });
    // Nothing was written: the members that would have gone through go again, together.
    if (anyBlocked) this.waiting.unshift(...group.filter((_, g) => !blocked[g]));
  }

  private async query(input: readonly PublishInput[], now: Date): Promise<PublishRow[]> {
    const statement = publishStatement("route");
    return this.sql.query<PublishRow>(statement.text, [JSON.stringify(input), now.toISOString()], statement.name);
  }
}

/** Whether a request's row lets the statement write (see publish-sql.ts, the `fresh` CTE). */
function resolves(row: PublishRow, request: PublishInput): boolean {
  if (row.type_id === null) return false;
  if (row.wants_customer && row.customer_id === null) return false;
  return Number(row.schema_version) === request.v;
}
