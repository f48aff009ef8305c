// An installation that ran an earlier version has deliveries in every state when it upgrades.
// The 20261123300000_delivery_queue migration moves the dispatcher's queue out of the deliveries
// table: this proves, on both stores, that nothing waiting is lost or woken early on the way, that
// nothing finished is queued again, and that the attempt log stays with its deliveries.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, readMigrations } from "../../src/store/migrator.js";
import { openTestStore, storeKind, type TestStore } from "../support/store.js";
import { insertWebhookAndEvent } from "../support/store-rows.js";

const QUEUE_MIGRATION = "20261123300000_delivery_queue";

let store: TestStore;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  await store?.close();
});

describe(`upgrading to the delivery queue (${storeKind()})`, () => {
  it("queues exactly the deliveries still to be attempted, as they were, and keeps the attempt log", async () => {
    const sql = store.database.sql;
    const all = readMigrations();
    expect(all.map((m) => m.name)).toContain(QUEUE_MIGRATION);
    await migrate(sql, undefined, all.filter((m) => m.name < QUEUE_MIGRATION));

    // The earlier schema, with one delivery in each state the dispatcher knew.
    await insertWebhookAndEvent(sql);
    await sql.exec(`
      INSERT INTO deliveries (id, event_id, webhook_id, status, next_attempt_at, lease_until) VALUES
        (1, 1, 1, 'PENDING',   '2030-01-01T00:00:00Z', NULL),                      -- due
        (2, 1, 1, 'RETRYING',  '2030-01-02T00:00:00Z', '2030-01-02T00:00:00Z'),    -- leased (in flight)
        (3, 1, 1, 'RETRYING',  NULL, NULL),                                        -- parked (webhook off)
        (4, 1, 1, 'SUCCEEDED', NULL, NULL),
        (5, 1, 1, 'FAILED',    NULL, NULL);
      INSERT INTO delivery_attempts (delivery_id, webhook_id, attempt_number, started_at, duration_ms, request_url,
          request_method, request_headers, request_body, succeeded)
        SELECT id, 1, 1, now(), 1, 'https://receiver.example/hook', 'POST', '{}', '{}', status = 'SUCCEEDED'
        FROM deliveries WHERE id IN (2, 3, 4, 5);
    `);

    const report = await migrate(sql);
    expect(report.applied).toEqual(all.filter((m) => m.name >= QUEUE_MIGRATION).map((m) => m.name));

    const queue = await sql.query<{ id: number; webhook_id: number; due_at: string | null; lease_until: string | null }>(
      `SELECT delivery_id::int AS id, webhook_id,
              to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') AS due_at,
              to_char(lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') AS lease_until
         FROM delivery_queue ORDER BY delivery_id`,
    );
    expect(queue).toEqual([
      { id: 1, webhook_id: 1, due_at: "2030-01-01T00:00", lease_until: null },
      { id: 2, webhook_id: 1, due_at: "2030-01-02T00:00", lease_until: "2030-01-02T00:00" },
      { id: 3, webhook_id: 1, due_at: null, lease_until: null },
    ]);
    const attempts = await sql.query<{ id: number }>(`SELECT delivery_id::int AS id FROM delivery_attempts ORDER BY 1`);
    expect(attempts.map((a) => a.id)).toEqual([2, 3, 4, 5]);

    // And from now on the triggers do the queue's bookkeeping: new deliveries are queued, deleted ones leave.
    await sql.query(`INSERT INTO deliveries (id, event_id, webhook_id) VALUES (6, 1, 1)`);
    await sql.query(`DELETE FROM webhooks WHERE id = 1`);
    const left = await sql.query<{ deliveries: number; queued: number; attempts: number }>(
      `SELECT (SELECT count(*) FROM deliveries)::int AS deliveries, (SELECT count(*) FROM delivery_queue)::int AS queued,
              (SELECT count(*) FROM delivery_attempts)::int AS attempts`,
    );
    expect(left).toEqual([{ deliveries: 0, queued: 0, attempts: 0 }]);
  });
});
