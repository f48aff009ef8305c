import { badInput } from "../errors.js";

/**
 * Payload filters: a PostgreSQL SQL/JSON path predicate (jsonpath, `payload @@ filter`) on an
 * event's payload. One evaluator, PostgreSQL's own (no eval, no JavaScript of ours): the publish
 * statement applies a webhook's filter while routing (publish-sql.ts), and a live subscription's
 * filter is applied by the same operator in the store (event-stream.ts), so both give the same
 * answer. A filter that does not hold, or cannot be decided (a missing key, a string compared
 * with a number), lets the event through to nobody: `@@` answers false or null.
 *
 * Checked when set, by PostgreSQL's own parser, and refused when it could make evaluation fail
 * or cost much: the one place each rule lives.
 */

/** The longest filter accepted, in characters: evaluation costs about its length times the payload's size. */
export const MAX_PAYLOAD_FILTER_LENGTH = 500;

/** Asks PostgreSQL to parse a jsonpath (PARSE_JSONPATH_SQL): its normalised text, or an Error with PostgreSQL's message. */
export type JsonpathParser = (text: string) => Promise<string>;

/** SQL that parses $1 as a jsonpath and answers its normalised text (column `path`). */
export const PARSE_JSONPATH_SQL = `SELECT $1::text::jsonpath::text AS path`;

/**
 * The filter to store (as given, trimmed), or BAD_USER_INPUT naming `field`: empty, too long, not
 * jsonpath, not a predicate, or using what is refused (like_regex, `.**`, variables, datetime()).
 */
export async function checkPayloadFilter(parse: JsonpathParser, field: string, text: string): Promise<string> {
  const filter = text.trim();
  if (!filter) throw badInput(field, "give a jsonpath predicate such as `$.amount > 100`, or null for none");
  if (filter.length > MAX_PAYLOAD_FILTER_LENGTH) {
    throw badInput(field, `is ${filter.length} characters; at most ${MAX_PAYLOAD_FILTER_LENGTH} are accepted`);
  }
  let normalised: string;
  try {
    normalised = await parse(filter);
  } catch (error) {
    throw badInput(field, `is not a valid jsonpath: ${(error as Error).message}`);
  }
  // A predicate is what a filter expression `? (…)` accepts; the mode word (lax/strict) goes first.
  const mode = /^(lax|strict)\s+/i.exec(filter);
  try {
    await parse(`${mode ? mode[0] : ""}$ ? (${filter.slice(mode ? mode[0].length : 0)})`);
  } catch {
    throw badInput(field, "must be a predicate (a comparison, exists(…), starts with, is unknown, joined by && || !), not a path: for example `$.amount > 100`");
  }
  const refused = refusedPart(normalised);
  if (refused) throw badInput(field, refused);
  return filter;
}

/** Why a parsed (normalised) jsonpath is refused, or undefined. String literals are skipped. */
function refusedPart(normalised: string): string | undefined {
  let code = "";
  for (let i = 0; i < normalised.length; i++) {
    const c = normalised[i]!;
    if (c !== '"') {
      code += c;
      continue;
    }
    if (code.endsWith("$")) return "uses a variable ($name); a filter may read only the payload ($ and @)";
    // Skip the string literal (PostgreSQL's normalised form escapes with a backslash).
    for (i++; i < normalised.length && normalised[i] !== '"'; i++) if (normalised[i] === "\\") i++;
    code += '""';
  }
  if (/like_regex/i.test(code)) return "uses like_regex: regular expressions are refused in filters (compare, or use starts with)";
  if (code.includes("**")) return "uses the any-depth accessor .**: name the path instead";
  if (/\.datetime\s*\(/i.test(code)) return "uses .datetime(): compare ISO 8601 strings as strings instead";
  return undefined;
}

/**
 * The SQL condition a filter adds, on `payload` (jsonb) and `filter` (text): true for a null
 * filter, without evaluating `payload` (OR's left side first).
 */
export function payloadFilterSql(payload: string, filter: string): string {
  return `(${filter} IS NULL OR ${payload} @@ ${filter}::jsonpath)`;
}
