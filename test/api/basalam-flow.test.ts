import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EventsDocument,
  MeDocument,
  PublishEventDocument,
  PublishEventsDocument,
  RegisteredWebhooksDocument,
  UnregisterWebhookDocument,
  UpdateWebhookDocument,
  WebhookCustomersDocument,
  WebhookEventsDocument,
  WebhookLogsDocument,
  WebhooksDocument,
  WebhookServicesDocument,
  DeleteWebhookDocument,
} from "../generated/graphql.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createCustomer, createEventType, createService, createWebhook, register } from "../support/fixtures.js";

let t: TestGateway;
beforeAll(async () => {
  // API only: these tests read the deliveries as publishing left them, before any dispatcher touches it.
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
});
afterAll(async () => t?.close());

describe("the Basalam webhook flow, operation for operation", () => {
  it("creates a service, event types, a webhook, a customer, registers and publishes", async () => {
    const service = await createService(t, "Order notifications");
    const chat = await createEventType(t, "CHAT_RECEIVED_MESSAGE", { id: 0, chat_id: 0, message: { text: "string" } });
    const order = await createEventType(t, "ORDER_CREATED");

    // getWebhookEvents: Basalam's list shape.
    const catalog = await service.client.ok(WebhookEventsDocument, { page: 1, perPage: 10 });
    // Hookgate's three operational event types (negative ids) come first: README, "Operational events".
    expect(catalog.webhookEvents).toMatchObject({ resultCount: 5, totalCount: 5, totalPage: 1, page: 1, perPage: 10 });
    expect(catalog.webhookEvents.data.map((e) => e.name)).toEqual([
      "hookgate.webhook.failing",
      "hookgate.webhook.disabled",
      "hookgate.delivery.failed",
      "CHAT_RECEIVED_MESSAGE",
      "ORDER_CREATED",
    ]);
    expect(catalog.webhookEvents.data[3]!.sampleData).toEqual({ id: 0, chat_id: 0, message: { text: "string" } });

    const created = await createWebhook(service.client, {
      eventIds: [chat.id, order.id],
      url: "https://your-app.com/webhook",
      requestMethod: "POST",
      requestHeaders: [{ name: "X-Shop", value: "42" }],
      isActive: true,
    });
    expect(created.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(created.webhook).toMatchObject({
      url: "https://your-app.com/webhook",
      requestMethod: "POST",
      isActive: true,
      service: { id: service.id },
      requestHeaders: [{ name: "X-Shop", value: "42" }],
      auth: { type: "NONE", username: null },
    });
    expect(created.webhook.eventTypes.map((e) => e.name)).toEqual(["CHAT_RECEIVED_MESSAGE", "ORDER_CREATED"]);

    // getWebhooks(serviceId, eventIds "1,2,3") accepts Basalam's comma form.
    const listed = await service.client.ok(WebhooksDocument, { serviceId: service.id, eventIds: [`${chat.id},${order.id}`] });
    expect(listed.webhooks.data.map((w) => w.id)).toEqual([created.webhook.id]);

    const customer = await createCustomer(t, "shopper-1");
    const me = await customer.client.ok(MeDocument);
    expect(me.me).toEqual({ kind: "CUSTOMER", service: null, customer: { id: customer.id, externalId: "shopper-1" } });

    await register(customer.client, created.webhook.id);
    await register(customer.client, created.webhook.id); // twice is harmless
    const customers = await service.client.ok(WebhookCustomersDocument, { webhookId: created.webhook.id, page: 1, perPage: 10 });
    expect(customers.webhookCustomers.data.map((c) => c.id)).toEqual([customer.id]);
    const registered = await customer.client.ok(RegisteredWebhooksDocument, { serviceId: service.id });
    expect(registered.registeredWebhooks.data.map((w) => w.id)).toEqual([created.webhook.id]);

    const published = await t.admin.ok(PublishEventDocument, {
      input: { eventName: "CHAT_RECEIVED_MESSAGE", customerId: customer.id, payload: { chat_id: 7, message: { text: "hi" } } },
    });
    expect(published.publishEvent).toMatchObject({
      duplicate: false,
      deliveryCount: 1,
      event: { eventName: "CHAT_RECEIVED_MESSAGE", customer: { id: customer.id }, payload: { chat_id: 7, message: { text: "hi" } } },
    });

    // The delivery row exists: the webhook's log shows the delivery waiting for the dispatcher.
    const logs = await service.client.ok(WebhookLogsDocument, { webhookId: created.webhook.id });
    expect(logs.webhookLogs.edges).toHaveLength(1);
    expect(logs.webhookLogs.edges[0]!.node).toMatchObject({ event: { id: published.publishEvent.event.id }, attempts: [] });

    // The customer sees its own event; the service sees events routed to its webhooks.
    const customerEvents = await customer.client.ok(EventsDocument, {});
    expect(customerEvents.events.edges.map((e) => e.node.id)).toEqual([published.publishEvent.event.id]);
    const serviceEvents = await service.client.ok(EventsDocument, {});
    expect(serviceEvents.events.edges.map((e) => e.node.id)).toEqual([published.publishEvent.event.id]);

    // unregisterWebhook by the customer itself, then the webhook no longer receives its events.
    await customer.client.ok(UnregisterWebhookDocument, { input: { webhookId: created.webhook.id, customerId: customer.id } });
    const after = await t.admin.ok(PublishEventDocument, {
      input: { eventName: "CHAT_RECEIVED_MESSAGE", customerId: customer.id, payload: { n: 2 } },
    });
    expect(after.publishEvent.deliveryCount).toBe(0);

    const services = await t.admin.ok(WebhookServicesDocument, {});
    expect(services.webhookServices.data.map((s) => s.title)).toContain("Order notifications");

    await service.client.ok(DeleteWebhookDocument, { webhookId: created.webhook.id });
    const gone = await service.client.ok(WebhooksDocument, { serviceId: service.id });
    expect(gone.webhooks.totalCount).toBe(0);
  });
});

describe("routing rule", () => {
  it("sends customer events to registered active webhooks, and customer-less events to every active subscriber", async () => {
    const service = await createService(t);
    const sms = await createEventType(t);
    const other = await createEventType(t);
    const registeredHook = await createWebhook(service.client, { eventIds: [sms.id] });
    const unregisteredHook = await createWebhook(service.client, { eventIds: [sms.id] });
    const inactiveHook = await createWebhook(service.client, { eventIds: [sms.id] });
    const otherTypeHook = await createWebhook(service.client, { eventIds: [other.id] });
    const customer = await createCustomer(t);
    for (const hook of [registeredHook, inactiveHook, otherTypeHook]) await register(customer.client, hook.webhook.id);
    await service.client.ok(UpdateWebhookDocument, { webhookId: inactiveHook.webhook.id, input: { isActive: false } });

    const { publishEvents } = await t.admin.ok(PublishEventsDocument, {
      input: {
        events: [
          { eventName: sms.name, customerExternalId: customer.externalId, payload: { text: "about a customer" } },
          { eventName: sms.name, payload: { text: "about nobody" } },
        ],
      },
    });
    expect(publishEvents.results.map((r) => r.deliveryCount)).toEqual([1, 2]);

    const deliveredTo = async (webhookId: string) =>
      (await service.client.ok(WebhookLogsDocument, { webhookId })).webhookLogs.edges.map((e) => e.node.event.payload);
    expect(await deliveredTo(registeredHook.webhook.id)).toEqual([{ text: "about nobody" }, { text: "about a customer" }]);
    expect(await deliveredTo(unregisteredHook.webhook.id)).toEqual([{ text: "about nobody" }]);
    expect(await deliveredTo(inactiveHook.webhook.id)).toEqual([]);
    expect(await deliveredTo(otherTypeHook.webhook.id)).toEqual([]);
  });
});

describe("idempotency", () => {
  it("stores one event per key, also within one batch, and reports the duplicate", async () => {
    const type = await createEventType(t);
    const service = await createService(t);
    await createWebhook(service.client, { eventIds: [type.id] });
    const input = { eventName: type.name, payload: { n: 1 }, idempotencyKey: `key-${type.id}` };
    const first = await t.admin.ok(PublishEventDocument, { input });
    const again = await t.admin.ok(PublishEventDocument, { input: { ...input, payload: { n: 2 } } });
    expect(first.publishEvent).toMatchObject({ duplicate: false, deliveryCount: 1 });
    expect(again.publishEvent).toMatchObject({ duplicate: true, deliveryCount: 0, event: { id: first.publishEvent.event.id, payload: { n: 1 } } });

    const batch = await t.admin.ok(PublishEventsDocument, {
      input: { events: [{ ...input, idempotencyKey: "batch-key" }, { ...input, idempotencyKey: "batch-key" }] },
    });
    expect(batch.publishEvents.results.map((r) => r.duplicate)).toEqual([false, true]);
    expect(batch.publishEvents.results[0]!.event.id).toBe(batch.publishEvents.results[1]!.event.id);

    const stored = await t.admin.ok(EventsDocument, { eventNames: [type.name] });
    expect(stored.events.edges).toHaveLength(2);
  });

  it("keeps one event when the same key is published concurrently", async () => {
    const type = await createEventType(t);
    const input = { eventName: type.name, payload: { n: 1 }, idempotencyKey: `race-${type.id}` };
    const results = await Promise.all(Array.from({ length: 8 }, () => t.admin.ok(PublishEventDocument, { input })));
    const ids = new Set(results.map((r) => r.publishEvent.event.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => !r.publishEvent.duplicate)).toHaveLength(1);
  });
});

describe("events query", () => {
  it("pages newest first with cursors and filters by type, customer and time", async () => {
    const type = await createEventType(t);
    const customer = await createCustomer(t);
    const inputs = Array.from({ length: 5 }, (_, i) => ({
      eventName: type.name,
      payload: { i },
      ...(i % 2 === 0 ? { customerId: customer.id } : {}),
    }));
    await t.admin.ok(PublishEventsDocument, { input: { events: inputs } });

    const page1 = await t.admin.ok(EventsDocument, { eventNames: [type.name], first: 2 });
    expect(page1.events.edges.map((e) => e.node.payload)).toEqual([{ i: 4 }, { i: 3 }]);
    expect(page1.events.pageInfo.hasNextPage).toBe(true);
    const page2 = await t.admin.ok(EventsDocument, { eventNames: [type.name], first: 2, after: page1.events.pageInfo.endCursor });
    expect(page2.events.edges.map((e) => e.node.payload)).toEqual([{ i: 2 }, { i: 1 }]);

    const aboutCustomer = await t.admin.ok(EventsDocument, { eventNames: [type.name], customerId: customer.id });
    expect(aboutCustomer.events.edges.map((e) => e.node.payload)).toEqual([{ i: 4 }, { i: 2 }, { i: 0 }]);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await t.admin.ok(EventsDocument, { eventNames: [type.name], since: future });
    expect(none.events.edges).toEqual([]);
    const all = await t.admin.ok(EventsDocument, { eventNames: [type.name], until: future, first: 100 });
    expect(all.events.edges).toHaveLength(5);
  });
});
