// Named (prepared) statements give the same answers as unnamed ones, for every kind of value the
// hot statements pass, on both stores. On PGlite they are an SQL PREPARE whose EXECUTE carries the
// values as literals (src/store/pglite-prepared.ts): quotes, backslashes, braces, commas and
// unicode must arrive exactly, and nothing in a value may ever be read as SQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestStore, type TestStore } from "../support/store.js";

const STATEMENT = `SELECT $1::text AS t, $2::text[] AS a, $3::bigint::text AS n, $4::boolean AS b, $5::timestamptz AS d,
  $6::json::text AS j, $7::int[] AS i, $8::text IS NULL AS missing`;

const AWKWARD = [
  "it's",
  "'); DROP TABLE events; --",
  "back\\slash \\' \\\\",
  '"quoted", {braced}, NULL',
  "ünïcødé 🎉 \u2028",
  "$1 $$ $tag$",
  "",
];

describe("named statements", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore();
    await store.database.sql.query("CREATE TABLE IF NOT EXISTS named_statement_canary (id int)");
  });
  afterAll(async () => {
    await store?.close();
  });

  it("return what the unnamed statement returns, for awkward strings, arrays, numbers, booleans, dates, JSON and NULL", async () => {
    const { sql } = store.database;
    for (const [k, text] of AWKWARD.entries()) {
      const params = [
        text,
        [text, null, "plain", ""],
        String(2n ** 62n + BigInt(k)),
        k % 2 === 0,
        new Date(Date.UTC(2026, 10, 29, 12, 0, k)).toISOString(),
        JSON.stringify({ text, list: [text, 1e21, -0.5] }),
        [1, -2, 3],
        null,
      ];
      const plain = await sql.query(STATEMENT, params);
      // Twice by name: the first prepares it, later calls only execute.
      for (let run = 0; run < 2; run++) {
        const named = await sql.query(STATEMENT, params, "hookgate_test_named");
        expect(named).toEqual(plain);
      }
      const [row] = plain as { t: string; a: (string | null)[] }[];
      expect(row!.t).toBe(text);
      expect(row!.a).toEqual([text, null, "plain", ""]);
    }
    // Nothing a value held ran as SQL.
    expect(await sql.query("SELECT count(*)::int AS n FROM named_statement_canary")).toEqual([{ n: 0 }]);
  });

  it("report a statement's error to its caller and still prepare it on the next call", async () => {
    const { sql } = store.database;
    const text = "SELECT 10 / $1::int AS q";
    await expect(sql.query(text, [0], "hookgate_test_divide")).rejects.toThrow(/division by zero/);
    expect(await sql.query(text, [5], "hookgate_test_divide")).toEqual([{ q: 2 }]);
    await expect(sql.query("SELEC broken", [], "hookgate_test_broken")).rejects.toThrow(/syntax error/);
    await expect(sql.query("SELEC broken", [], "hookgate_test_broken")).rejects.toThrow(/syntax error/);
  });
});
