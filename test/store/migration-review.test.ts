// The automated review of every migration (README, Development: "Writing a migration"). A
// migration must keep the previous release running on the same database while it is applied:
// expand only, no table rewrite, no long lock on a table traffic uses, backfills in backfill.sql,
// indexes on existing tables built concurrently in a `-- hookgate:no-transaction` migration.
// Drops belong to a later release's contract step, marked `-- hookgate:contract`.
// Migrations up to GRANDFATHERED were written before this rule and are not reviewed.
import { describe, expect, it } from "vitest";
import { NO_TRANSACTION_MARK, readMigrations, runsOutsideTransaction, splitStatements, type Migration } from "../../src/store/migrator.js";

/** The last migration written before the rule; everything after it is reviewed. */
const GRANDFATHERED = "20261123300000_delivery_queue";

const CONTRACT_MARK = /^-- hookgate:contract\s*$/m;
const ident = String.raw`(?:"((?:[^"]|"")+)"|(\w+))`;
const name = (m: RegExpMatchArray | null, at = 1) => (m ? (m[at] ?? m[at + 1] ?? "").toLowerCase() : undefined);
// Defaults computed per row force a rewrite of every row when the column is added.
const VOLATILE = /\b(random|clock_timestamp|timeofday|gen_random_uuid|uuid_generate_v\d\w*|nextval)\s*\(/i;

/** What is wrong with a migration, one line per finding (empty: it passes review). */
export function review(migration: Pick<Migration, "name" | "sql" | "backfill">): string[] {
  const findings: string[] = [];
  const contract = CONTRACT_MARK.test(migration.sql);
  const outside = runsOutsideTransaction(migration as Migration);
  const statements = splitStatements(migration.sql).map((s) => s.replace(/\s+/g, " ").trim());
  // Tables this migration creates are empty: anything goes on them.
  const created = new Set(
    statements.map((s) => name(s.match(new RegExp(`^CREATE TABLE (?:IF NOT EXISTS )?${ident}`, "i")))).filter((t): t is string => !!t),
  );
  const existing = (table: string | undefined) => table !== undefined && !created.has(table);
  for (const s of statements) {
    const flag = (why: string) => findings.push(`${migration.name}: ${why}: ${s.slice(0, 120)}`);
    const alterTable = name(s.match(new RegExp(`^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?${ident}`, "i")));
    const indexOn = name(s.match(new RegExp(`^CREATE (?:UNIQUE )?INDEX .*? ON (?:ONLY )?${ident}`, "i")));
    if (outside) {
      if (!/^(CREATE (UNIQUE )?INDEX CONCURRENTLY IF NOT EXISTS|DROP INDEX CONCURRENTLY IF EXISTS) /i.test(s)) {
        flag("a no-transaction migration holds only CREATE INDEX CONCURRENTLY IF NOT EXISTS / DROP INDEX CONCURRENTLY IF EXISTS");
      }
      continue;
    }
    if (/\bCONCURRENTLY\b/i.test(s)) flag(`CONCURRENTLY needs a migration of its own whose first line is ${NO_TRANSACTION_MARK}`);
    if (/^DROP (TABLE|VIEW|TYPE|SCHEMA)\b/i.test(s) || (alterTable && /\bDROP (COLUMN|CONSTRAINT)\b/i.test(s))) {
      if (!contract) flag("drops belong to the next release's contract step (-- hookgate:contract), once no running release reads them");
    }
    if (/^DROP INDEX\b/i.test(s) && !contract) flag("an index is dropped in a contract step, concurrently");
    if (/\bRENAME\b/i.test(s)) flag("renames break the previous release: add the new name, backfill, drop the old one in a later release");
    if (alterTable && /\bALTER (COLUMN )?\S+ (SET DATA )?TYPE\b/i.test(s)) flag("a type change rewrites the table and breaks the previous release");
    if (existing(alterTable) && /\bSET NOT NULL\b/i.test(s) && !contract) flag("NOT NULL on an existing column: the previous release may write NULL; do it in a contract step");
    if (existing(alterTable) && /\bADD (COLUMN )?/i.test(s) && !/\bADD CONSTRAINT\b/i.test(s)) {
      if (/\bNOT NULL\b/i.test(s) && !/\bDEFAULT\b/i.test(s)) flag("a NOT NULL column needs a constant DEFAULT (the previous release does not write it)");
      if (/\bDEFAULT\b/i.test(s) && VOLATILE.test(s)) flag("a volatile DEFAULT rewrites every row");
      if (/\b(SMALL|BIG)?SERIAL\b|\bGENERATED\b/i.test(s)) flag("a serial or generated column rewrites every row");
    }
    if (existing(alterTable) && /\bADD CONSTRAINT\b/i.test(s)) {
      if (/\b(FOREIGN KEY|CHECK)\b/i.test(s) && !/\bNOT VALID\b/i.test(s)) flag("a constraint on an existing table is added NOT VALID, then VALIDATE CONSTRAINT");
      if (/\b(PRIMARY KEY|UNIQUE|EXCLUDE)\b/i.test(s) && !/\bUSING INDEX\b/i.test(s)) flag("a key on an existing table is added USING INDEX built concurrently");
    }
    if (alterTable && /\bSET (TABLESPACE|LOGGED|UNLOGGED|WITHOUT OIDS)\b/i.test(s)) flag("this rewrites the table");
    if (/^CREATE (UNIQUE )?INDEX\b/i.test(s) && existing(indexOn)) {
      flag(`an index on an existing table is built CONCURRENTLY, in a migration whose first line is ${NO_TRANSACTION_MARK}`);
    }
    if (/^(LOCK|VACUUM|CLUSTER|REINDEX)\b/i.test(s)) flag("locks or rewrites a table while the previous release runs");
    const written = name(s.match(new RegExp(`^(?:UPDATE (?:ONLY )?|DELETE FROM (?:ONLY )?|INSERT INTO )${ident}`, "i")));
    // A copy out of an existing table (even into a new one) is a backfill too: one long transaction otherwise.
    const copiedFrom = /^INSERT\b/i.test(s) ? name(s.match(new RegExp(`\\bSELECT\\b.*?\\bFROM (?:ONLY )?${ident}`, "i"))) : undefined;
    if ((existing(written) && /^(UPDATE|DELETE)\b/i.test(s)) || existing(copiedFrom)) {
      flag("rows of an existing table are changed in batches by backfill.sql, not in the migration");
    }
  }
  if (migration.backfill !== undefined) {
    const batch = splitStatements(migration.backfill);
    if (batch.length !== 1) findings.push(`${migration.name}: backfill.sql is one statement (one batch)`);
    else if (!/^(UPDATE|INSERT|DELETE)\b/i.test(batch[0]!) || !/\bLIMIT\b/i.test(batch[0]!)) {
      findings.push(`${migration.name}: backfill.sql is one UPDATE, INSERT or DELETE of a LIMITed batch, so it can run until it changes nothing`);
    }
  }
  return findings;
}

const sample = (sql: string, backfill?: string) => ({ name: "29990101000000_sample", sql, backfill });

describe("the migration review", () => {
  it("passes every migration written after the rule", () => {
    const reviewed = readMigrations().filter((m) => m.name > GRANDFATHERED);
    expect(reviewed.flatMap(review)).toEqual([]);
  });

  it("would have refused the last grandfathered migration (it locks and rewrites the delivery tables)", () => {
    const queue = readMigrations().find((m) => m.name === GRANDFATHERED)!;
    const findings = review(queue).join("\n");
    expect(findings).toContain("locks or rewrites a table");
    expect(findings).toContain("drops belong to the next release's contract step");
    expect(findings).toContain("changed in batches by backfill.sql");
  });

  it.each([
    [`ALTER TABLE "events" DROP COLUMN "payload";`, "drops belong"],
    [`DROP TABLE "deliveries";`, "drops belong"],
    [`ALTER TABLE "events" RENAME COLUMN "payload" TO "body";`, "renames break"],
    [`ALTER TABLE "events" ALTER COLUMN "payload" TYPE TEXT;`, "type change"],
    [`ALTER TABLE "events" ALTER COLUMN "customer_id" SET NOT NULL;`, "NOT NULL on an existing column"],
    [`ALTER TABLE "events" ADD COLUMN "seq" BIGINT NOT NULL;`, "needs a constant DEFAULT"],
    [`ALTER TABLE "events" ADD COLUMN "uid" UUID DEFAULT gen_random_uuid();`, "volatile DEFAULT"],
    [`ALTER TABLE "events" ADD COLUMN "seq" BIGSERIAL;`, "serial or generated"],
    [`ALTER TABLE "deliveries" ADD CONSTRAINT "d_fk" FOREIGN KEY ("event_id") REFERENCES "events"("id");`, "NOT VALID"],
    [`ALTER TABLE "events" ADD CONSTRAINT "e_key" UNIQUE ("event_name");`, "USING INDEX"],
    [`CREATE INDEX "events_x_idx" ON "events"("event_name");`, "CONCURRENTLY"],
    [`CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_x_idx" ON "events"("event_name");`, "a migration of its own"],
    [`UPDATE "events" SET "event_name" = 'x';`, "backfill.sql"],
    [`INSERT INTO "delivery_queue" SELECT "id", "webhook_id", NULL, NULL FROM "deliveries";`, "backfill.sql"],
    [`LOCK TABLE "deliveries" IN SHARE ROW EXCLUSIVE MODE;`, "locks or rewrites"],
    [`VACUUM FULL "events";`, "locks or rewrites"],
    [`${NO_TRANSACTION_MARK}\nALTER TABLE "events" ADD COLUMN "x" TEXT;`, "no-transaction migration holds only"],
  ])("refuses %s", (sql, why) => {
    expect(review(sample(sql)).join("\n")).toContain(why);
  });

  it("refuses a backfill that is not one batch", () => {
    expect(review(sample(`ALTER TABLE "events" ADD COLUMN "x" TEXT;`, `UPDATE "events" SET "x" = 'a';`)).join()).toContain("LIMITed batch");
    expect(review(sample(`SELECT 1;`, `UPDATE "events" SET "x" = 'a' WHERE id IN (SELECT id FROM events LIMIT 10); SELECT 1;`)).join()).toContain("one statement");
  });

  it("passes what the contract allows: new tables and their indexes, nullable or constant-default columns, concurrent indexes, batched backfills, contract drops", () => {
    const expand = sample(
      [
        `CREATE TABLE "webhook_state" ("webhook_id" INTEGER NOT NULL, "paused" BOOLEAN NOT NULL DEFAULT false, CONSTRAINT "webhook_state_pkey" PRIMARY KEY ("webhook_id"));`,
        `CREATE INDEX "webhook_state_paused_idx" ON "webhook_state"("paused");`,
        `ALTER TABLE "webhook_state" ADD CONSTRAINT "webhook_state_fkey" FOREIGN KEY ("webhook_id") REFERENCES "webhooks"("id") ON DELETE CASCADE;`,
        `ALTER TABLE "events" ADD COLUMN "payload_ref" TEXT;`,
        `ALTER TABLE "events" ADD COLUMN "version" INTEGER NOT NULL DEFAULT 1;`,
        `ALTER TABLE "events" ADD COLUMN "seen_at" TIMESTAMPTZ(3) DEFAULT CURRENT_TIMESTAMP;`,
        `ALTER TABLE "deliveries" ADD CONSTRAINT "d_check" CHECK ("attempt_count" >= 0) NOT VALID;`,
        `CREATE FUNCTION "f"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE "events" SET "version" = 2 WHERE id = NEW.id; RETURN NULL; END $$;`,
        `INSERT INTO "event_types" ("name", "sample_data") VALUES ('seed', '{}');`,
      ].join("\n"),
      `UPDATE "events" SET "payload_ref" = 'x' WHERE "id" IN (SELECT "id" FROM "events" WHERE "payload_ref" IS NULL ORDER BY "id" LIMIT 5000)`,
    );
    expect(review(expand)).toEqual([]);
    expect(review(sample(`${NO_TRANSACTION_MARK}\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "events_x_idx" ON "events"("event_name");`))).toEqual([]);
    expect(review(sample(`-- hookgate:contract\nALTER TABLE "events" DROP COLUMN "payload";`))).toEqual([]);
  });
});
