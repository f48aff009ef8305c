import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { PublishEventsDocument } from "../generated/graphql.js";
import { createEventType } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, EVENT_PUBLISHED, waitForItems, wsClient, type LiveEvent } from "../support/live.js";

/**
 * Resume with `after`: the stored events after the id first, then live ones, with nothing
 * missed and nothing twice, while other clients keep publishing concurrently.
 */
describe("eventPublished resume", () => {
  let t: TestGateway;
  const clients: Client[] = [];
  let type: { id: string; name: string };
  const client = () => {
    const c = wsClient(t.gateway.url!, t.admin.token);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await startTestGateway();
    type = await createEventType(t);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.close();
  });

  /** Publishes `batches` batches of `size` from `writers` concurrent writers; resolves with every id. */
  async function publishConcurrently(writers: number, batches: number, size: number): Promise<string[]> {
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let b = 0; b < batches; b++) {
          const events = Array.from({ length: size }, (_, i) => ({ eventName: type.name, payload: { w, b, i } }));
          const { publishEvents } = await t.admin.ok(PublishEventsDocument, { input: { events } });
          ids.push(...publishEvents.results.map((r) => r.event.id));
        }
      }),
    );
    return ids.sort((a, b) => Number(BigInt(a) - BigInt(b)));
  }

  /**
   * The order live subscribers see (by storing transaction, then id: not id order when writers
   * run at once), of these ids.
   */
  async function storeOrder(ids: readonly string[]): Promise<string[]> {
    const wanted = new Set(ids);
    const rows = await t.store.database.sql.query<{ id: string }>(
      `SELECT e.id::text AS id FROM events e WHERE e.event_name = $1 ORDER BY coalesce(e.tx_id, 0), e.id`,
      [type.name],
    );
    return rows.map((r) => r.id).filter((id) => wanted.has(id));
  }

  it("replays what was stored after `after`, then continues live, with no gap and no repeat during concurrent publishing", async () => {
    const [before] = await publishConcurrently(1, 1, 1);
    const early = await publishConcurrently(2, 5, 20); // stored before the subscription starts
    const sub = collect<LiveEvent>(client(), EVENT_PUBLISHED, { eventNames: [type.name], after: before });
    const during = await publishConcurrently(3, 10, 10); // published while it replays and goes live
    const want = [...early, ...during];
    await waitForItems(sub, want.length);
    const fence = await publishConcurrently(1, 1, 1); // anything extra would arrive before it
    await waitForItems(sub, want.length + 1);
    // In the order subscribers see (storing transaction, then id), which is not id order when
    // writers run at once; the fence was published after all the others had committed.
    expect(sub.items.map((e) => e.id)).toEqual([...(await storeOrder(want)), ...fence]);
  });

  it("a client that disconnects resumes from the last id it saw and misses nothing", async () => {
    const [start] = await publishConcurrently(1, 1, 1);
    const seen: string[] = [];
    let lastSeen = start!; // an event id first, then the cursor of the last event seen
    const publishing = publishConcurrently(2, 15, 10);
    // Three connections one after another, each dropped after a few events.
    for (let round = 0; round < 3; round++) {
      const c = client();
      const sub = collect<LiveEvent>(c, EVENT_PUBLISHED, { eventNames: [type.name], after: lastSeen });
      await waitForItems(sub, 5);
      await c.dispose(); // the connection is gone, mid-stream
      seen.push(...sub.items.map((e) => e.id));
      lastSeen = sub.items.at(-1)!.cursor;
    }
    const published = await publishing;
    const final = collect<LiveEvent>(client(), EVENT_PUBLISHED, { eventNames: [type.name], after: lastSeen });
    await waitForItems(final, published.length - seen.length);
    seen.push(...final.items.map((e) => e.id));
    expect(new Set(seen).size, "no event twice").toBe(seen.length);
    expect(seen, "every event, in order").toEqual(await storeOrder(published));
  });
});
