import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { PublishEventDocument, PublishEventsDocument } from "../generated/graphql.js";
import { createCustomer, createEventType, createService, createWebhook, register } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, EVENT_PUBLISHED, waitForItems, wsClient, type LiveEvent } from "../support/live.js";

/**
 * eventPublished over graphql-ws: filters, who sees what, refusals. Every event here is
 * published through the API and received by a real graphql-ws client.
 */
describe("eventPublished over graphql-ws", () => {
  let t: TestGateway;
  const clients: Client[] = [];
  let chat: { id: string; name: string };
  let order: { id: string; name: string };
  let serviceA: Awaited<ReturnType<typeof createService>>;
  let serviceB: Awaited<ReturnType<typeof createService>>;
  let webhookA: { id: string };
  let webhookB: { id: string };
  let alice: Awaited<ReturnType<typeof createCustomer>>;
  let bob: Awaited<ReturnType<typeof createCustomer>>;

  const client = (token: string | undefined, onClosed?: (code: number, reason: string) => void) => {
    const c = wsClient(t.gateway.url!, token, { onClosed });
    clients.push(c);
    return c;
  };
  const publish = (eventName: string, customerId: string | null, payload: unknown) =>
    t.admin.ok(PublishEventDocument, { input: { eventName, customerId, payload } }).then((r) => r.publishEvent.event.id);

  beforeAll(async () => {
    // The webhooks here point at a name that does not resolve: five failed deliveries in a row
    // would publish hookgate.webhook.failing, which the admin's stream would then carry too.
    t = await startTestGateway({ HOOKGATE_FAILING_AFTER_FAILURES: "0" });
    chat = await createEventType(t);
    order = await createEventType(t);
    serviceA = await createService(t);
    serviceB = await createService(t);
    alice = await createCustomer(t);
    bob = await createCustomer(t);
    // A takes chat messages for alice only; B takes orders for anyone and chats for bob.
    webhookA = (await createWebhook(serviceA.client, { eventIds: [chat.id] })).webhook;
    webhookB = (await createWebhook(serviceB.client, { eventIds: [order.id, chat.id] })).webhook;
    await register(alice.client, webhookA.id);
    await register(bob.client, webhookB.id);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.close();
  });

  it("refuses a connection without a valid token with 4403, before any subscription runs", async () => {
    for (const token of [undefined, "hg_admin_not-a-real-token-at-all-000000", "garbage"]) {
      let closed: { code: number; reason: string } | undefined;
      const received = collect(client(token, (code, reason) => (closed = { code, reason })), EVENT_PUBLISHED);
      await waitFor(() => closed);
      expect(closed!.code, String(token)).toBe(4403);
      expect(received.items).toEqual([]);
    }
  });

  it("gives each token kind what it may see, and each filter what it asks for", async () => {
    // `after` makes the test independent of when the server registers each subscription:
    // whatever was published before that is replayed from the store.
    const base = await publish(order.name, null, { base: true });
    const sub = (token: string, variables: Record<string, unknown> = {}) =>
      collect<LiveEvent>(client(token), EVENT_PUBLISHED, { ...variables, after: base });
    const subs = {
      admin: sub(t.admin.token!),
      adminChats: sub(t.admin.token!, { eventNames: [chat.name] }),
      adminBob: sub(t.admin.token!, { customerId: bob.id }),
      adminWebhookA: sub(t.admin.token!, { webhookId: webhookA.id }),
      adminServiceB: sub(t.admin.token!, { serviceId: serviceB.id }),
      serviceA: sub(serviceA.token),
      serviceB: sub(serviceB.token),
      serviceBOrders: sub(serviceB.token, { eventNames: [order.name] }),
      alice: sub(alice.token),
      bob: sub(bob.token),
    };
    const ids = {
      chatAlice: await publish(chat.name, alice.id, { n: 1 }),
      chatBob: await publish(chat.name, bob.id, { n: 2 }),
      orderAlice: await publish(order.name, alice.id, { n: 3 }),
      orderNobody: await publish(order.name, null, { n: 4 }),
      chatNobody: await publish(chat.name, null, { n: 5 }),
    };
    // Routing: chatAlice → A (alice is registered on A); chatBob → B; orderAlice → nobody
    // (alice is not on B); orderNobody → B; chatNobody → A and B.
    const expected: Record<keyof typeof subs, (keyof typeof ids)[]> = {
      admin: ["chatAlice", "chatBob", "orderAlice", "orderNobody", "chatNobody"],
      adminChats: ["chatAlice", "chatBob", "chatNobody"],
      adminBob: ["chatBob"],
      adminWebhookA: ["chatAlice", "chatNobody"],
      adminServiceB: ["chatBob", "orderNobody", "chatNobody"],
      serviceA: ["chatAlice", "chatNobody"],
      serviceB: ["chatBob", "orderNobody", "chatNobody"],
      serviceBOrders: ["orderNobody"],
      alice: ["chatAlice", "orderAlice"],
      bob: ["chatBob"],
    };
    // Fences: every subscriber may see at least one of these, and a subscription's events come
    // in id order, so once its last fence is in, anything it should not have got would be too.
    const fences = [
      await publish(chat.name, alice.id, { fence: 1 }),
      await publish(chat.name, bob.id, { fence: 2 }),
      await publish(order.name, null, { fence: 3 }),
    ];
    for (const [name, want] of Object.entries(expected)) {
      const s = subs[name as keyof typeof subs];
      await waitFor(() => (s.error ? (() => { throw new Error(`${name}: ${JSON.stringify(s.error)}`); })() : undefined) ?? s.items.find((e) => e.id === lastFenceFor(name)));
      const got = s.items.map((e) => e.id).filter((id) => !fences.includes(id));
      expect(got, name).toEqual(want.map((k) => ids[k]));
    }
    expect(subs.admin.items[0]).toMatchObject({ id: ids.chatAlice, eventName: chat.name, payload: { n: 1 } });

    function lastFenceFor(name: string): string {
      // fence 3 (an order for nobody) is routed to B; fence 2 (bob's chat) to B; fence 1 (alice's chat) to A.
      const sees: Record<string, number> = {
        admin: 2, adminChats: 1, adminBob: 1, adminWebhookA: 0, adminServiceB: 2,
        serviceA: 0, serviceB: 2, serviceBOrders: 2, alice: 0, bob: 1,
      };
      return fences[sees[name]!]!;
    }
  });

  it("refuses another tenant's webhook or service, and a customer id that is not the caller's", async () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ["serviceA → webhook B", serviceA.token, { webhookId: webhookB.id }],
      ["serviceA → service B", serviceA.token, { serviceId: serviceB.id }],
      ["alice → bob", alice.token, { customerId: bob.id }],
      ["alice → webhook A", alice.token, { webhookId: webhookA.id }],
    ];
    for (const [name, token, variables] of cases) {
      const received = collect(client(token), EVENT_PUBLISHED, variables);
      await waitFor(() => received.error);
      expect((received.error as { extensions?: { code?: string } }[])[0]?.extensions?.code, name).toBe("FORBIDDEN");
    }
    const unknown = collect(client(t.admin.token), EVENT_PUBLISHED, { eventNames: ["NO_SUCH_TYPE"] });
    await waitFor(() => unknown.error);
    expect((unknown.error as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe("NOT_FOUND");
  });

  it("a subscription without after starts with what is published after it, even when the feed followed quieter types", async () => {
    // The feed follows only `chat` for a while, as the only subscriber's filter asks.
    const chats = collect<LiveEvent>(client(t.admin.token), EVENT_PUBLISHED, { eventNames: [chat.name] });
    await primeUntilSeen(chats, () => publish(chat.name, null, { marker: true }));
    const old: string[] = [];
    for (let i = 0; i < 5; i++) old.push(await publish(order.name, null, { old: i }));
    const orders = collect<LiveEvent>(client(t.admin.token), EVENT_PUBLISHED, { eventNames: [order.name] });
    await primeUntilSeen(orders, () => publish(order.name, null, { marker: true }));
    expect(orders.items.map((e) => e.id).filter((id) => old.includes(id))).toEqual([]);
  });

  it("delivers a batch in the order it was stored", async () => {
    const sub = collect<LiveEvent>(client(t.admin.token), EVENT_PUBLISHED, { eventNames: [order.name] });
    await primeUntilSeen(sub, () => publish(order.name, null, { marker: true }));
    sub.items.length = 0;
    const events = Array.from({ length: 50 }, (_, i) => ({ eventName: order.name, payload: { i } }));
    const { publishEvents } = await t.admin.ok(PublishEventsDocument, { input: { events } });
    const want = publishEvents.results.map((r) => r.event.id);
    const got = await waitForItems(sub, 50);
    expect(got.map((e) => e.id)).toEqual(want);
    expect(got.map((e) => (e.payload as { i: number }).i)).toEqual(events.map((_, i) => i));
  });
});

async function waitFor<T>(check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A subscription is live once the server has registered it; graphql-ws does not tell the
 * client when. Publishing a marker until one arrives proves it (and costs a few events).
 */
export async function primeUntilSeen(received: { items: unknown[] }, publishMarker: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 100 && received.items.length === 0; i++) {
    await publishMarker();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!received.items.length) throw new Error("the subscription never became live");
}
