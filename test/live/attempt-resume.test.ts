import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { PublishEventsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, waitForItems, wsClient } from "../support/live.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

const ATTEMPTED = `subscription Attempts($w: ID!, $after: String) {
  deliveryAttempted(webhookId: $w, after: $after) { id cursor succeeded }
}`;

interface Attempt {
  id: string;
  cursor: string;
  succeeded: boolean;
}

/**
 * deliveryAttempted's cursor: a subscriber that drops its connection and resumes with the cursor
 * of the last attempt it saw gets every attempt recorded meanwhile exactly once, while several
 * writers publish at once (so attempts are recorded by concurrent transactions, whose ids are
 * not in commit order on PostgreSQL).
 */
describe("deliveryAttempted resume", () => {
  let t: TestGateway;
  let receiver: Receiver;
  const clients: Client[] = [];
  let type: { id: string; name: string };
  let webhookId: string;
  let serviceToken: string;
  const client = () => {
    const c = wsClient(t.gateway.url!, serviceToken);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    t = await startTestGateway();
    type = await createEventType(t);
    const service = await createService(t);
    serviceToken = service.token;
    ({ webhook: { id: webhookId } } = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/resume") }));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.close();
    await receiver?.close();
  });

  /** Publishes `batches` batches of `size` from `writers` concurrent writers. */
  async function publishConcurrently(writers: number, batches: number, size: number): Promise<void> {
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let b = 0; b < batches; b++) {
          const events = Array.from({ length: size }, (_, i) => ({ eventName: type.name, payload: { w, b, i } }));
          await t.admin.ok(PublishEventsDocument, { input: { events } });
        }
      }),
    );
  }

  /** Every attempt recorded for the webhook, in the order subscribers see (storing transaction, then id). */
  async function storedAttempts(): Promise<string[]> {
    const rows = await t.store.database.sql.query<{ id: string }>(
      `SELECT a.id::text AS id FROM delivery_attempts a WHERE a.webhook_id = $1::int ORDER BY coalesce(a.tx_id, 0), a.id`,
      [Number(webhookId)],
    );
    return rows.map((r) => r.id);
  }

  /** Waits until every delivery of the webhook has its attempt stored (the receiver answers 200: one each). */
  async function allRecorded(deliveries: number): Promise<string[]> {
    return eventually(async () => {
      const ids = await storedAttempts();
      if (ids.length < deliveries) throw new Error(`${ids.length} of ${deliveries} attempts recorded`);
      return ids;
    }, 30_000);
  }

  it("resumes with `after` after a disconnect: every attempt recorded meanwhile arrives, none twice", async () => {
    const first = collect<Attempt>(client(), ATTEMPTED, { w: webhookId }, "deliveryAttempted");
    // The subscription is live once the server has it: publish until an attempt comes back.
    let published = 0;
    await eventually(async () => {
      await publishConcurrently(1, 1, 1);
      published++;
      return first.items.length > 0 || undefined;
    }, 20_000);
    await publishConcurrently(3, 3, 5);
    published += 45;
    let stored = await allRecorded(published);
    // The first subscription began after some of the first probes were stored: it has the rest.
    const seenFirst = stored.slice(stored.indexOf(first.items[0]!.id));
    // (Two CI runs lost attempts here, for good: the log's id floor trusted the snapshot's xmax as
    // "every later transaction", which a running recorder's id can lie above; see horizon.pg.test.ts.)
    await waitForItems(first, seenFirst.length);
    expect(first.items.map((a) => a.id)).toEqual(seenFirst);
    const cursor = first.items.at(-1)!.cursor;
    expect(cursor).toEqual(expect.any(String));
    first.stop();
    await clients[0]!.dispose();

    // While nobody listens: 60 attempts from concurrent transactions.
    await publishConcurrently(3, 4, 5);
    published += 60;
    await allRecorded(published);

    // Resume, with more arriving while the missed ones are replayed.
    const second = collect<Attempt>(client(), ATTEMPTED, { w: webhookId, after: cursor }, "deliveryAttempted");
    await publishConcurrently(2, 2, 5);
    published += 20;
    stored = await allRecorded(published);
    const missed = stored.slice(stored.indexOf(first.items.at(-1)!.id) + 1);
    expect(missed).toHaveLength(80);
    await waitForItems(second, missed.length);
    // A fence: anything extra (a repeat) would arrive before it.
    await publishConcurrently(1, 1, 1);
    published++;
    stored = await allRecorded(published);
    await waitForItems(second, missed.length + 1);
    expect(second.items.map((a) => a.id)).toEqual([...missed, stored.at(-1)]);
    expect(new Set([...first.items, ...second.items].map((a) => a.id)).size).toBe(first.items.length + second.items.length);
    expect(second.error).toBeUndefined();
  });

  it("refuses an `after` that is not an attempt's cursor with BAD_USER_INPUT naming the field", async () => {
    const sub = collect<Attempt>(client(), ATTEMPTED, { w: webhookId, after: "not-a-cursor" }, "deliveryAttempted");
    await eventually(() => sub.error);
    const [error] = sub.error as { extensions?: { code?: string; field?: string } }[];
    expect(error!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
  });
});
