// Payload filters on webhooks (README: Payload filters): checked when set, applied by the publish
// statement's routing, so an event the filter refuses creates no delivery at all; the receiver is
// a real HTTP server on 127.0.0.1 behind a real dispatcher.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createCustomer, createEventType, createService, register } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

let t: TestGateway;
let receiver: Receiver;
let service: Awaited<ReturnType<typeof createService>>;
let type: { id: string; name: string };

const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id payloadFilter } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(webhookId: $id, input: $input) { id payloadFilter } }`;
const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { deliveryCount event { id } } }`;

beforeAll(async () => {
  t = await startTestGateway();
  receiver = await startReceiver();
  service = await createService(t);
});
// Each test its own event type: no other test's webhook is routed its events.
beforeEach(async () => {
  type = await createEventType(t);
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

async function newWebhook(path: string, input: Record<string, unknown>): Promise<string> {
  const result = await service.client.raw(CREATE, { input: { eventIds: [type.id], url: receiver.url(path), openToCustomers: true, ...input } });
  expect(result.errors).toBeUndefined();
  return (result.data as { createWebhook: { webhook: { id: string } } }).createWebhook.webhook.id;
}

async function publish(payload: unknown, customerExternalId?: string): Promise<{ deliveryCount: number; id: string }> {
  const result = await t.admin.raw(PUBLISH, { input: { eventName: type.name, payload, customerExternalId } });
  expect(result.errors).toBeUndefined();
  const { publishEvent } = result.data as { publishEvent: { deliveryCount: number; event: { id: string } } };
  return { deliveryCount: publishEvent.deliveryCount, id: publishEvent.event.id };
}

/** A webhook's payloadFilter as its owner reads it. */
async function filterOf(id: string): Promise<string | null | undefined> {
  const result = await service.client.raw(`{ webhooks(perPage: 100) { data { id payloadFilter } } }`);
  expect(result.errors).toBeUndefined();
  return (result.data as { webhooks: { data: { id: string; payloadFilter: string | null }[] } }).webhooks.data.find((w) => w.id === id)?.payloadFilter;
}

const bodiesAt = (path: string) => receiver.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body) as { data: unknown });

async function errorOf(query: string, variables: Record<string, unknown>) {
  const result = await service.client.raw(query, variables);
  expect(result.data === null || result.data === undefined || Object.values(result.data as object).every((v) => v === null)).toBe(true);
  return result.errors?.[0];
}

describe("a webhook's payload filter", () => {
  it("routes only events whose payload satisfies it: the others create no delivery and reach nobody", async () => {
    const id = await newWebhook("/big", { payloadFilter: '$.amount > 100 && $.status == "paid"' });
    expect((await publish({ amount: 50, status: "paid" })).deliveryCount).toBe(0);
    expect((await publish({ amount: 500, status: "open" })).deliveryCount).toBe(0);
    expect((await publish({ status: "paid" })).deliveryCount).toBe(0); // undecidable: not routed
    expect((await publish({ amount: "lots", status: "paid" })).deliveryCount).toBe(0);
    const kept = await publish({ amount: 500, status: "paid" });
    expect(kept.deliveryCount).toBe(1);
    const [row] = await t.store.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE webhook_id = $1::int`, [id]);
    expect(row!.n).toBe(1);
    await eventually(() => bodiesAt("/big").length >= 1);
    // The fence: published last, so any delivery of the others would have been made before it was.
    const fence = await publish({ amount: 101, status: "paid" });
    expect(fence.deliveryCount).toBe(1);
    await eventually(() => bodiesAt("/big").length >= 2);
    expect(bodiesAt("/big").map((b) => b.data)).toEqual([
      { amount: 500, status: "paid" },
      { amount: 101, status: "paid" },
    ]);
  });

  it("combines with the customer condition: a registered customer's event is routed only when its payload matches", async () => {
    const id = await newWebhook("/customer", { payloadFilter: "exists($.message.text)" });
    const customer = await createCustomer(t);
    const stranger = await createCustomer(t);
    await register(customer.client, id);
    expect((await publish({ message: { text: "hi" } }, stranger.externalId)).deliveryCount).toBe(0); // not registered
    expect((await publish({ message: {} }, customer.externalId)).deliveryCount).toBe(0); // filtered out
    expect((await publish({ message: { text: "hi" } }, customer.externalId)).deliveryCount).toBe(1);
    await eventually(() => bodiesAt("/customer").length >= 1);
    const fence = await publish({ message: { text: "fence" } }, customer.externalId);
    expect(fence.deliveryCount).toBe(1);
    await eventually(() => bodiesAt("/customer").length >= 2);
    expect(bodiesAt("/customer").map((b) => b.data)).toEqual([{ message: { text: "hi" } }, { message: { text: "fence" } }]);
  });

  it("is shown to its owner, and updateWebhook replaces it or clears it with null (then every event is routed)", async () => {
    const id = await newWebhook("/update", { payloadFilter: "$.n == 1" });
    expect(await filterOf(id)).toBe("$.n == 1");
    expect((await publish({ n: 2 })).deliveryCount).toBe(0);

    const replaced = await service.client.raw(UPDATE, { id, input: { payloadFilter: "$.n == 2" } });
    expect(replaced.data).toEqual({ updateWebhook: { id, payloadFilter: "$.n == 2" } });
    expect((await publish({ n: 1 })).deliveryCount).toBe(0);
    expect((await publish({ n: 2 })).deliveryCount).toBe(1);

    const untouched = await service.client.raw(UPDATE, { id, input: { retryPolicy: "FIXED" } });
    expect(untouched.data).toEqual({ updateWebhook: { id, payloadFilter: "$.n == 2" } });

    const cleared = await service.client.raw(UPDATE, { id, input: { payloadFilter: null } });
    expect(cleared.data).toEqual({ updateWebhook: { id, payloadFilter: null } });
    expect((await publish({ n: 1 })).deliveryCount).toBe(1);
  });

  it("is hidden from a customer token, like the webhook's other settings", async () => {
    const id = await newWebhook("/hidden", { payloadFilter: "$.n == 1" });
    const customer = await createCustomer(t);
    await register(customer.client, id);
    const read = await customer.client.raw(`{ webhooks { data { id payloadFilter } } }`);
    expect(read.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(JSON.stringify(read)).not.toContain("$.n");
  });

  it.each([
    ["not jsonpath", "$.amount >", /input\.payloadFilter: is not a valid jsonpath: syntax error/],
    ["a path, not a predicate", "$.amount", /input\.payloadFilter: must be a predicate/],
    ["empty", "  ", /input\.payloadFilter: give a jsonpath predicate/],
    ["a regular expression", '$.name like_regex "^(a+)+$"', /input\.payloadFilter: uses like_regex/],
    ["a regular expression, lower in the tree", '$.a ? (@.b like_regex "x") .c == 1', /input\.payloadFilter: (uses like_regex|must be a predicate)/],
    ["the any-depth accessor", "$.** == 1", /input\.payloadFilter: uses the any-depth accessor/],
    ["a variable (its evaluation would fail every publish)", "$.a == $limit", /input\.payloadFilter: uses a variable/],
    ["datetime()", '$.at.datetime() > "2020-01-01".datetime()', /input\.payloadFilter: uses \.datetime\(\)/],
    ["too long (the cost limit)", `$.a == "${"x".repeat(600)}"`, /input\.payloadFilter: is \d+ characters; at most 500/],
  ])("refuses %s with BAD_USER_INPUT naming the field, on create and on update", async (_name, filter, message) => {
    const before = await t.store.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhooks`);
    const created = await errorOf(CREATE, { input: { eventIds: [type.id], url: receiver.url("/refused"), payloadFilter: filter } });
    expect(created?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.payloadFilter" });
    expect(created?.message).toMatch(message);
    const after = await t.store.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhooks`);
    expect(after[0]!.n).toBe(before[0]!.n);

    const id = await newWebhook("/refused", {});
    const updated = await errorOf(UPDATE, { id, input: { payloadFilter: filter } });
    expect(updated?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.payloadFilter" });
    expect(await filterOf(id)).toBeNull();
  });

  it("accepts a string literal that merely contains a refused word", async () => {
    const id = await newWebhook("/words", { payloadFilter: '$.note == "like_regex ** $x"' });
    expect(id).toBeTruthy();
    expect((await publish({ note: "like_regex ** $x" })).deliveryCount).toBe(1);
  });
});
