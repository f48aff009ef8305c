// Issue 10, item 15: a worker whose recording lags behind its own lease (here: the record waits
// for a lock another transaction holds) saw the delivery due again by the queue and claimed it
// again itself, so one delivery was sent twice with no crash anywhere. A worker must never take
// again a delivery whose attempt it has still to record.
// PostgreSQL only: the held-back record needs a second connection holding a lock.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { PublishEventDocument, WebhookLogsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

describe("a worker never claims again what it has sent and not yet recorded", () => {
  const clock = new ManualClock(new Date());
  let t: TestGateway;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver((r) => (r.path === "/held" ? { status: 500, body: "down" } : { status: 200 }));
    t = await startTestGateway({ clock, env: { HOOKGATE_LEASE_SECONDS: "60" } });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("the lease runs out while the record is held back: sent once, logged once", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    // Its next attempt a day later: what follows the first attempt here is its record, nothing else.
    const hook = await createWebhook(service.client, {
      eventIds: [type.id],
      url: receiver.url("/held"),
      retryPolicy: "FIXED",
      retryIntervalSeconds: 86_400,
      retryWindowSeconds: 7 * 86_400,
    });
    const markerService = await createService(t);
    const markerType = await createEventType(t);
    await createWebhook(markerService.client, { eventIds: [markerType.id], url: receiver.url("/marker") });

    // A failed attempt's record locks its webhook (its failure streak changes): hold that lock.
    const holder = new pg.Client({ connectionString: t.store.url });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT id FROM webhooks WHERE id = $1 FOR NO KEY UPDATE", [Number(hook.webhook.id)]);
      await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { once: true } } });
      await eventually(() => receiver.requests.some((r) => r.path === "/held"));
      // The attempt is over and its record waits for the lock. (pg_stat_activity does not always show
      // the waiting statement's own text, so any lock wait in this database counts: nothing else takes one.)
      await eventually(async () => {
        const { rows } = await holder.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return rows[0]!.n > 0;
      }, 10_000, () => JSON.stringify(receiver.requests.map((r) => r.path)));

      // Past the lease, with the record still waiting: the queue shows the delivery as due.
      clock.advance(61_000);
      // A claim certainly runs after this point: a new event to another webhook is sent. The held
      // delivery is due earlier than that event, so the same claim would have taken it too.
      await t.admin.ok(PublishEventDocument, { input: { eventName: markerType.name, payload: { marker: true } } });
      t.gateway.dispatcher!.wake();
      await eventually(() => receiver.requests.some((r) => r.path === "/marker"));
      expect(receiver.requests.filter((r) => r.path === "/held")).toHaveLength(1);
    } finally {
      await holder.query("COMMIT").catch(() => undefined);
      await holder.end();
    }

    const logs = async () => (await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id })).webhookLogs.edges.map((e) => e.node);
    const [delivery] = await eventually(async () => {
      const all = await logs();
      return all[0]?.attemptCount === 1 && all;
    });
    expect(delivery).toMatchObject({ status: "RETRYING", attemptCount: 1 });
    expect(delivery!.attempts).toHaveLength(1);
    expect(receiver.requests.filter((r) => r.path === "/held")).toHaveLength(1);
  });
});
