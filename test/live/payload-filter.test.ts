import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { createEventType, createService } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/receiver.js";
import { collect, waitForItems, wsClient, type LiveEvent } from "../support/live.js";

/**
 * eventPublished's payloadFilter over graphql-ws: the same syntax as a webhook's, evaluated by
 * the same operator, on replayed events (`after`) and live ones alike.
 */
const FILTERED = `subscription Filtered($eventNames: [String!], $after: ID, $payloadFilter: String) {
  eventPublished(eventNames: $eventNames, after: $after, payloadFilter: $payloadFilter) { id cursor eventName payload createdAt }
}`;
const PUBLISH = `mutation($input: PublishEventsInput!) { publishEvents(input: $input) { results { deliveryCount event { id } } } }`;

describe("eventPublished with a payloadFilter", () => {
  let t: TestGateway;
  let type: { id: string; name: string };
  /** One admin connection; each subscription is its own operation on it. */
  let ws: Client;
  const client = () => ws;

  /** Publishes the payloads in one batch; their ids and delivery counts, in order. */
  async function publish(...payloads: unknown[]): Promise<{ id: string; deliveryCount: number }[]> {
    const result = await t.admin.raw(PUBLISH, { input: { events: payloads.map((payload) => ({ eventName: type.name, payload })) } });
    expect(result.errors).toBeUndefined();
    const { results } = (result.data as { publishEvents: { results: { deliveryCount: number; event: { id: string } }[] } }).publishEvents;
    return results.map((r) => ({ id: r.event.id, deliveryCount: r.deliveryCount }));
  }

  beforeAll(async () => {
    t = await startTestGateway();
    ws = wsClient(t.gateway.url!, t.admin.token);
  });
  beforeEach(async () => {
    type = await createEventType(t);
  });
  afterAll(async () => {
    await ws?.dispose();
    await t?.close();
  });

  it("yields only matching events, replayed after `after` and live, each once and in order", async () => {
    const [start] = await publish({ n: 0 });
    await publish({ n: 1 }, { n: 3 }, { n: "x" }, { m: 5 }, { n: 4 }); // stored before: replayed
    const sub = collect<LiveEvent>(client(), FILTERED, { eventNames: [type.name], after: start!.id, payloadFilter: "$.n > 2" });
    await waitForItems(sub, 2);
    // The subscription is registered before it yields anything: from here on events come live.
    await publish({ n: 1 }, { n: 5 }, { n: 2 }, { n: 7 });
    await publish({ n: -1 });
    const [fence] = await publish({ n: 100 }); // anything the filter let through wrongly would come before it
    await waitForItems(sub, 5);
    expect(sub.items.map((e) => e.payload)).toEqual([{ n: 3 }, { n: 4 }, { n: 5 }, { n: 7 }, { n: 100 }]);
    expect(sub.items.at(-1)!.id).toBe(fence!.id);
  });

  it("answers as routing does: the events a webhook with the same filter is sent are those the subscription yields", async () => {
    const filter = '$.n > 2 || $.tags[*] == "vip"';
    const service = await createService(t);
    const created = await service.client.raw(`mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }`, {
      input: { eventIds: [type.id], url: "https://receiver.example/hook", payloadFilter: filter },
    });
    expect(created.errors).toBeUndefined();
    const [start] = await publish({ n: 0 });
    // Lax arrays, strings against numbers, nulls, missing keys, other JSON types at the top.
    const tricky = [{ n: [1, 5] }, { n: "5" }, { n: null }, { n: 3.0 }, {}, [{ n: 9 }], 7, "n", { tags: ["a", "vip"] }, { tags: "vip" }, { n: 2.0000001 }, { n: 1e30 }];
    const replayed = await publish(...tricky); // before the subscription: replayed (or brought by the feed, when it had not reached them)
    const sub = collect<LiveEvent>(client(), FILTERED, { eventNames: [type.name], after: start!.id, payloadFilter: filter });
    const routedBefore = replayed.filter((r) => r.deliveryCount === 1).map((r) => r.id);
    expect(routedBefore.length).toBeGreaterThan(2);
    expect(routedBefore.length).toBeLessThan(tricky.length);
    await waitForItems(sub, routedBefore.length);
    const live = await publish(...tricky); // after it yielded: live
    const routedLive = live.filter((r) => r.deliveryCount === 1).map((r) => r.id);
    const [fence] = await publish({ n: 3 });
    await waitForItems(sub, routedBefore.length + routedLive.length + 1);
    expect(sub.items.map((e) => e.id)).toEqual([...routedBefore, ...routedLive, fence!.id]);
  });

  it.each([
    ["not jsonpath", "$.n >", /payloadFilter: is not a valid jsonpath/],
    ["a regular expression", '$.s like_regex "(a+)+"', /payloadFilter: uses like_regex/],
    ["a path", "$.n", /payloadFilter: must be a predicate/],
  ])("refuses %s with BAD_USER_INPUT naming the argument", async (_name, payloadFilter, message) => {
    const sub = collect<LiveEvent>(client(), FILTERED, { eventNames: [type.name], payloadFilter });
    const errors = await eventually(() => sub.error as { message: string; extensions?: Record<string, unknown> }[] | undefined);
    expect(errors[0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "payloadFilter" });
    expect(errors[0]!.message).toMatch(message);
  });
});
