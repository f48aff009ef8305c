import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphQLFormattedError } from "graphql";
import {
  CreateCustomerDocument,
  CreateEventTypeDocument,
  CreateWebhookDocument,
  CreateWebhookServiceDocument,
  DeleteWebhookDocument,
  DeliveryIdsDocument,
  EventPageDocument,
  PublishEventDocument,
  PublishEventsDocument,
  RegisteredWebhooksDocument,
  RegisterWebhookDocument,
  ReplayWebhookDocument,
  RetryDeliveryDocument,
  RotateWebhookSecretDocument,
  SendTestEventDocument,
  UnregisterWebhookDocument,
  UpdateWebhookDocument,
  VisibleServiceIdsDocument,
  VisibleWebhookIdsDocument,
  WebhookAuthDocument,
  WebhookCustomersDocument,
  WebhookLogsDocument,
  WebhookRequestHeadersDocument,
  TwoTenantsDocument,
} from "../generated/graphql.js";
import type { GraphQLClient, GraphQLResponse } from "../support/client.js";
import { createCustomer, createEventType, createService, createWebhook, register } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * Cross-tenant reads and writes through the public API: each must be refused with a code and a
 * message saying which token it needs, and the admin must find nothing changed afterwards.
 */

type Service = Awaited<ReturnType<typeof createService>>;
type Customer = Awaited<ReturnType<typeof createCustomer>>;

let t: TestGateway;
let serviceA: Service;
let serviceB: Service;
/** Registered on A's webhook. */
let c1: Customer;
/** Registered on B's webhook. */
let c2: Customer;
/** Registered nowhere. */
let c3: Customer;
let typeA: { id: string; name: string };
let typeB: { id: string; name: string };
let unrouted: { id: string; name: string };
let webhookA: string;
let webhookB: string;
let deliveryA: string;
/** Event ids by what they are about and where they were routed. */
const events = { c1ToA: "", c2ToB: "", nobodyToA: "", nobodyToB: "", c1Unrouted: "" };

const SECRET_HEADER = "x-secret-header-value-7f3a";
const BASIC_USER = "hook-user-91c2";

beforeAll(async () => {
  // API only: no dispatcher, so deliveries stay as publishing left them and nothing leaves the machine.
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
  serviceA = await createService(t, "Service A");
  serviceB = await createService(t, "Service B");
  typeA = await createEventType(t, "AUTHZ_A");
  typeB = await createEventType(t, "AUTHZ_B");
  unrouted = await createEventType(t, "AUTHZ_UNROUTED");
  webhookA = (
    await createWebhook(serviceA.client, {
      eventIds: [typeA.id],
      url: "https://a.example/hook",
      requestHeaders: [{ name: "X-Secret", value: SECRET_HEADER }],
      auth: { basic: { username: BASIC_USER, password: "pw-of-a" } },
    })
  ).webhook.id;
  webhookB = (await createWebhook(serviceB.client, { eventIds: [typeB.id], url: "https://b.example/hook" })).webhook.id;
  c1 = await createCustomer(t);
  c2 = await createCustomer(t);
  c3 = await createCustomer(t);
  await register(c1.client, webhookA);
  await register(c2.client, webhookB);

  const { publishEvents } = await t.admin.ok(PublishEventsDocument, {
    input: {
      events: [
        { eventName: typeA.name, customerId: c1.id, payload: { n: "c1ToA" } },
        { eventName: typeB.name, customerId: c2.id, payload: { n: "c2ToB" } },
        { eventName: typeA.name, payload: { n: "nobodyToA" } },
        { eventName: typeB.name, payload: { n: "nobodyToB" } },
        { eventName: unrouted.name, customerId: c1.id, payload: { n: "c1Unrouted" } },
      ],
    },
  });
  const ids = publishEvents.results.map((r) => r.event.id);
  [events.c1ToA, events.c2ToB, events.nobodyToA, events.nobodyToB, events.c1Unrouted] = ids as [string, string, string, string, string];
  expect(publishEvents.results.map((r) => r.deliveryCount)).toEqual([1, 1, 1, 1, 0]);
  const logs = await t.admin.ok(DeliveryIdsDocument, { webhookId: webhookA });
  deliveryA = logs.webhookLogs.edges[0]!.node.id;
});
afterAll(async () => t?.close());

// ---------------------------------------------------------------------------------------------
// Helpers

/** Everything the admin can see that a rejected call might have touched, in one request. */
async function worldAsAdmin() {
  const world = await t.admin.ok(TwoTenantsDocument, { serviceA: serviceA.id, serviceB: serviceB.id, webhookA, webhookB });
  // Small enough to see whole: a longer list would hide changes beyond the first page.
  for (const list of [world.logsA, world.logsB, world.events]) expect(list.pageInfo.hasNextPage).toBe(false);
  return world;
}

/** Every event id the client may see, newest first, following cursors to the end. */
async function eventIds(client: GraphQLClient, customerId?: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null | undefined;
  for (;;) {
    const { events: page } = await client.ok(EventPageDocument, { first: 100, after, customerId });
    ids.push(...page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor;
  }
}

function onlyError(result: GraphQLResponse<unknown>): GraphQLFormattedError {
  expect(result.errors, `expected exactly one error, got ${JSON.stringify(result)}`).toHaveLength(1);
  return result.errors![0]!;
}

/** A FORBIDDEN that names the field, the caller's kind and what it would need. */
function expectForbidden(result: GraphQLResponse<unknown>, field: string, kind: string, needs: string[]) {
  const error = onlyError(result);
  expect(error.extensions?.code).toBe("FORBIDDEN");
  expect(error.message).toContain(`${field} is not allowed for this ${kind} token`);
  for (const need of needs) expect(error.message).toContain(need);
  // The rejected field must not have produced data.
  expect(result.data ?? null).toBeNull();
}

const byId = (ids: { id: string }[]) => ids.map((x) => x.id).sort();

// ---------------------------------------------------------------------------------------------

describe("without a token", () => {
  /**
   * Every root field, called with arguments that would succeed for the admin: a missing
   * authorization check shows up as data instead of UNAUTHENTICATED, or as a changed world.
   */
  const everyField: Record<string, () => { query: string; variables?: Record<string, unknown> }> = {
    events: () => ({ query: `{ events { edges { node { id } } } }` }),
    me: () => ({ query: `{ me { kind } }` }),
    registeredWebhooks: () => ({ query: `{ registeredWebhooks { totalCount } }` }),
    apiTokens: () => ({ query: `{ apiTokens { id } }` }),
    createApiToken: () => ({ query: `mutation { createApiToken(input: { label: "anon" }) { token } }` }),
    revokeApiToken: () => ({ query: `mutation { revokeApiToken(tokenId: "1") { id } }` }),
    createPortalSession: () => ({ query: `mutation($s: ID) { createPortalSession(input: { serviceId: $s }) { token } }`, variables: { s: serviceA.id } }),
    webhookCustomers: () => ({ query: `query($id: ID!) { webhookCustomers(webhookId: $id) { totalCount } }`, variables: { id: webhookA } }),
    webhookEvents: () => ({ query: `{ webhookEvents { totalCount } }` }),
    webhookLogs: () => ({ query: `query($id: ID!) { webhookLogs(webhookId: $id) { edges { node { id } } } }`, variables: { id: webhookA } }),
    webhookServices: () => ({ query: `{ webhookServices { totalCount } }` }),
    webhooks: () => ({ query: `{ webhooks { totalCount } }` }),
    createCustomer: () => ({ query: `mutation { createCustomer(input: { externalId: "anon-customer", name: "anon" }) { token } }` }),
    createEventType: () => ({ query: `mutation { createEventType(input: { name: "ANON_TYPE" }) { id } }` }),
    createWebhook: () => ({
      query: `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { signingSecret } }`,
      variables: { input: { serviceId: serviceA.id, url: "https://anon.example/hook", eventIds: [typeA.id] } },
    }),
    createWebhookService: () => ({ query: `mutation { createWebhookService(input: { title: "anon" }) { token } }` }),
    deleteWebhook: () => ({ query: `mutation($id: ID!) { deleteWebhook(webhookId: $id) { deletedWebhookId } }`, variables: { id: webhookA } }),
    publishEvent: () => ({
      query: `mutation($name: String!) { publishEvent(input: { eventName: $name, payload: { anon: true } }) { duplicate } }`,
      variables: { name: typeA.name },
    }),
    publishEvents: () => ({
      query: `mutation($name: String!) { publishEvents(input: { events: [{ eventName: $name, payload: 1 }] }) { results { duplicate } } }`,
      variables: { name: typeA.name },
    }),
    registerWebhook: () => ({ query: `mutation($id: ID!) { registerWebhook(input: { webhookId: $id }) { createdAt } }`, variables: { id: webhookA } }),
    replayPreview: () => ({
      query: `query($id: ID!) { replayPreview(webhookId: $id, since: "2000-01-01T00:00:00Z") { count } }`,
      variables: { id: webhookA },
    }),
    replayWebhook: () => ({
      query: `mutation($id: ID!) { replayWebhook(webhookId: $id, since: "2000-01-01T00:00:00Z") { queued } }`,
      variables: { id: webhookA },
    }),
    retryDelivery: () => ({ query: `mutation($id: ID!) { retryDelivery(deliveryId: $id) { id } }`, variables: { id: deliveryA } }),
    rotateWebhookSecret: () => ({ query: `mutation($id: ID!) { rotateWebhookSecret(webhookId: $id) { signingSecret } }`, variables: { id: webhookA } }),
    sendTestEvent: () => ({ query: `mutation($id: ID!) { sendTestEvent(webhookId: $id) { id } }`, variables: { id: webhookA } }),
    unregisterWebhook: () => ({
      query: `mutation($w: ID!, $c: ID!) { unregisterWebhook(input: { webhookId: $w, customerId: $c }) { webhookId } }`,
      variables: { w: webhookA, c: c1.id },
    }),
    updateWebhook: () => ({
      query: `mutation($id: ID!) { updateWebhook(webhookId: $id, input: { url: "https://anon.example/x" }) { id } }`,
      variables: { id: webhookA },
    }),
    updateEventType: () => ({
      query: `mutation($id: ID!) { updateEventType(eventTypeId: $id, input: { description: "anon" }) { id } }`,
      variables: { id: typeA.id },
    }),
    webhookStats: () => ({ query: `query($id: ID!) { webhookStats(webhookIds: [$id]) { bucketSeconds } }`, variables: { id: webhookA } }),
    webhook: () => ({ query: `query($id: ID!) { webhook(id: $id) { id } }`, variables: { id: webhookA } }),
    receiveNotifications: () => ({ query: `mutation($id: ID!) { receiveNotifications(webhookId: $id) { receiptId } }`, variables: { id: webhookA } }),
    acknowledgeNotifications: () => ({
      query: `mutation($id: ID!) { acknowledgeNotifications(webhookId: $id, receiptIds: ["1"]) { acknowledgedReceiptIds } }`,
      variables: { id: webhookA },
    }),
  };

  it("the table covers every query and mutation field of the schema", async () => {
    const result = await t.admin.raw(`{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { name } } }`);
    const schema = (result.data as { __schema: { queryType: { fields: { name: string }[] }; mutationType: { fields: { name: string }[] }; subscriptionType: null | { name: string } } })
      .__schema;
    const fields = [...schema.queryType.fields, ...schema.mutationType.fields].map((f) => f.name).sort();
    expect(fields).toEqual(Object.keys(everyField).sort());
  });

  it.each(Object.keys(everyField))("%s -> UNAUTHENTICATED, and nothing changes", async (field) => {
    const before = await worldAsAdmin();
    const { query, variables } = everyField[field]!();
    const result = await t.as().raw(query, variables);
    const error = onlyError(result);
    expect(error.extensions?.code).toBe("UNAUTHENTICATED");
    expect(error.message).toContain("Authorization: Bearer <token>");
    // Refused before the document is even parsed: no field was reached.
    expect(error.path).toBeUndefined();
    expect(result.data ?? null).toBeNull();
    expect(result.status).toBe(401);
    expect(await worldAsAdmin()).toEqual(before);
  });

  it("the same operations succeed for the admin (the table is not rejected for another reason)", async () => {
    // Read-only fields only: proves the documents and ids are valid, without changing the fixtures.
    for (const field of ["events", "me", "webhookCustomers", "webhookEvents", "webhookLogs", "webhookServices", "webhooks"]) {
      const { query, variables } = everyField[field]!();
      const result = await t.admin.raw(query, variables);
      expect(result.errors, field).toBeUndefined();
    }
  });
});

describe("an invalid bearer token", () => {
  const post = (authorization: string) =>
    fetch(t.admin.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json", authorization },
      body: JSON.stringify({ query: "{ me { kind } }" }),
    });

  it.each([
    ["a service-shaped token nobody was given", "Bearer hg_svc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "the bearer token is not valid"],
    ["a customer-shaped token nobody was given", "Bearer hg_cus_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "the bearer token is not valid"],
    ["an admin-shaped token nobody was given", "Bearer hg_admin_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "the bearer token is not valid"],
    ["a token of no known shape", "Bearer not-a-token", "the bearer token is not valid"],
    ["another scheme", "Basic dXNlcjpwYXNz", "Authorization must be 'Bearer <token>'"],
    ["Bearer without a token", "Bearer", "Authorization must be 'Bearer <token>'"],
  ])("%s -> UNAUTHENTICATED with HTTP 401", async (_name, authorization, message) => {
    const response = await post(authorization);
    expect(response.status).toBe(401);
    const body = (await response.json()) as GraphQLResponse<unknown>;
    expect(body.data ?? null).toBeNull();
    const error = onlyError(body);
    expect(error.extensions?.code).toBe("UNAUTHENTICATED");
    expect(error.message).toContain(message);
  });

  it("a real token one character off is refused too", async () => {
    const forged = serviceA.token.slice(0, -1) + (serviceA.token.endsWith("A") ? "B" : "A");
    const result = await t.as(forged).raw(`{ me { kind } }`);
    expect(result.status).toBe(401);
    expect(onlyError(result).extensions?.code).toBe("UNAUTHENTICATED");
    // The genuine token still works: the refusal is about the token, not the request.
    expect((await serviceA.client.raw(`{ me { kind } }`)).data).toEqual({ me: { kind: "SERVICE" } });
  });
});

describe("a webhook's operations by anyone but its service (or the admin)", () => {
  type Op = (client: GraphQLClient) => Promise<GraphQLResponse<unknown>>;
  const ownerOnly: [string, Op][] = [
    ["Mutation.updateWebhook", (c) => c.request(UpdateWebhookDocument, { webhookId: webhookA, input: { url: "https://attacker.example/steal", isActive: false } })],
    ["Mutation.deleteWebhook", (c) => c.request(DeleteWebhookDocument, { webhookId: webhookA })],
    ["Mutation.rotateWebhookSecret", (c) => c.request(RotateWebhookSecretDocument, { webhookId: webhookA })],
    ["Mutation.sendTestEvent", (c) => c.request(SendTestEventDocument, { webhookId: webhookA })],
    ["Mutation.replayWebhook", (c) => c.request(ReplayWebhookDocument, { webhookId: webhookA, since: "2000-01-01T00:00:00.000Z" })],
    ["Query.webhookCustomers", (c) => c.request(WebhookCustomersDocument, { webhookId: webhookA })],
    ["Query.webhookLogs", (c) => c.request(WebhookLogsDocument, { webhookId: webhookA })],
  ];
  const actors: [string, string, () => GraphQLClient][] = [
    ["service B", "service", () => serviceB.client],
    ["customer 1 (registered on the webhook)", "customer", () => c1.client],
    ["customer 3 (registered nowhere)", "customer", () => c3.client],
  ];
  const cases = actors.flatMap(([who, kind, client]) => ownerOnly.map(([field, op]) => [field, who, kind, client, op] as const));

  it.each(cases)("%s by %s -> FORBIDDEN, nothing changes", async (field, _who, kind, client, op) => {
    const before = await worldAsAdmin();
    expectForbidden(await op(client()), field, kind, ["an admin token", `the token of the service that owns webhook ${webhookA}`]);
    expect(await worldAsAdmin()).toEqual(before);
  });

  it.each(actors)("retryDelivery of a delivery of A's webhook by %s -> FORBIDDEN, nothing changes", async (_who, kind, client) => {
    const before = await worldAsAdmin();
    expectForbidden(await client().request(RetryDeliveryDocument, { deliveryId: deliveryA }), "Mutation.retryDelivery", kind, [
      `the token of the service that owns the webhook of delivery ${deliveryA}`,
    ]);
    expect(await worldAsAdmin()).toEqual(before);
  });

  it("unregisterWebhook of customer 1 from A's webhook by service B -> FORBIDDEN, the registration stays", async () => {
    const before = await worldAsAdmin();
    const result = await serviceB.client.request(UnregisterWebhookDocument, { input: { webhookId: webhookA, customerId: c1.id } });
    expectForbidden(result, "Mutation.unregisterWebhook", "service", [
      `the token of the service that owns webhook ${webhookA}`,
      `the token of customer ${c1.id}`,
    ]);
    expect(await worldAsAdmin()).toEqual(before);
    expect(before.customersA.data).toEqual([{ id: c1.id }]);
  });

  it.each([
    ["customer 2, on A's webhook", () => webhookA],
    ["customer 2, on its own webhook B", () => webhookB],
  ])("unregisterWebhook of customer 1 by %s -> FORBIDDEN, the registration stays", async (_name, webhook) => {
    const before = await worldAsAdmin();
    const result = await c2.client.request(UnregisterWebhookDocument, { input: { webhookId: webhook(), customerId: c1.id } });
    expectForbidden(result, "Mutation.unregisterWebhook", "customer", [`the token of customer ${c1.id}`]);
    expect(await worldAsAdmin()).toEqual(before);
  });

  it("service B cannot list A's webhooks by serviceId", async () => {
    const result = await serviceB.client.request(VisibleWebhookIdsDocument, { serviceId: serviceA.id });
    expectForbidden(result, "Query.webhooks", "service", ["an admin token", `the token of service ${serviceA.id}`]);
  });

  it("the owning service is allowed the same reads (the rejections above are about ownership)", async () => {
    const customers = await serviceA.client.ok(WebhookCustomersDocument, { webhookId: webhookA });
    expect(customers.webhookCustomers.data.map((c) => c.id)).toEqual([c1.id]);
    const logs = await serviceA.client.ok(DeliveryIdsDocument, { webhookId: webhookA });
    expect(logs.webhookLogs.edges.map((e) => e.node.id)).toContain(deliveryA);
  });
});

describe("createWebhook for a service that is not the caller", () => {
  const cases: [string, string, () => GraphQLClient, () => string | undefined, () => string[]][] = [
    ["service B, with A's serviceId", "service", () => serviceB.client, () => serviceA.id, () => ["an admin token", `the token of service ${serviceA.id}`]],
    ["customer 1, with A's serviceId", "customer", () => c1.client, () => serviceA.id, () => ["an admin token", `the token of service ${serviceA.id}`]],
    ["customer 1, without a serviceId", "customer", () => c1.client, () => undefined, () => ["a service token"]],
  ];
  it.each(cases)("by %s -> FORBIDDEN, nothing created", async (_name, kind, client, serviceId, needs) => {
    const before = await worldAsAdmin();
    const result = await client().request(CreateWebhookDocument, {
      input: { serviceId: serviceId(), url: "https://attacker.example/hook", eventIds: [typeA.id] },
    });
    expectForbidden(result, "Mutation.createWebhook", kind, needs());
    expect(await worldAsAdmin()).toEqual(before);
  });
});

describe("admin-only mutations", () => {
  let n = 0;
  const unique = (prefix: string) => `${prefix}_${process.pid}_${++n}`;
  type Attempt = {
    /** Calls the mutation as the client; returns a check, run as the admin, that it left nothing behind. */
    (client: GraphQLClient): Promise<{ result: GraphQLResponse<unknown>; leftNothing: () => Promise<void> }>;
  };
  const attempts: [string, Attempt][] = [
    [
      "Mutation.createWebhookService",
      async (c) => {
        const title = unique("rogue service");
        const result = await c.request(CreateWebhookServiceDocument, { input: { title } });
        return {
          result,
          leftNothing: async () => {
            const services = await t.admin.ok(VisibleServiceIdsDocument);
            expect(services.webhookServices.data.map((s) => s.id)).toEqual([serviceA.id, serviceB.id]);
          },
        };
      },
    ],
    [
      "Mutation.createCustomer",
      async (c) => {
        const externalId = unique("rogue-customer");
        const result = await c.request(CreateCustomerDocument, { input: { externalId, name: "rogue" } });
        return {
          result,
          // externalId is unique: if the rejected call had stored it, the admin would get CONFLICT here.
          leftNothing: async () => void (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: "admin's" } })),
        };
      },
    ],
    [
      "Mutation.createEventType",
      async (c) => {
        const name = unique("ROGUE");
        const result = await c.request(CreateEventTypeDocument, { input: { name } });
        return {
          result,
          // Names are unique: the admin can still take it.
          leftNothing: async () => void (await t.admin.ok(CreateEventTypeDocument, { input: { name } })),
        };
      },
    ],
    [
      "Mutation.publishEvent",
      async (c) => ({
        result: await c.request(PublishEventDocument, { input: { eventName: typeA.name, payload: { rogue: true } } }),
        leftNothing: async () => undefined,
      }),
    ],
    [
      "Mutation.publishEvents",
      async (c) => ({
        result: await c.request(PublishEventsDocument, {
          input: { events: [{ eventName: typeA.name, payload: 1 }, { eventName: typeB.name, customerId: c2.id, payload: 2 }] },
        }),
        leftNothing: async () => undefined,
      }),
    ],
  ];
  const actors: [string, string, () => GraphQLClient][] = [
    ["service A", "service", () => serviceA.client],
    ["customer 1", "customer", () => c1.client],
  ];
  const cases = actors.flatMap(([who, kind, client]) => attempts.map(([field, attempt]) => [field, who, kind, client, attempt] as const));

  it.each(cases)("%s by %s -> FORBIDDEN (needs an admin token), no rows created", async (field, _who, kind, client, attempt) => {
    const before = await worldAsAdmin();
    const { result, leftNothing } = await attempt(client());
    expectForbidden(result, field, kind, ["it needs an admin token"]);
    expect(await worldAsAdmin()).toEqual(before);
    await leftNothing();
  });

  it("registerWebhook and registeredWebhooks need a customer token", async () => {
    expectForbidden(await serviceA.client.request(RegisterWebhookDocument, { input: { webhookId: webhookA } }), "Mutation.registerWebhook", "service", [
      "a customer token",
    ]);
    expectForbidden(await serviceB.client.request(RegisteredWebhooksDocument, {}), "Query.registeredWebhooks", "service", ["a customer token"]);
    expectForbidden(await t.admin.request(RegisteredWebhooksDocument, {}), "Query.registeredWebhooks", "admin", ["a customer token"]);
  });
});

describe("what a customer sees", () => {
  it("registered nowhere: no webhooks, no services, no events", async () => {
    const all = await c3.client.ok(VisibleWebhookIdsDocument, {});
    expect(all.webhooks).toEqual({ totalCount: 0, data: [] });
    const ofA = await c3.client.ok(VisibleWebhookIdsDocument, { serviceId: serviceA.id });
    expect(ofA.webhooks).toEqual({ totalCount: 0, data: [] });
    const registered = await c3.client.ok(RegisteredWebhooksDocument, {});
    expect(registered.registeredWebhooks.totalCount).toBe(0);
    const services = await c3.client.ok(VisibleServiceIdsDocument);
    expect(services.webhookServices).toEqual({ totalCount: 0, data: [] });
    expect(await eventIds(c3.client)).toEqual([]);
  });

  it("registered on A's webhook: that webhook only, even when asking for B's service", async () => {
    const all = await c1.client.ok(VisibleWebhookIdsDocument, {});
    expect(all.webhooks).toEqual({ totalCount: 1, data: [{ id: webhookA }] });
    const ofB = await c1.client.ok(VisibleWebhookIdsDocument, { serviceId: serviceB.id });
    expect(ofB.webhooks).toEqual({ totalCount: 0, data: [] });
  });

  it("events: only those about itself, whatever it filters by", async () => {
    expect((await eventIds(c1.client)).sort()).toEqual([events.c1ToA, events.c1Unrouted].sort());
    expect(await eventIds(c1.client, c2.id)).toEqual([]);
    expect(await eventIds(c2.client)).toEqual([events.c2ToB]);
  });

  const ownerOnlyFields: [string, (c: GraphQLClient) => Promise<GraphQLResponse<unknown>>, string][] = [
    ["requestHeaders", (c) => c.request(WebhookRequestHeadersDocument), SECRET_HEADER],
    ["auth", (c) => c.request(WebhookAuthDocument), BASIC_USER],
  ];
  it.each(ownerOnlyFields)("Webhook.%s of a webhook it is registered on -> FORBIDDEN on that field, nothing leaks", async (field, read, secret) => {
    const result = await read(c1.client);
    const error = onlyError(result);
    expect(error.extensions?.code).toBe("FORBIDDEN");
    expect(error.path).toEqual(["webhooks", "data", 0, field]);
    expect(error.message).toBe(
      `Webhook.${field} is not allowed for this customer token: it needs an admin token or the token of service ${serviceA.id}`,
    );
    expect(JSON.stringify(result)).not.toContain(secret);

    // The owner reads the same document.
    const owner = await read(serviceA.client);
    expect(owner.errors).toBeUndefined();
    expect(JSON.stringify(owner.data)).toContain(secret);
  });
});

describe("what a service sees", () => {
  it("webhooks: its own only", async () => {
    const a = await serviceA.client.ok(VisibleWebhookIdsDocument, {});
    expect(a.webhooks).toEqual({ totalCount: 1, data: [{ id: webhookA }] });
    const b = await serviceB.client.ok(VisibleWebhookIdsDocument, {});
    expect(b.webhooks).toEqual({ totalCount: 1, data: [{ id: webhookB }] });
  });

  it("events: only those routed to its webhooks", async () => {
    expect((await eventIds(serviceA.client)).sort()).toEqual([events.c1ToA, events.nobodyToA].sort());
    expect((await eventIds(serviceB.client)).sort()).toEqual([events.c2ToB, events.nobodyToB].sort());
    // Filtering by another service's customer does not widen the view.
    expect(await eventIds(serviceA.client, c2.id)).toEqual([]);
    // The admin sees all of them.
    expect(await eventIds(t.admin)).toEqual(expect.arrayContaining(Object.values(events)));
  });
});

describe("webhookServices by token kind", () => {
  it.each([
    ["admin", () => t.admin, () => [serviceA.id, serviceB.id]],
    ["service A", () => serviceA.client, () => [serviceA.id]],
    ["service B", () => serviceB.client, () => [serviceB.id]],
    ["customer 1 (on A's webhook)", () => c1.client, () => [serviceA.id]],
    ["customer 2 (on B's webhook)", () => c2.client, () => [serviceB.id]],
    ["customer 3 (registered nowhere)", () => c3.client, () => []],
  ] as const)("%s", async (_who, client, expected) => {
    const { webhookServices } = await client().ok(VisibleServiceIdsDocument);
    expect(byId(webhookServices.data)).toEqual([...expected()].sort());
    expect(webhookServices.totalCount).toBe(expected().length);
  });
});
