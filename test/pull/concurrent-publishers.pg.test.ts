// The pull queue's order under concurrent publishers on PostgreSQL: publishes commit in another
// order than their ids, and a consumer must still get exactly the live feed's order (the order
// an eventPublished subscriber sees), nothing missed and nothing twice, while it consumes
// during the publishing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcknowledgeNotificationsDocument, PublishEventDocument, ReceiveNotificationsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, EVENT_PUBLISHED, waitForItems, wsClient, type LiveEvent } from "../support/live.js";

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({ HOOKGATE_LIVE_POLL_MS: "200" });
});
afterAll(async () => {
  await t?.close();
});

describe("pull queue order with concurrent publishers (postgres)", () => {
  it("a consumer draining while 8 clients publish gets the live feed's order, each event once", async () => {
    const type = await createEventType(t);
    const service = await createService(t);
    const { webhook } = await createWebhook(service.client, { eventIds: [type.id], url: null, deliveryMode: "PULL" });
    // The live feed from right after a marker event: every later event, in the feed's order.
    const { publishEvent: marker } = await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { client: -1, n: 0 } } });
    const ws = wsClient(t.admin.url, t.admin.token);
    const live = collect<LiveEvent>(ws, EVENT_PUBLISHED, { eventNames: [type.name], after: marker.event.id });

    const PER_CLIENT = 25;
    const publishing = Promise.all(
      Array.from({ length: 8 }, async (_, client) => {
        for (let n = 0; n < PER_CLIENT; n++) await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { client, n } } });
      }),
    );
    const total = 8 * PER_CLIENT;
    const pulled: string[] = [];
    let first = true;
    let done = false;
    void publishing.then(() => (done = true));
    while (pulled.length < total) {
      const { receiveNotifications: batch } = await service.client.ok(ReceiveNotificationsDocument, {
        webhookId: webhook.id,
        max: 10,
        waitSeconds: done ? 5 : 1,
      });
      if (!batch.length && done) break;
      // The marker comes first, and is not in the feed (it starts after it).
      const ids = batch.map((n) => n.eventId);
      if (first && ids.length) {
        expect(ids.shift()).toBe(marker.event.id);
        first = false;
      }
      pulled.push(...ids);
      if (batch.length) {
        await service.client.ok(AcknowledgeNotificationsDocument, { webhookId: webhook.id, receiptIds: batch.map((n) => n.receiptId) });
      }
    }
    await publishing;
    const feed = await waitForItems(live, total);
    live.stop();
    await ws.dispose();
    expect(pulled).toHaveLength(total);
    expect(new Set(pulled).size).toBe(total);
    expect(pulled).toEqual(feed.map((e) => e.id));
    // Each client's own events in the order it published them.
    const ids = new Map(feed.map((e) => [e.id, e.payload as { client: number; n: number }]));
    for (let client = 0; client < 8; client++) {
      const ns = pulled.map((id) => ids.get(id)!).filter((p) => p.client === client).map((p) => p.n);
      expect(ns).toEqual(Array.from({ length: PER_CLIENT }, (_, i) => i));
    }
  });
});
