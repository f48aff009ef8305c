// A worker records an attempt while the delivery is being deleted (its webhook or event deleted
// at that moment). A deletion locks the delivery and then, in its trigger, the queue row; the
// record statement must take them in the same order, or each waits for the other: PostgreSQL
// then aborts one of them ("deadlock detected"), failing the record or the user's delete.
// PostgreSQL only: it needs two connections at once, which PGlite does not have.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordAttempts, type AttemptRecord } from "../../src/dispatcher/delivery-queue.js";
import { migrate } from "../../src/store/migrator.js";
import { openTestStore, type TestStore } from "../support/store.js";
import { insertWebhookAndEvent } from "../support/store-rows.js";

let store: TestStore;
beforeAll(async () => {
  store = await openTestStore("postgres");
  await migrate(store.database.sql);
});
afterAll(async () => {
  await store?.close();
});

const lease = new Date("2030-01-01T00:00:00.000Z");

function attempt(deliveryId: string): AttemptRecord {
  const headers = { "content-type": "application/json" };
  return {
    deliveryId,
    eventId: "1",
    webhookId: 1,
    attemptNumber: 1,
    leaseUntil: lease,
    startedAt: new Date(),
    durationMs: 3,
    requestUrl: "https://receiver.example/hook",
    requestMethod: "POST",
    requestHeaders: headers,
    requestBody: "{}",
    responseStatus: 204,
    responseHeaders: {},
    responseBody: "",
    responseBodyEncoding: null,
    errorClass: null,
    errorMessage: null,
    succeeded: true,
    status: "SUCCEEDED",
    nextAttemptAt: null,
    webhookHeaders: headers,
    signatureTimestamp: 1,
    signature: "v1,x",
  };
}

describe("recording an attempt while its delivery is deleted", () => {
  it("waits for the deletion instead of deadlocking with it, and leaves no attempt, queue row or delivery behind", async () => {
    const sql = store.database.sql;
    await insertWebhookAndEvent(sql);
    await sql.query(`INSERT INTO deliveries (id, event_id, webhook_id) VALUES (1, 1, 1)`);
    // Claimed by the worker that is about to record it.
    await sql.query(`UPDATE delivery_queue SET due_at = $1, lease_until = $1 WHERE delivery_id = 1`, [lease.toISOString()]);

    // The deletion's first step: the delivery's row is locked (as a cascade locks it) ...
    const deleter = new pg.Client({ connectionString: store.url });
    await deleter.connect();
    try {
      await deleter.query("BEGIN");
      await deleter.query("SELECT id FROM deliveries WHERE id = 1 FOR UPDATE");
      // ... while the worker records its attempt, which now has to wait somewhere.
      const recording = recordAttempts(sql, [attempt("1")], new Date(), { afterFailures: 0, afterDays: 0 }).then(
        () => null,
        (error: unknown) => error as Error,
      );
      // (The statement's text, as pg_stat_activity keeps its first 1 KiB, starts with json_to_recordset.)
      for (let i = 0; ; i++) {
        const waiting = await sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%json_to_recordset%'`,
        );
        if (waiting[0]!.n > 0) break;
        if (i > 200) throw new Error("the record statement never waited for the locked delivery");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // The deletion's second step: the delivery goes, and its trigger takes the queue row. Had
      // the record statement taken the queue row first, this would wait for it: a deadlock.
      await deleter.query("DELETE FROM deliveries WHERE id = 1");
      await deleter.query("COMMIT");
      expect(await recording).toBeNull();
    } finally {
      await deleter.end();
    }
    const [left] = await sql.query<{ deliveries: number; queued: number; attempts: number }>(
      `SELECT (SELECT count(*) FROM deliveries)::int AS deliveries, (SELECT count(*) FROM delivery_queue)::int AS queued,
              (SELECT count(*) FROM delivery_attempts)::int AS attempts`,
    );
    expect(left).toEqual({ deliveries: 0, queued: 0, attempts: 0 });
  });
});
