// Values PostgreSQL cannot hold (NUL, lone UTF-16 surrogates, years outside 1..9999) or that the
// store would change silently ("__proto__" keys) or choke on (JSON nested thousands of levels),
// sent in every kind of argument, by the token kinds that can reach them. Each must be
// BAD_USER_INPUT naming the field, write nothing, and log no error line.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient, GraphQLResponse } from "../support/client.js";
import { createCustomer, createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { capturingLogger, postText } from "../support/http.js";

const LIMIT = 64; // MAX_JSON_DEPTH, as README's Limits states it
const log = capturingLogger("info");
let t: TestGateway;
let service: Awaited<ReturnType<typeof createService>>;
let customer: Awaited<ReturnType<typeof createCustomer>>;
let type: { id: string; name: string };
let webhookId: string;

beforeAll(async () => {
  t = await startTestGateway({ env: { HOOKGATE_ROLE: "api", HOOKGATE_LOG_LEVEL: "info" }, logger: log.logger });
  service = await createService(t);
  customer = await createCustomer(t);
  type = await createEventType(t, "ODD_INPUT");
  webhookId = (await createWebhook(service.client, { eventIds: [type.id] })).webhook.id;
});
afterAll(async () => t?.close());
afterEach(() => {
  const errors = log.lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
  expect(errors, errors.join("\n")).toEqual([]);
});

async function rowCounts(): Promise<string> {
  const [row] = await t.store.database.sql.query<{ counts: string }>(
    `SELECT concat_ws(',', (SELECT count(*) FROM events), (SELECT count(*) FROM services), (SELECT count(*) FROM customers),
       (SELECT count(*) FROM event_types), (SELECT count(*) FROM webhooks), (SELECT max(updated_at)::text FROM webhooks)) AS counts`,
  );
  return row!.counts;
}

async function refused(call: () => Promise<GraphQLResponse<unknown>>, field: string, says?: RegExp): Promise<void> {
  const before = await rowCounts();
  const result = await call();
  expect(result.errors, JSON.stringify(result)).toHaveLength(1);
  const error = result.errors![0]!;
  expect(error.extensions?.code, error.message).toBe("BAD_USER_INPUT");
  expect(error.extensions?.field, error.message).toBe(field);
  if (says) expect(error.message).toMatch(says);
  expect(await rowCounts()).toBe(before);
}

const nested = (levels: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
};

const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { deliveryCount } }`;
const publish = (input: Record<string, unknown>) => () => t.admin.raw(PUBLISH, { input: { eventName: type.name, payload: {}, ...input } });
const PUBLISH_MANY = `mutation($input: PublishEventsInput!) { publishEvents(input: $input) { results { deliveryCount } } }`;

describe("NUL and lone surrogates", () => {
  const odd: [string, string][] = [
    ["a NUL", "a\u0000b"],
    ["a lone high surrogate", "a\uD800b"],
    ["a lone low surrogate", "\uDC00"],
  ];

  it.each(odd)("%s in a payload string, a payload key, sampleData, an idempotency key, an event name", async (_what, bad) => {
    await refused(publish({ payload: { text: bad } }), "input.payload", /at text: .*(NUL|surrogate)/);
    await refused(publish({ payload: { [bad]: 1 } }), "input.payload", /key/);
    await refused(publish({ payload: [1, [bad]] }), "input.payload", /at \[1\]\[0\]/);
    await refused(publish({ idempotencyKey: bad }), "input.idempotencyKey");
    await refused(publish({ eventName: bad }), "input.eventName");
    await refused(publish({ customerExternalId: bad }), "input.customerExternalId");
    await refused(
      () => t.admin.raw(PUBLISH_MANY, { input: { events: [{ eventName: type.name, payload: {} }, { eventName: type.name, payload: { x: bad } }] } }),
      "input.events[1].payload",
    );
    await refused(
      () => t.admin.raw(`mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { id } }`, { input: { name: "ODD_SAMPLE", sampleData: { s: bad } } }),
      "input.sampleData",
    );
    await refused(
      () => t.admin.raw(`mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { id } }`, { input: { name: "ODD_DESC", description: bad } }),
      "input.description",
    );
  });

  it.each(odd)("%s in titles, names, descriptions, URLs and header values", async (_what, bad) => {
    const admin = (query: string, input: unknown) => () => t.admin.raw(query, { input });
    await refused(admin(`mutation($input: CreateWebhookServiceInput!) { createWebhookService(input: $input) { token } }`, { title: bad }), "input.title");
    await refused(admin(`mutation($input: CreateWebhookServiceInput!) { createWebhookService(input: $input) { token } }`, { title: "ok", description: bad }), "input.description");
    await refused(admin(`mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { token } }`, { name: bad }), "input.name");
    await refused(admin(`mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { token } }`, { externalId: bad }), "input.externalId");
    const update = (input: unknown) => () =>
      service.client.raw(`mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(webhookId: $id, input: $input) { id } }`, { id: webhookId, input });
    await refused(update({ url: `https://receiver.example/${bad}` }), "input.url");
    await refused(update({ eventNames: [type.name, bad] }), "input.eventNames[1]");
    await refused(update({ auth: { token: `Bearer ${bad}` } }), "input.auth.token");
  });

  it.each(odd)("%s in a customer's query arguments", async (_what, bad) => {
    await refused(() => customer.client.raw(`query($n: [String!]) { events(eventNames: $n) { edges { cursor } } }`, { n: ["ok", bad] }), "eventNames[1]");
    await refused(() => customer.client.raw(`query($s: ID) { webhooks(serviceId: $s) { totalCount } }`, { s: bad }), "serviceId");
  });
});

describe("dates outside the years 1 to 9999", () => {
  it.each([
    ["year 0", "0000-01-01T00:00:00Z"],
    ["a negative year", "-000001-01-01T00:00:00Z"],
    ["year 275760", "+275760-09-13T00:00:00Z"],
  ])("%s in events(since), events(until) and replayWebhook(since)", async (_what, date) => {
    await refused(() => customer.client.raw(`query($d: DateTime) { events(since: $d) { edges { cursor } } }`, { d: date }), "since", /years 1 to 9999/);
    await refused(() => customer.client.raw(`query($d: DateTime) { events(until: $d) { edges { cursor } } }`, { d: date }), "until");
    await refused(
      () => service.client.raw(`mutation($id: ID!, $d: DateTime!) { replayWebhook(webhookId: $id, since: $d) { queued } }`, { id: webhookId, d: date }),
      "since",
    );
  });

  it("the first and last accepted years work", async () => {
    for (const d of ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"]) {
      const result = await customer.client.raw(`query($d: DateTime) { events(since: $d) { edges { cursor } } }`, { d });
      expect(result.errors, JSON.stringify(result)).toBeUndefined();
    }
  });
});

describe(`JSON nesting: one limit (${LIMIT} levels) for every JSON input`, () => {
  // Written as text: JSON.stringify itself would overflow the test's stack at this depth.
  const deepText = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
  const postDeep = (query: string, input: string) => async (): Promise<GraphQLResponse<unknown>> => {
    const body = `{"query": ${JSON.stringify(query)}, "variables": {"input": ${input}}}`;
    const response = await postText(t.gateway.url!, body, { authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}` });
    return { status: response.status, ...(response.json as object) };
  };

  it("5,000 levels in a payload or sampleData -> BAD_USER_INPUT", async () => {
    await refused(
      postDeep(PUBLISH, `{"eventName": ${JSON.stringify(type.name)}, "payload": ${deepText(5000)}}`),
      "input.payload",
      new RegExp(`deeper than ${LIMIT} levels`),
    );
    await refused(
      postDeep(`mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { id } }`, `{"name": "DEEP", "sampleData": ${deepText(5000)}}`),
      "input.sampleData",
    );
  });

  it(`${LIMIT} levels are stored as sent; ${LIMIT + 1} are refused`, async () => {
    const deepest = nested(LIMIT);
    const stored = await t.admin.raw(`mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { payload } } }`, {
      input: { eventName: type.name, payload: deepest },
    });
    expect(stored.errors, JSON.stringify(stored.errors)).toBeUndefined();
    expect((stored.data as { publishEvent: { event: { payload: unknown } } }).publishEvent.event.payload).toEqual(deepest);
    await refused(publish({ payload: nested(LIMIT + 1) }), "input.payload");
  });

  it("a __proto__ key is refused at any depth, also below 256 levels", async () => {
    for (const depth of [0, 3, 40, 300, 1000]) {
      const payload = JSON.parse(`${'{"a":'.repeat(depth)}{"__proto__":{"polluted":true}}${"}".repeat(depth)}`) as unknown;
      await refused(publish({ payload }), "input.payload", depth >= LIMIT ? /deeper than/ : /__proto__/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("the clients", () => {
  it("a customer token reaches these checks, and the gateway keeps answering", async () => {
    const client: GraphQLClient = customer.client;
    expect((await client.raw("{ me { kind } }")).data).toEqual({ me: { kind: "CUSTOMER" } });
  });
});
