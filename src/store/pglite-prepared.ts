import type { PGlite } from "@electric-sql/pglite";

/**
 * Named statements on PGlite, as node-postgres gives them on PostgreSQL: parsed and planned once,
 * then only executed.
 *
 * PGlite's query() parses, analyses and plans its text on every call; for the publish statement
 * (a dozen CTEs) that is most of its cost. PGlite has one session, so an SQL-level PREPARE lasts
 * as long as the database is open. Its EXECUTE cannot take bind parameters, so the values are
 * written into it as string literals, each of which PostgreSQL reads as input to the type the
 * prepared statement gives its parameter (the casts in the text). With
 * standard_conforming_strings on (checked once), a single quote is the only character a string
 * literal must escape; a value that is not a string, number, boolean, date or flat array is
 * refused rather than guessed at. With no bind parameters, the EXECUTE goes as one simple-protocol
 * query (exec), not as parse, describe, bind and execute messages.
 */
export class PreparedStatements {
  private readonly prepared = new Map<string, { text: string; ready: Promise<void> }>();
  private usable: Promise<boolean> | undefined;

  constructor(private readonly lite: PGlite) {}

  async query<R>(name: string, text: string, params: readonly unknown[] = []): Promise<R[] | undefined> {
    if (!(await (this.usable ??= this.checkQuoting()))) return undefined;
    let entry = this.prepared.get(name);
    if (entry && entry.text !== text) throw new Error(`statement ${name} was prepared with another text`);
    if (!entry) {
      entry = { text, ready: this.lite.exec(`PREPARE ${name} AS ${text}`).then(() => undefined) };
      this.prepared.set(name, entry);
      // A failed PREPARE is not kept: the error reaches this caller, and the next one tries again.
      entry.ready.catch(() => this.prepared.delete(name));
    }
    await entry.ready;
    const args = params.length ? `(${params.map(literal).join(", ")})` : "";
    const [result] = await this.lite.exec(`EXECUTE ${name}${args}`);
    return (result?.rows ?? []) as R[];
  }

  private async checkQuoting(): Promise<boolean> {
    const { rows } = await this.lite.query<{ on: string }>("SELECT current_setting('standard_conforming_strings') AS on");
    return rows[0]?.on === "on";
  }
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A parameter as an SQL literal (NULL, or a quoted string the parameter's type reads). */
export function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "string") return quote(value);
  if (typeof value === "bigint" || typeof value === "boolean") return quote(String(value));
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`cannot pass ${value} as a statement parameter`);
    return quote(String(value));
  }
  if (value instanceof Date) return quote(value.toISOString());
  if (Array.isArray(value)) return quote(`{${value.map(arrayElement).join(",")}}`);
  throw new TypeError(`cannot pass a ${typeof value} as a prepared statement parameter`);
}

/** An array element in PostgreSQL's array text form: NULL, or double-quoted with \ and " escaped. */
function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (Array.isArray(value) || (typeof value === "object" && !(value instanceof Date))) {
    throw new TypeError("cannot pass a nested array or an object inside an array as a statement parameter");
  }
  const text = value instanceof Date ? value.toISOString() : String(value);
  return `"${text.replace(/[\\"]/g, "\\$&")}"`;
}
