import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphQLFormattedError } from "graphql";
import {
  CreateCustomerDocument,
  CreateEventTypeDocument,
  CreateWebhookDocument,
  CreateWebhookServiceDocument,
  OneTenantDocument,
  PublishEventDocument,
  PublishEventsDocument,
  UpdateWebhookDocument,
  type CreateWebhookInput,
  type PublishEventInput,
  type UpdateWebhookInput,
} from "../generated/graphql.js";
import type { GraphQLClient, GraphQLResponse } from "../support/client.js";
import { createCustomer, createEventType, createService, createWebhook, register } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * Bad input through the public API: a GraphQL error with a stable extensions.code, a message
 * (and extensions.field) naming the field, and nothing written, not even part of it.
 */

const MAX_PAYLOAD_BYTES = 1024;

let t: TestGateway;
let service: Awaited<ReturnType<typeof createService>>;
let customer: Awaited<ReturnType<typeof createCustomer>>;
let eventType: { id: string; name: string };
let otherType: { id: string; name: string };
/** A webhook every update test tries, and fails, to change. */
let webhookId: string;

beforeAll(async () => {
  // API only: no dispatcher, so queued deliveries stay as publishing left them.
  t = await startTestGateway({ HOOKGATE_ROLE: "api", HOOKGATE_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES) });
  service = await createService(t);
  eventType = await createEventType(t, "VALID_EVENT");
  otherType = await createEventType(t, "OTHER_EVENT");
  customer = await createCustomer(t, "validation-customer");
  webhookId = (
    await createWebhook(service.client, {
      eventIds: [eventType.id],
      url: "https://receiver.example/original",
      requestHeaders: [{ name: "X-Original", value: "1" }],
      auth: { basic: { username: "original-user", password: "original-password" } },
    })
  ).webhook.id;
  await register(customer.client, webhookId);
  await t.admin.ok(PublishEventDocument, { input: { eventName: eventType.name, customerId: customer.id, payload: { setup: true } } });
});
afterAll(async () => t?.close());

// ---------------------------------------------------------------------------------------------
// Helpers

/** Everything a rejected call could have half-written, as the admin sees it. */
async function world() {
  const state = await t.admin.ok(OneTenantDocument, { serviceId: service.id, webhookId });
  for (const list of [state.webhookLogs, state.events]) expect(list.pageInfo.hasNextPage).toBe(false);
  return state;
}

function onlyError(result: GraphQLResponse<unknown>): GraphQLFormattedError {
  expect(result.errors, `expected exactly one error, got ${JSON.stringify(result)}`).toHaveLength(1);
  return result.errors![0]!;
}

type Code = "BAD_USER_INPUT" | "NOT_FOUND" | "CONFLICT";

/** The one error has this code, names `field` (extensions.field and the message's start) and says `parts`. */
function expectRejected(result: GraphQLResponse<unknown>, code: Code, field: string | undefined, ...parts: (string | RegExp)[]) {
  const error = onlyError(result);
  expect(error.extensions?.code, error.message).toBe(code);
  if (field !== undefined) {
    expect(error.extensions?.field).toBe(field);
    expect(error.message.startsWith(`${field}: `), error.message).toBe(true);
  }
  for (const part of parts) expect(error.message).toMatch(part);
  expect(result.data ?? null).toBeNull();
}

const create = (input: Partial<CreateWebhookInput>, client: GraphQLClient = service.client) =>
  client.request(CreateWebhookDocument, { input: { url: "https://receiver.example/new", eventIds: [eventType.id], ...input } });
const update = (input: UpdateWebhookInput, id = webhookId) => service.client.request(UpdateWebhookDocument, { webhookId: id, input });

/**
 * Runs the bad settings through createWebhook and updateWebhook: both must be rejected the same
 * way, with no webhook created and the existing one unchanged.
 */
async function rejectedOnCreateAndUpdate(settings: UpdateWebhookInput, code: Code, field: string, ...parts: (string | RegExp)[]) {
  const before = await world();
  expectRejected(await create(settings as Partial<CreateWebhookInput>), code, field, ...parts);
  expectRejected(await update(settings), code, field, ...parts);
  expect(await world()).toEqual(before);
}

// ---------------------------------------------------------------------------------------------

describe("webhook url", () => {
  it.each([
    ["ftp", "ftp://files.example/hook", /scheme "ftp" is not allowed; use http or https/],
    ["javascript:", "javascript:alert(1)", /scheme "javascript" is not allowed/],
    ["data:", "data:text/plain,hello", /scheme "data" is not allowed/],
    ["file:", "file:///etc/passwd", /scheme "file" is not allowed/],
    ["no scheme", "receiver.example/hook", /"receiver.example\/hook" is not an absolute URL/],
    ["a relative path", "/hook", /is not an absolute URL/],
    ["empty", "", /is not an absolute URL/],
    ["credentials", "https://user:secret@receiver.example/hook", /must not carry credentials; use the auth input instead/],
    ["a user name only", "https://user@receiver.example/hook", /must not carry credentials/],
    ["a fragment", "https://receiver.example/hook#section", /must not have a #fragment/],
    ["too long", `https://receiver.example/${"a".repeat(2048)}`, /is longer than 2048 characters/],
  ])("%s -> BAD_USER_INPUT on input.url, nothing written", async (_name, url, message) => {
    await rejectedOnCreateAndUpdate({ url }, "BAD_USER_INPUT", "input.url", message);
  });

  it("the message does not echo credentials from the URL", async () => {
    const result = await create({ url: "https://user:hunter2@receiver.example/hook" });
    expect(JSON.stringify(result)).not.toContain("hunter2");
  });
});

describe("request headers", () => {
  it.each([
    ["a name with a space", [{ name: "X Bad", value: "1" }], "input.requestHeaders[0].name", /"X Bad" is not a valid header name/],
    ["a name with a colon", [{ name: "X-Bad:", value: "1" }], "input.requestHeaders[0].name", /is not a valid header name/],
    ["a name that smuggles a header", [{ name: "X-A: 1\r\nX-B", value: "1" }], "input.requestHeaders[0].name", /is not a valid header name/],
    ["an empty name", [{ name: "", value: "1" }], "input.requestHeaders[0].name", /is not a valid header name/],
    ["a value with CR LF (header injection)", [{ name: "X-Ok", value: "1\r\nX-Injected: yes" }], "input.requestHeaders[0].value", /may not contain CR, LF/],
    ["a value with LF", [{ name: "X-Ok", value: "1\nX-Injected: yes" }], "input.requestHeaders[0].value", /may not contain CR, LF/],
    ["a value with CR", [{ name: "X-Ok", value: "1\rX-Injected: yes" }], "input.requestHeaders[0].value", /may not contain CR, LF/],
    ["a value with NUL", [{ name: "X-Ok", value: "1\u0000" }], "input.requestHeaders[0].value", /NUL character/],
    ["Authorization", [{ name: "Authorization", value: "Bearer x" }], "input.requestHeaders[0].name", /"Authorization" is set by the gateway; use the auth input/],
    ["Content-Type", [{ name: "Content-Type", value: "text/plain" }], "input.requestHeaders[0].name", /"Content-Type" is set by the gateway/],
    ["webhook-signature", [{ name: "webhook-signature", value: "v1,forged" }], "input.requestHeaders[0].name", /"webhook-signature" is set by the gateway/],
    ["HOST in capitals", [{ name: "HOST", value: "internal" }], "input.requestHeaders[0].name", /"HOST" is set by the gateway/],
    ["a bad second header", [{ name: "X-Ok", value: "1" }, { name: "Content-Length", value: "0" }], "input.requestHeaders[1].name", /is set by the gateway/],
    ["one name twice, in two cases", [{ name: "X-Twice", value: "1" }, { name: "x-twice", value: "2" }], "input.requestHeaders[1].name", /"x-twice" is given twice/],
  ])("%s -> BAD_USER_INPUT naming the header, nothing written", async (_name, requestHeaders, field, message) => {
    await rejectedOnCreateAndUpdate({ requestHeaders }, "BAD_USER_INPUT", field, message);
  });

  it("more than 32 headers -> BAD_USER_INPUT on input.requestHeaders", async () => {
    const requestHeaders = Array.from({ length: 33 }, (_, i) => ({ name: `X-H${i}`, value: "1" }));
    await rejectedOnCreateAndUpdate({ requestHeaders }, "BAD_USER_INPUT", "input.requestHeaders", /at most 32/);
  });
});

describe("requestMethod outside the enum", () => {
  const createWithLiteral = (method: string) =>
    service.client.raw(
      `mutation($eventId: ID!) { createWebhook(input: { url: "https://receiver.example/m", eventIds: [$eventId], requestMethod: ${method} }) { signingSecret } }`,
      { eventId: eventType.id },
    );

  it.each(["GET", "DELETE", "post"])("%s as a literal -> GraphQL validation error, nothing written", async (method) => {
    const before = await world();
    const result = await createWithLiteral(method);
    const error = onlyError(result);
    expect(error.message).toContain(`Value "${method}" does not exist in "RequestMethod" enum`);
    expect(error.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(result.data ?? null).toBeNull();
    expect(await world()).toEqual(before);
  });

  // The same value in variables is refused before execution too, as the client's bad input.
  it("GET in variables -> BAD_USER_INPUT before execution; nothing written", async () => {
    const before = await world();
    for (const request of [
      () => service.client.raw(`mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { signingSecret } }`, {
        input: { url: "https://receiver.example/m", eventIds: [eventType.id], requestMethod: "GET" },
      }),
      () => service.client.raw(`mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(webhookId: $id, input: $input) { id } }`, {
        id: webhookId,
        input: { requestMethod: "GET", url: "https://receiver.example/changed" },
      }),
    ]) {
      const result = await request();
      const error = onlyError(result);
      expect(error.extensions?.code).toBe("BAD_USER_INPUT");
      expect(error.message).toContain('"GET"');
      expect(result.data ?? null).toBeNull();
    }
    expect(await world()).toEqual(before);
  });
});

describe("webhook auth", () => {
  it.each([
    ["both basic and token", { basic: { username: "u", password: "p" }, token: "t" }, "input.auth", /give basic or token, not both/],
    ["an empty token", { token: "   " }, "input.auth.token", /1 to 4096 characters without control characters/],
    ["a token with CR LF", { token: "abc\r\nX-Injected: 1" }, "input.auth.token", /without control characters/],
    ["a username with a colon", { basic: { username: "a:b", password: "p" } }, "input.auth.basic.username", /without ':'/],
    ["an empty username", { basic: { username: "", password: "p" } }, "input.auth.basic.username", /1 to 256 characters/],
    ["a password with LF", { basic: { username: "u", password: "p\nq" } }, "input.auth.basic.password", /without control characters/],
  ])("%s -> BAD_USER_INPUT on %s, nothing written", async (_name, auth, field, message) => {
    await rejectedOnCreateAndUpdate({ auth }, "BAD_USER_INPUT", field, message);
  });

  // Green API: "Basic X" is sent as Basic, "Bearer X" or a bare X as Bearer. The stored type is
  // TOKEN either way; the header itself is checked by the dispatcher tests.
  it.each(["Basic abc", "Bearer xyz", "xyz", "  bearer   spaced  "])("token %j is stored as type TOKEN", async (token) => {
    const { createWebhook } = await t.admin.ok(CreateWebhookDocument, {
      input: { serviceId: service.id, url: "https://receiver.example/green", eventIds: [eventType.id], auth: { token } },
    });
    expect(createWebhook.webhook.auth).toEqual({ type: "TOKEN", username: null });
    const { webhooks } = await t.admin.ok(OneTenantDocument, { serviceId: service.id, webhookId });
    expect(webhooks.data.find((w) => w.id === createWebhook.webhook.id)?.auth).toEqual({ type: "TOKEN", username: null });
  });

  it("basic auth is stored as type BASIC with the username; an empty auth input clears it", async () => {
    const { webhook } = await createWebhook(service.client, {
      eventIds: [eventType.id],
      url: "https://receiver.example/thulium",
      auth: { basic: { username: "thulium-user", password: "secret" } },
    });
    expect(webhook.auth).toEqual({ type: "BASIC", username: "thulium-user" });
    const asToken = await service.client.ok(UpdateWebhookDocument, { webhookId: webhook.id, input: { auth: { token: "Bearer abc" } } });
    expect(asToken.updateWebhook.auth).toEqual({ type: "TOKEN", username: null });
    const cleared = await service.client.ok(UpdateWebhookDocument, { webhookId: webhook.id, input: { auth: {} } });
    expect(cleared.updateWebhook.auth).toEqual({ type: "NONE", username: null });
  });
});

describe("event types of a webhook", () => {
  it.each([
    ["an unknown id", { eventIds: ["999999"] }, "input.eventIds", /999999/],
    ["a known and an unknown id", { eventIds: [() => eventType.id, "999998"] }, "input.eventIds", /999998/],
    ["an unknown name", { eventNames: ["NO_SUCH_EVENT"] }, "input.eventNames", /"NO_SUCH_EVENT"/],
  ] as const)("%s -> NOT_FOUND naming it, no webhook created or changed", async (_name, raw, field, message) => {
    const settings: UpdateWebhookInput = {
      eventIds: "eventIds" in raw ? raw.eventIds.map((id) => (typeof id === "function" ? id() : id)) : undefined,
      eventNames: "eventNames" in raw ? [...raw.eventNames] : undefined,
    };
    const before = await world();
    expectRejected(await create({ eventIds: undefined, ...settings } as Partial<CreateWebhookInput>), "NOT_FOUND", field, message, /event types do not exist/);
    expectRejected(await update(settings), "NOT_FOUND", field, message, /event types do not exist/);
    expect(await world()).toEqual(before);
  });

  it.each([
    ["abc", "input.eventIds[0]"],
    ["0", "input.eventIds[0]"],
    ["-1", "input.eventIds[0]"],
  ])("event id %j -> BAD_USER_INPUT on %s, nothing written", async (id, field) => {
    await rejectedOnCreateAndUpdate({ eventIds: [id] }, "BAD_USER_INPUT", field, `"${id}" is not a valid id`);
  });

  it("no event type at all -> BAD_USER_INPUT on input.eventIds (create), and an empty list is refused on update", async () => {
    const before = await world();
    expectRejected(await create({ eventIds: undefined }), "BAD_USER_INPUT", "input.eventIds", /at least one event type/);
    expectRejected(await update({ eventIds: [] }), "BAD_USER_INPUT", "input.eventIds", /at least one event type/);
    expect(await world()).toEqual(before);
  });
});

describe("updateWebhook with one bad field among good ones", () => {
  it.each<[string, UpdateWebhookInput, Code, string]>([
    ["a bad header", { url: "https://receiver.example/changed", isActive: false, requestHeaders: [{ name: "Bad Name", value: "1" }] }, "BAD_USER_INPUT", "input.requestHeaders[0].name"],
    ["a bad retry interval", { url: "https://receiver.example/changed", retryPolicy: "FIXED", retryIntervalSeconds: 0 }, "BAD_USER_INPUT", "input.retryIntervalSeconds"],
    ["a bad retry window", { isActive: false, retryWindowSeconds: 59 }, "BAD_USER_INPUT", "input.retryWindowSeconds"],
    ["an unknown event type", { eventIds: [], eventNames: ["OTHER_EVENT", "MISSING_EVENT"], url: "https://receiver.example/changed" }, "NOT_FOUND", "input.eventNames"],
    ["a bad url", { eventNames: ["OTHER_EVENT"], requestHeaders: [{ name: "X-New", value: "2" }], url: "ftp://receiver.example/" }, "BAD_USER_INPUT", "input.url"],
  ])("%s -> rejected, and the good fields are not applied either", async (_name, input, code, field) => {
    const before = await world();
    expectRejected(await update(input), code, field);
    const after = await world();
    expect(after).toEqual(before);
    const webhook = after.webhooks.data.find((w) => w.id === webhookId)!;
    expect(webhook).toMatchObject({
      url: "https://receiver.example/original",
      isActive: true,
      retryPolicy: "EXPONENTIAL",
      requestHeaders: [{ name: "X-Original", value: "1" }],
      auth: { type: "BASIC", username: "original-user" },
      eventTypes: [{ id: eventType.id, name: eventType.name }],
    });
  });

  it("a webhook id that does not exist -> NOT_FOUND, nothing written", async () => {
    const before = await world();
    expectRejected(await t.admin.request(UpdateWebhookDocument, { webhookId: "999999", input: { isActive: false } }), "NOT_FOUND", undefined, "webhook 999999 does not exist");
    expect(await world()).toEqual(before);
  });
});

describe("catalog and customers", () => {
  it("a duplicate event type name -> CONFLICT naming it; one row", async () => {
    await t.admin.ok(CreateEventTypeDocument, { input: { name: "DUPLICATE_EVENT" } });
    const before = await world();
    expectRejected(
      await t.admin.request(CreateEventTypeDocument, { input: { name: "DUPLICATE_EVENT", description: "again" } }),
      "CONFLICT",
      "input.name",
      'an event type named "DUPLICATE_EVENT" already exists',
    );
    expect(await world()).toEqual(before);
  });

  it("the same event type created concurrently: one succeeds, the rest are CONFLICT", async () => {
    const before = await world();
    const results = await Promise.all(Array.from({ length: 5 }, () => t.admin.request(CreateEventTypeDocument, { input: { name: "RACED_EVENT" } })));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    for (const r of results.filter((r) => r.errors)) expectRejected(r, "CONFLICT", "input.name", /"RACED_EVENT" already exists/);
    expect((await world()).webhookEvents.totalCount).toBe(before.webhookEvents.totalCount + 1);
  });

  it.each([
    ["an event type name that is not a name", () => t.admin.request(CreateEventTypeDocument, { input: { name: "has space" } }), "input.name", /is not a valid event type name/],
    ["an event type name starting with a digit", () => t.admin.request(CreateEventTypeDocument, { input: { name: "1ST" } }), "input.name", /is not a valid event type name/],
    ["an empty scope", () => t.admin.request(CreateEventTypeDocument, { input: { name: "SCOPED", scopes: ["ok", " "] } }), "input.scopes[1]", /must not be empty/],
    ["a blank service title", () => t.admin.request(CreateWebhookServiceDocument, { input: { title: "   " } }), "input.title", /must not be empty/],
    ["a blank externalId", () => t.admin.request(CreateCustomerDocument, { input: { externalId: " " } }), "input.externalId", /must not be empty/],
  ])("%s -> BAD_USER_INPUT on %s, nothing written", async (_name, request, field, message) => {
    const before = await world();
    expectRejected(await request(), "BAD_USER_INPUT", field, message);
    expect(await world()).toEqual(before);
  });

  it.each([
    ["the same externalId", "validation-customer"],
    ["the same externalId with spaces around it", "  validation-customer  "],
  ])("a customer with %s -> CONFLICT naming it", async (_name, externalId) => {
    const result = await t.admin.request(CreateCustomerDocument, { input: { externalId, name: "second" } });
    expectRejected(result, "CONFLICT", "input.externalId", 'a customer with externalId "validation-customer" already exists');
    // The existing customer is the one publishing still finds by that externalId.
    const { publishEvent } = await t.admin.ok(PublishEventDocument, {
      input: { eventName: otherType.name, customerExternalId: "validation-customer", payload: { probe: true } },
    });
    expect(publishEvent.event.customer).toEqual({ id: customer.id, externalId: "validation-customer" });
  });
});

describe("publishing", () => {
  const big = (bytes: number) => ({ s: "x".repeat(bytes - JSON.stringify({ s: "" }).length) });

  it("a payload of exactly the limit is accepted", async () => {
    expect(Buffer.byteLength(JSON.stringify(big(MAX_PAYLOAD_BYTES)))).toBe(MAX_PAYLOAD_BYTES);
    await t.admin.ok(PublishEventDocument, { input: { eventName: otherType.name, payload: big(MAX_PAYLOAD_BYTES) } });
  });

  it.each([
    ["one byte over", big(MAX_PAYLOAD_BYTES + 1), MAX_PAYLOAD_BYTES + 1],
    ["far over", big(10_000), 10_000],
    ["over in bytes though not in characters", "é".repeat(600), 1202],
  ])("a payload %s -> BAD_USER_INPUT on input.payload, nothing stored", async (_name, payload, bytes) => {
    const before = await world();
    expectRejected(
      await t.admin.request(PublishEventDocument, { input: { eventName: eventType.name, customerId: customer.id, payload } }),
      "BAD_USER_INPUT",
      "input.payload",
      `is ${bytes} bytes; the limit is ${MAX_PAYLOAD_BYTES} (HOOKGATE_MAX_PAYLOAD_BYTES)`,
    );
    expect(await world()).toEqual(before);
  });

  const good = (n: number): PublishEventInput => ({ eventName: eventType.name, customerId: customer.id, payload: { n } });
  it.each<[string, () => PublishEventInput[], Code, string, RegExp]>([
    ["an unknown eventName in the middle", () => [good(1), { eventName: "NO_SUCH_EVENT", payload: {} }, good(3)], "NOT_FOUND", "input.events[1].eventName", /event type "NO_SUCH_EVENT" does not exist/],
    ["an unknown eventName last", () => [good(1), good(2), { eventName: "NO_SUCH_EVENT", payload: {} }], "NOT_FOUND", "input.events[2].eventName", /"NO_SUCH_EVENT" does not exist/],
    ["an unknown eventTypeId", () => [good(1), { eventTypeId: "999999", payload: {} }], "NOT_FOUND", "input.events[1].eventTypeId", /event type 999999 does not exist/],
    ["an unknown customerExternalId", () => [good(1), { ...good(2), customerId: undefined, customerExternalId: "nobody" }], "NOT_FOUND", "input.events[1].customerExternalId", /"nobody" does not exist/],
    ["an unknown customerId", () => [good(1), { ...good(2), customerId: "999999" }], "NOT_FOUND", "input.events[1].customerId", /customer 999999 does not exist/],
    ["a payload over the limit", () => [good(1), { ...good(2), payload: big(MAX_PAYLOAD_BYTES + 1) }], "BAD_USER_INPUT", "input.events[1].payload", /the limit is 1024/],
    ["an invalid customerId", () => [good(1), { ...good(2), customerId: "abc" }], "BAD_USER_INPUT", "input.events[1].customerId", /"abc" is not a valid id/],
    ["both eventName and eventTypeId", () => [good(1), { ...good(2), eventTypeId: eventType.id }], "BAD_USER_INPUT", "input.events[1].eventName", /exactly one of eventName and eventTypeId/],
    ["neither eventName nor eventTypeId", () => [good(1), { payload: {} }], "BAD_USER_INPUT", "input.events[1].eventName", /exactly one of eventName and eventTypeId/],
    ["both customerId and customerExternalId", () => [good(1), { ...good(2), customerExternalId: "validation-customer" }], "BAD_USER_INPUT", "input.events[1].customerId", /at most one of customerId and customerExternalId/],
    ["an empty idempotencyKey", () => [good(1), { ...good(2), idempotencyKey: "" }], "BAD_USER_INPUT", "input.events[1].idempotencyKey", /1 to 255 characters/],
  ])("publishEvents with %s -> %s naming the event, none of the batch stored", async (_name, events, code, field, message) => {
    const before = await world();
    expectRejected(await t.admin.request(PublishEventsDocument, { input: { events: events() } }), code, field, message);
    const after = await world();
    expect(after.events).toEqual(before.events);
    expect(after.webhookLogs).toEqual(before.webhookLogs);
  });

  it("an empty batch -> BAD_USER_INPUT on input.events", async () => {
    expectRejected(await t.admin.request(PublishEventsDocument, { input: { events: [] } }), "BAD_USER_INPUT", "input.events", /1 to 500 events/);
  });

  it("the same good batch is stored whole (the rejections above are about the bad event)", async () => {
    const before = await world();
    await t.admin.ok(PublishEventsDocument, { input: { events: [good(1), good(2), good(3)] } });
    const after = await world();
    expect(after.events.edges).toHaveLength(before.events.edges.length + 3);
    expect(after.webhookLogs.edges).toHaveLength(before.webhookLogs.edges.length + 3);
  });
});

describe("page sizes and cursors", () => {
  const lists: [string, string, () => GraphQLClient, () => Record<string, unknown>][] = [
    ["webhooks", "query($page: Int, $perPage: Int) { webhooks(page: $page, perPage: $perPage) { totalCount } }", () => t.admin, () => ({})],
    ["webhookServices", "query($page: Int, $perPage: Int) { webhookServices(page: $page, perPage: $perPage) { totalCount } }", () => t.admin, () => ({})],
    ["webhookEvents", "query($page: Int, $perPage: Int) { webhookEvents(page: $page, perPage: $perPage) { totalCount } }", () => t.admin, () => ({})],
    [
      "webhookCustomers",
      "query($id: ID!, $page: Int, $perPage: Int) { webhookCustomers(webhookId: $id, page: $page, perPage: $perPage) { totalCount } }",
      () => t.admin,
      () => ({ id: webhookId }),
    ],
    ["registeredWebhooks", "query($page: Int, $perPage: Int) { registeredWebhooks(page: $page, perPage: $perPage) { totalCount } }", () => customer.client, () => ({})],
  ];
  const bad: [string, Record<string, number>, string, RegExp][] = [
    ["perPage 0", { perPage: 0 }, "perPage", /must be between 1 and 100/],
    ["perPage 1000", { perPage: 1000 }, "perPage", /must be between 1 and 100/],
    ["perPage -1", { perPage: -1 }, "perPage", /must be between 1 and 100/],
    ["page 0", { page: 0 }, "page", /must be 1 or more/],
    ["page -3", { page: -3 }, "page", /must be 1 or more/],
  ];
  const cases = lists.flatMap(([field, query, client, variables]) => bad.map(([what, args, name, message]) => [field, what, query, client, variables, args, name, message] as const));

  it.each(cases)("%s with %s -> BAD_USER_INPUT", async (_field, _what, query, client, variables, args, name, message) => {
    expectRejected(await client().raw(query, { ...variables(), ...args }), "BAD_USER_INPUT", name, message);
  });

  it.each(lists)("%s accepts page 1 and perPage 100 (the limits themselves)", async (_field, query, client, variables) => {
    const result = await client().raw(query, { ...variables(), page: 1, perPage: 100 });
    expect(result.errors).toBeUndefined();
  });

  const connections: [string, string, () => Record<string, unknown>][] = [
    ["events", "query($first: Int, $last: Int, $after: String, $before: String) { events(first: $first, last: $last, after: $after, before: $before) { edges { cursor } } }", () => ({})],
    [
      "webhookLogs",
      "query($id: ID!, $first: Int, $after: String, $before: String) { webhookLogs(webhookId: $id, first: $first, after: $after, before: $before) { edges { cursor } } }",
      () => ({ id: webhookId }),
    ],
  ];

  it.each(connections)("%s(first: 1000) and (first: -1) -> BAD_USER_INPUT on first", async (_name, query, variables) => {
    for (const first of [1000, 101, -1]) {
      expectRejected(await t.admin.raw(query, { ...variables(), first }), "BAD_USER_INPUT", "first", /must be between 0 and 100/);
    }
    const ok = await t.admin.raw(query, { ...variables(), first: 100 });
    expect(ok.errors).toBeUndefined();
  });

  it("events(last: 1000) -> BAD_USER_INPUT on last", async () => {
    expectRejected(await t.admin.raw(connections[0]![1], { last: 1000 }), "BAD_USER_INPUT", "last", /must be between 0 and 100/);
  });

  const forged = (text: string) => Buffer.from(text).toString("base64");
  const malformed = [
    ["not base64", "%%%"],
    ["base64 of something else", forged("hello")],
  ];
  it.each(
    connections.flatMap(([name, query, variables]) =>
      malformed.flatMap(([what, cursor]) => (["after", "before"] as const).map((arg) => [name, arg, what, query, variables, cursor] as const)),
    ),
  )("%s(%s: %s) -> BAD_USER_INPUT naming the argument", async (_name, arg, _what, query, variables, cursor) => {
    const result = await t.admin.raw(query, { ...variables(), [arg]: cursor });
    expectRejected(result, "BAD_USER_INPUT", arg, "is not a cursor of this list");
  });

  // Well-formed cursors that cannot point into an id-ordered list.
  it.each(
    [
      ["a string id", forged("GPC:S:abc")],
      ["a date", forged("GPC:D:1700000000000")],
      ["a negative id", forged("GPC:I:-5")],
      ["an id beyond 64 bits", forged("GPC:I:99999999999999999999999")],
    ].flatMap(([what, cursor]) =>
      connections.flatMap(([name]) => (["after", "before"] as const).map((arg) => [name, arg, what, cursor] as const)),
    ),
  )("%s(%s: a forged cursor holding %s) -> BAD_USER_INPUT naming the argument", async (name, arg, _what, cursor) => {
    const [, query, variables] = connections.find(([n]) => n === name)!;
    const result = await t.admin.raw(query, { ...variables(), [arg]: cursor });
    expectRejected(result, "BAD_USER_INPUT", arg, "is not a cursor of this list");
  });

  it("a genuine cursor works (the forged ones above are refused for what they are)", async () => {
    const first = await t.admin.raw(connections[0]![1], { first: 1 });
    const cursor = (first.data as { events: { edges: { cursor: string }[] } }).events.edges[0]!.cursor;
    expect((await t.admin.raw(connections[0]![1], { first: 1, after: cursor })).errors).toBeUndefined();
  });
});

describe("invalid ids", () => {
  const ops: [string, string, (id: string) => Record<string, unknown>, string, () => GraphQLClient][] = [
    ["updateWebhook", "mutation($id: ID!) { updateWebhook(webhookId: $id, input: { isActive: false }) { id } }", (id) => ({ id }), "webhookId", () => t.admin],
    ["deleteWebhook", "mutation($id: ID!) { deleteWebhook(webhookId: $id) { deletedWebhookId } }", (id) => ({ id }), "webhookId", () => t.admin],
    ["rotateWebhookSecret", "mutation($id: ID!) { rotateWebhookSecret(webhookId: $id) { signingSecret } }", (id) => ({ id }), "webhookId", () => t.admin],
    ["webhookCustomers", "query($id: ID!) { webhookCustomers(webhookId: $id) { totalCount } }", (id) => ({ id }), "webhookId", () => t.admin],
    ["webhookLogs", "query($id: ID!) { webhookLogs(webhookId: $id) { edges { cursor } } }", (id) => ({ id }), "webhookId", () => t.admin],
    ["webhooks(serviceId)", "query($id: ID) { webhooks(serviceId: $id) { totalCount } }", (id) => ({ id }), "serviceId", () => t.admin],
    ["webhooks(eventIds)", "query($id: ID!) { webhooks(eventIds: [$id]) { totalCount } }", (id) => ({ id }), "eventIds[0]", () => t.admin],
    ["events(customerId)", "query($id: ID) { events(customerId: $id) { edges { cursor } } }", (id) => ({ id }), "customerId", () => t.admin],
    [
      "createWebhook(serviceId)",
      "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { signingSecret } }",
      (id) => ({ input: { serviceId: id, url: "https://receiver.example/x", eventIds: [eventType.id] } }),
      "input.serviceId",
      () => t.admin,
    ],
    [
      "publishEvent(customerId)",
      "mutation($input: PublishEventInput!) { publishEvent(input: $input) { duplicate } }",
      (id) => ({ input: { eventName: eventType.name, customerId: id, payload: {} } }),
      "input.customerId",
      () => t.admin,
    ],
    [
      "publishEvent(eventTypeId)",
      "mutation($input: PublishEventInput!) { publishEvent(input: $input) { duplicate } }",
      (id) => ({ input: { eventTypeId: id, payload: {} } }),
      "input.eventTypeId",
      () => t.admin,
    ],
    [
      "registerWebhook",
      "mutation($id: ID!) { registerWebhook(input: { webhookId: $id }) { createdAt } }",
      (id) => ({ id }),
      "input.webhookId",
      () => customer.client,
    ],
    [
      "unregisterWebhook(webhookId)",
      "mutation($w: ID!, $c: ID!) { unregisterWebhook(input: { webhookId: $w, customerId: $c }) { webhookId } }",
      (id) => ({ w: id, c: customer.id }),
      "input.webhookId",
      () => t.admin,
    ],
    [
      "unregisterWebhook(customerId)",
      "mutation($w: ID!, $c: ID!) { unregisterWebhook(input: { webhookId: $w, customerId: $c }) { webhookId } }",
      (id) => ({ w: webhookId, c: id }),
      "input.customerId",
      () => t.admin,
    ],
  ];
  const values = ["abc", "0", "-1", "1.5", "99999999999", " 1"];

  it.each(ops)("%s with ids abc, 0, -1, 1.5, 99999999999, \" 1\" -> BAD_USER_INPUT naming the argument, nothing written", async (name, query, variables, field, client) => {
    const before = await world();
    // The eventIds filter takes Basalam's "1, 2, 3" form, so spaces around an id are fine there.
    for (const value of values.filter((v) => !(name === "webhooks(eventIds)" && v === " 1"))) {
      expectRejected(await client().raw(query, variables(value)), "BAD_USER_INPUT", field, `"${value}" is not a valid id`);
    }
    expect(await world()).toEqual(before);
  });

  it.each([
    ["updateWebhook", "mutation($id: ID!) { updateWebhook(webhookId: $id, input: { isActive: false }) { id } }", "webhook 999999 does not exist"],
    ["deleteWebhook", "mutation($id: ID!) { deleteWebhook(webhookId: $id) { deletedWebhookId } }", "webhook 999999 does not exist"],
    ["webhookCustomers", "query($id: ID!) { webhookCustomers(webhookId: $id) { totalCount } }", "webhook 999999 does not exist"],
    ["rotateWebhookSecret", "mutation($id: ID!) { rotateWebhookSecret(webhookId: $id) { signingSecret } }", "webhook 999999 does not exist"],
    [
      "createWebhook(serviceId)",
      `mutation($id: ID!) { createWebhook(input: { serviceId: $id, url: "https://receiver.example/x", eventNames: ["VALID_EVENT"] }) { signingSecret } }`,
      "service 999999 does not exist",
    ],
  ])("%s of a well-formed id nobody has -> NOT_FOUND, nothing written", async (_name, query, message) => {
    const before = await world();
    expectRejected(await t.admin.raw(query, { id: "999999" }), "NOT_FOUND", undefined, message);
    expect(await world()).toEqual(before);
  });
});
