// Hostile input through the public API: malformed and oversized requests, payloads of the wrong
// shape, header injection, URLs with credentials or odd schemes, private targets, ids of another
// tenant, and every mutation called with a token of the wrong kind. Every case must be refused
// with its documented code, write nothing (every table compared row by row before and after),
// and leave the gateway answering.
//
// API only (no dispatcher) and SSRF protection on; DNS is a fixed table, so no lookup leaves the
// machine and nothing is ever sent anywhere.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { GraphQLFormattedError } from "graphql";
import type { GraphQLClient, GraphQLResponse } from "../support/client.js";
import { createCustomer, createEventType, createService, createWebhook, register } from "../support/fixtures.js";
import { startTestGateway, tableResolver, type TestGateway } from "../support/gateway.js";
import { postText, rawPost } from "../support/http.js";

type Service = Awaited<ReturnType<typeof createService>>;
type Customer = Awaited<ReturnType<typeof createCustomer>>;

const BODY_LIMIT = 300_000;
const DNS = {
  "public.example": ["93.184.216.34"],
  "internal.example": ["10.0.0.7"],
  "metadata.example": ["169.254.169.254"],
  "mixed.example": ["93.184.216.34", "192.168.1.1"],
  "ula.example": ["fd00::1"],
  "cgnat.example": ["100.64.0.9"],
};

let t: TestGateway;
let serviceA: Service;
let serviceB: Service;
let c1: Customer;
let c2: Customer;
let typeA: { id: string; name: string };
let webhookA: string;
let webhookB: string;
let deliveryA: string;
let deliveryB: string;

beforeAll(async () => {
  t = await startTestGateway({
    env: { HOOKGATE_ROLE: "api", HOOKGATE_ALLOW_PRIVATE_TARGETS: "false", HOOKGATE_MAX_BODY_BYTES: String(BODY_LIMIT) },
    resolver: tableResolver(DNS),
  });
  serviceA = await createService(t, "Hostile A");
  serviceB = await createService(t, "Hostile B");
  typeA = await createEventType(t, "HOSTILE_A");
  webhookA = (await createWebhook(serviceA.client, { eventIds: [typeA.id], url: "https://public.example/a", auth: { basic: { username: "u", password: "p" } } })).webhook.id;
  webhookB = (await createWebhook(serviceB.client, { eventIds: [typeA.id], url: "https://public.example/b" })).webhook.id;
  c1 = await createCustomer(t);
  c2 = await createCustomer(t);
  await register(c1.client, webhookA);
  await register(c2.client, webhookB);
  const published = await t.admin.raw(`mutation($name: String!) { publishEvent(input: { eventName: $name, payload: { n: 1 } }) { deliveryCount } }`, { name: typeA.name });
  expect(published.data).toEqual({ publishEvent: { deliveryCount: 2 } });
  const ids = await t.store.database.sql.query<{ id: string; webhook_id: number }>(`SELECT id::text, webhook_id FROM deliveries ORDER BY id`);
  deliveryA = ids.find((d) => String(d.webhook_id) === webhookA)!.id;
  deliveryB = ids.find((d) => String(d.webhook_id) === webhookB)!.id;
});
afterAll(async () => t?.close());

// The gateway answers after every case, whatever the case sent.
afterEach(async () => {
  expect((await t.admin.raw("{ me { kind } }")).data).toEqual({ me: { kind: "ADMIN" } });
});

/** Every table, row by row (as text, hashed): any write at all changes it. */
async function world(): Promise<Record<string, string>> {
  const sql = t.store.database.sql;
  const tables = await sql.query<{ name: string }>(
    `SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const out: Record<string, string> = {};
  for (const { name } of tables) {
    // A token's last-used time is bookkeeping of authentication, not a write by the call.
    const from = name === "api_tokens" ? `(SELECT id, service_id, customer_id, label, token_hash, created_at, revoked_at FROM api_tokens)` : `"${name}"`;
    const [row] = await sql.query<{ n: number; h: string }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h FROM ${from} t`,
    );
    out[name] = `${row!.n} rows, ${row!.h}`;
  }
  return out;
}

/** Runs the hostile call and checks that it wrote nothing. */
async function unchanged<T>(call: () => Promise<T>): Promise<T> {
  const before = await world();
  const result = await call();
  expect(await world()).toEqual(before);
  return result;
}

function refused(result: GraphQLResponse<unknown>, code: string, field?: string): GraphQLFormattedError {
  expect(result.errors?.length, JSON.stringify(result)).toBeGreaterThan(0);
  const error = result.errors![0]!;
  expect(result.errors!.map((e) => e.extensions?.code), JSON.stringify(result.errors)).toEqual(result.errors!.map(() => code));
  if (field !== undefined) expect(error.extensions?.field).toBe(field);
  // Nothing came back as data for a refused root field.
  const data = (result.data ?? {}) as Record<string, unknown>;
  for (const value of Object.values(data)) expect(value).toBeNull();
  return error;
}

const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { signingSecret } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(webhookId: $id, input: $input) { id } }`;
const create = (input: Record<string, unknown>, client: GraphQLClient = serviceA.client) =>
  client.raw(CREATE, { input: { eventIds: [typeA.id], url: "https://public.example/new", ...input } });
const update = (input: Record<string, unknown>) => serviceA.client.raw(UPDATE, { id: webhookA, input });

// ---------------------------------------------------------------------------------------------

describe("malformed GraphQL requests", () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    unchanged(() => postText(t.gateway.url!, body, { authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}`, ...headers }));
  const errorsOf = (json: unknown) => (json as { errors?: GraphQLFormattedError[] }).errors ?? [];

  it.each([
    ["not JSON at all", "this is not json"],
    ["truncated JSON", '{"query": "{ me { kind } }"'],
    ["an empty body", ""],
    ["a JSON array", '[{"query": "{ me { kind } }"}]'],
    ["a JSON string", '"{ me { kind } }"'],
    ["JSON null", "null"],
    ["no query", '{"variables": {}}'],
    ["query not a string", '{"query": 42}'],
    ["query an object", '{"query": {"kind": "Document"}}'],
    ["variables not an object", '{"query": "{ me { kind } }", "variables": "x"}'],
    ["variables a list", '{"query": "{ me { kind } }", "variables": [1]}'],
    ["extensions not an object", '{"query": "{ me { kind } }", "extensions": 5}'],
  ])("%s -> BAD_REQUEST (HTTP 400)", async (what, body) => {
    const response = await post(body);
    // yoga answers a request with no query at all with 200, as GraphQL over HTTP allows.
    expect(response.status).toBe(what === "no query" ? 200 : 400);
    expect(errorsOf(response.json).map((e) => e.extensions?.code)).toEqual(["BAD_REQUEST"]);
  });

  it.each([
    ["an unclosed selection", "mutation { createWebhookService(input: { title: \"x\" }) { token }"],
    ["a stray character", "{ me { kind } } }"],
    ["an unterminated string", '{ webhooks(serviceId: "1) { totalCount } }'],
    ["10,000 opening braces", "{".repeat(10_000)],
    ["a NUL byte", "{ me \u0000 { kind } }"],
  ])("%s -> GRAPHQL_PARSE_FAILED", async (_what, query) => {
    const response = await post(JSON.stringify({ query }));
    expect(errorsOf(response.json).map((e) => e.extensions?.code)).toEqual(["GRAPHQL_PARSE_FAILED"]);
    expect((response.json as { data?: unknown }).data ?? null).toBeNull();
  });

  it.each([
    ["an unknown field", "{ me { kind password } }"],
    ["an unknown mutation", 'mutation { dropDatabase(name: "x") }'],
    ["a variable of an unknown type", "query($x: Nope) { me { kind } }"],
    ["a fragment cycle", "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"],
  ])("%s -> GRAPHQL_VALIDATION_FAILED", async (_what, query) => {
    const response = await post(JSON.stringify({ query }));
    expect(errorsOf(response.json).length).toBeGreaterThan(0);
    for (const error of errorsOf(response.json)) expect(error.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it.each([
    ["an operationName that is not in the document", 'mutation A { createWebhookService(input: { title: "x" }) { token } }', "B"],
    ["an operationName that is not a string", 'mutation { createWebhookService(input: { title: "x" }) { token } }', 5],
    ["two anonymous operations", 'mutation { createWebhookService(input: { title: "x" }) { token } } { me { kind } }', undefined],
  ])("%s -> OPERATION_RESOLUTION_FAILURE (HTTP 400), nothing runs", async (_what, query, operationName) => {
    const response = await post(JSON.stringify({ query, operationName }));
    expect(response.status).toBe(400);
    expect(errorsOf(response.json).map((e) => e.extensions?.code)).toEqual(["OPERATION_RESOLUTION_FAILURE"]);
  });

  it("a mutation over GET -> HTTP 405, nothing runs", async () => {
    const query = encodeURIComponent('mutation { createWebhookService(input: { title: "via GET" }) { token } }');
    const response = await unchanged(() =>
      fetch(`${t.gateway.url!}?query=${query}`, { headers: { authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}`, accept: "application/json" } }),
    );
    expect(response.status).toBe(405);
    expect(errorsOf(await response.json()).map((e) => e.extensions?.code)).toEqual(["BAD_REQUEST"]);
  });

  it("a body over HOOKGATE_MAX_BODY_BYTES (a huge string variable) -> 413 PAYLOAD_TOO_LARGE", async () => {
    const body = JSON.stringify({
      query: `mutation($input: CreateWebhookServiceInput!) { createWebhookService(input: $input) { token } }`,
      variables: { input: { title: "x".repeat(BODY_LIMIT) } },
    });
    const response = await post(body);
    expect(response.status).toBe(413);
    expect(errorsOf(response.json).map((e) => e.extensions?.code)).toEqual(["PAYLOAD_TOO_LARGE"]);
  });

  it("a chunked body that never ends -> 413 PAYLOAD_TOO_LARGE once past the limit", async () => {
    // With a token: a request without one is refused (401) before its body is read.
    const headers = { authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}` };
    const response = await unchanged(() => rawPost(t.gateway.url!, { bytes: 20 * BODY_LIMIT, headers }));
    expect(response.status).toBe(413);
    expect(errorsOf(JSON.parse(response.body)).map((e) => e.extensions?.code)).toEqual(["PAYLOAD_TOO_LARGE"]);
  });
});

describe("payloads and variables of the wrong type", () => {
  const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { deliveryCount } }`;
  const publish = (input: unknown) => unchanged(() => t.admin.raw(PUBLISH, { input }));

  it.each([
    ["input a string", "publish me"],
    ["input a list", [{ eventName: "HOSTILE_A", payload: {} }]],
    ["input null", null],
    ["payload null", { eventName: "HOSTILE_A", payload: null }],
    ["a payload with a __proto__ key (the store would drop it)", JSON.parse('{"eventName": "HOSTILE_A", "payload": {"a": [{"__proto__": {"polluted": true}}]}}')],
    ["eventName a number", { eventName: 5, payload: {} }],
    ["eventName an object", { eventName: { $ne: null }, payload: {} }],
    ["payload missing", { eventName: "HOSTILE_A" }],
    ["customerId an object", { eventName: "HOSTILE_A", customerId: { id: 1 }, payload: {} }],
    ["customerId a boolean", { eventName: "HOSTILE_A", customerId: true, payload: {} }],
    ["an unknown input field", { eventName: "HOSTILE_A", payload: {}, webhookId: "1" }],
  ])("%s -> BAD_USER_INPUT before anything runs", async (_what, input) => {
    refused(await publish(input), "BAD_USER_INPUT");
  });

  it.each([
    ["customerId not an id", { eventName: "HOSTILE_A", customerId: "1 OR 1=1", payload: {} }, "input.customerId"],
    ["eventTypeId a SQL fragment", { eventTypeId: "1; DROP TABLE events", payload: {} }, "input.eventTypeId"],
  ])("%s -> BAD_USER_INPUT on %s", async (_what, input, field) => {
    refused(await publish(input), "BAD_USER_INPUT", field);
  });

  it("an event type name that is a SQL fragment -> NOT_FOUND, the tables intact", async () => {
    refused(await publish({ eventName: "x' OR '1'='1", payload: {} }), "NOT_FOUND");
  });

  it("publishEvents with events not a list of objects -> BAD_USER_INPUT", async () => {
    const result = await unchanged(() =>
      t.admin.raw(`mutation($input: PublishEventsInput!) { publishEvents(input: $input) { results { deliveryCount } } }`, { input: { events: [1, "two"] } }),
    );
    refused(result, "BAD_USER_INPUT");
  });

  // In the document itself it is refused in validation, as every bad literal is.
  it("a literal payload with a __proto__ key -> GRAPHQL_VALIDATION_FAILED", async () => {
    const result = await unchanged(() =>
      t.admin.raw(`mutation($name: String!) { publishEvent(input: { eventName: $name, payload: { __proto__: { polluted: true } } }) { deliveryCount } }`, { name: typeA.name }),
    );
    expect(refused(result, "GRAPHQL_VALIDATION_FAILED").message).toContain('"__proto__"');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("constructor and prototype keys are ordinary data: stored as sent, nothing polluted", async () => {
    const payload = { constructor: { prototype: { polluted: true } }, prototype: 1 };
    const result = await t.admin.raw(`mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { payload } } }`, {
      input: { eventName: typeA.name, payload },
    });
    expect(result.errors).toBeUndefined();
    expect((result.data as { publishEvent: { event: { payload: unknown } } }).publishEvent.event.payload).toEqual(payload);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("header injection in requestHeaders and auth", () => {
  it.each([
    ["CR LF in a value", [{ name: "X-A", value: "ok\r\nX-Injected: 1" }], "input.requestHeaders[0].value"],
    ["a bare LF in a value", [{ name: "X-A", value: "ok\nX-Injected: 1" }], "input.requestHeaders[0].value"],
    ["a bare CR in a value", [{ name: "X-A", value: "ok\rX-Injected: 1" }], "input.requestHeaders[0].value"],
    ["a NUL in a value", [{ name: "X-A", value: "ok\u0000" }], "input.requestHeaders[0].value"],
    ["CR LF in a name", [{ name: "X-A\r\nX-Injected", value: "1" }], "input.requestHeaders[0].name"],
    ["a colon in a name", [{ name: "X-A: 1\r\nX-B", value: "1" }], "input.requestHeaders[0].name"],
    ["a space in a name", [{ name: "X A", value: "1" }], "input.requestHeaders[0].name"],
    ["an empty name", [{ name: "", value: "1" }], "input.requestHeaders[0].name"],
    ["Host", [{ name: "Host", value: "internal.example" }], "input.requestHeaders[0].name"],
    ["Transfer-Encoding", [{ name: "transfer-encoding", value: "chunked" }], "input.requestHeaders[0].name"],
    ["a second header bad after a good one", [{ name: "X-Ok", value: "1" }, { name: "X-B", value: "\r\n" }], "input.requestHeaders[1].value"],
  ])("%s -> BAD_USER_INPUT on create and on update", async (_what, requestHeaders, field) => {
    refused(await unchanged(() => create({ requestHeaders })), "BAD_USER_INPUT", field);
    refused(await unchanged(() => update({ requestHeaders })), "BAD_USER_INPUT", field);
  });

  it.each([
    ["CR LF in a Basic username", { basic: { username: "u\r\nX-Injected: 1", password: "p" } }, "input.auth.basic.username"],
    ["CR LF in a Basic password", { basic: { username: "u", password: "p\r\nX-Injected: 1" } }, "input.auth.basic.password"],
    ["CR LF in an auth token", { token: "abc\r\nX-Injected: 1" }, "input.auth.token"],
  ])("%s -> BAD_USER_INPUT on create and on update", async (_what, auth, field) => {
    refused(await unchanged(() => create({ auth })), "BAD_USER_INPUT", field);
    refused(await unchanged(() => update({ auth })), "BAD_USER_INPUT", field);
  });
});

describe("webhook URLs", () => {
  it.each([
    ["user and password", "https://user:pass@public.example/hook"],
    ["a user only", "https://user@public.example/hook"],
    ["an encoded password", "https://user:p%40ss@public.example/hook"],
    ["ftp:", "ftp://public.example/file"],
    ["file:", "file:///etc/passwd"],
    ["javascript:", "javascript:alert(1)"],
    ["gopher:", "gopher://public.example:70/_GET"],
    ["data:", "data:text/plain,hello"],
    ["ws:", "ws://public.example/socket"],
    ["a relative URL", "/hook"],
    ["no scheme", "public.example/hook"],
    ["a broken IPv6 literal", "http://[::1/hook"],
    ["a #fragment", "https://public.example/hook#x"],
    ["an empty string", ""],
    ["over 2048 characters", `https://public.example/${"a".repeat(2100)}`],
  ])("%s -> BAD_USER_INPUT on input.url, on create and on update", async (_what, url) => {
    const created = refused(await unchanged(() => create({ url })), "BAD_USER_INPUT", "input.url");
    refused(await unchanged(() => update({ url })), "BAD_USER_INPUT", "input.url");
    // A refused URL's credentials are not echoed back.
    expect(created.message).not.toContain("pass");
  });

  it.each([
    ["127.0.0.1", "http://127.0.0.1/hook"],
    ["localhost", "http://localhost:8080/hook"],
    ["::1", "http://[::1]/hook"],
    ["10/8", "http://10.1.2.3/hook"],
    ["192.168/16", "https://192.168.0.10/hook"],
    ["cloud metadata", "http://169.254.169.254/latest/meta-data/"],
    ["0.0.0.0", "http://0.0.0.0/hook"],
    ["127.0.0.1 as one decimal number", "http://2130706433/hook"],
    ["127.0.0.1 in hex", "http://0x7f000001/hook"],
    ["127.0.0.1 abbreviated", "http://127.1/hook"],
    ["an IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]/hook"],
    ["CGNAT", "http://100.64.0.1/hook"],
    ["multicast", "http://224.0.0.1/hook"],
    ["a name resolving to 10/8", "https://internal.example/hook"],
    ["a name resolving to the metadata address", "http://metadata.example/"],
    ["a name with one public and one private address", "https://mixed.example/hook"],
    ["a name resolving to a unique-local IPv6", "https://ula.example/hook"],
    ["a name resolving to CGNAT", "https://cgnat.example/hook"],
  ])("a private target (%s) with HOOKGATE_ALLOW_PRIVATE_TARGETS=false -> BAD_USER_INPUT on input.url", async (_what, url) => {
    const error = refused(await unchanged(() => create({ url })), "BAD_USER_INPUT", "input.url");
    expect(error.message).toContain("private targets are not allowed");
    refused(await unchanged(() => update({ url })), "BAD_USER_INPUT", "input.url");
  });

  it("a public name is accepted (the refusals above are about the address)", async () => {
    const result = await update({ url: "https://public.example/moved" });
    expect(result.errors).toBeUndefined();
  });
});

describe("ids of another tenant", () => {
  // Service A's token naming service B's webhook, delivery, service and customer.
  const crossTenant: [string, string, () => Record<string, unknown>][] = [
    ["updateWebhook", `mutation($id: ID!) { updateWebhook(webhookId: $id, input: { url: "https://public.example/stolen" }) { id } }`, () => ({ id: webhookB })],
    ["deleteWebhook", `mutation($id: ID!) { deleteWebhook(webhookId: $id) { deletedWebhookId } }`, () => ({ id: webhookB })],
    ["rotateWebhookSecret", `mutation($id: ID!) { rotateWebhookSecret(webhookId: $id) { signingSecret } }`, () => ({ id: webhookB })],
    ["replayWebhook", `mutation($id: ID!) { replayWebhook(webhookId: $id, since: "2000-01-01T00:00:00Z") { queued } }`, () => ({ id: webhookB })],
    ["sendTestEvent", `mutation($id: ID!) { sendTestEvent(webhookId: $id) { id } }`, () => ({ id: webhookB })],
    ["retryDelivery", `mutation($id: ID!) { retryDelivery(deliveryId: $id) { id } }`, () => ({ id: deliveryB })],
    [
      "unregisterWebhook",
      `mutation($w: ID!, $c: ID!) { unregisterWebhook(input: { webhookId: $w, customerId: $c }) { webhookId } }`,
      () => ({ w: webhookB, c: c2.id }),
    ],
    [
      "createWebhook for B",
      `mutation($s: ID!, $e: ID!) { createWebhook(input: { serviceId: $s, eventIds: [$e], url: "https://public.example/x" }) { signingSecret } }`,
      () => ({ s: serviceB.id, e: typeA.id }),
    ],
    ["webhookCustomers", `query($id: ID!) { webhookCustomers(webhookId: $id) { totalCount data { id } } }`, () => ({ id: webhookB })],
    ["webhookLogs", `query($id: ID!) { webhookLogs(webhookId: $id) { edges { node { id } } } }`, () => ({ id: webhookB })],
    ["webhooks of B", `query($id: ID!) { webhooks(serviceId: $id) { totalCount } }`, () => ({ id: serviceB.id })],
  ];

  it.each(crossTenant)("service A: %s naming B's ids -> FORBIDDEN, nothing written", async (_name, query, variables) => {
    const error = refused(await unchanged(() => serviceA.client.raw(query, variables())), "FORBIDDEN");
    expect(error.message).toContain("service token");
  });

  it.each([
    ["a webhook id nobody has", `mutation($id: ID!) { deleteWebhook(webhookId: $id) { deletedWebhookId } }`, { id: "999999" }],
    ["a delivery id nobody has", `mutation($id: ID!) { retryDelivery(deliveryId: $id) { id } }`, { id: "999999" }],
  ])("service A naming %s -> the same FORBIDDEN (no way to tell others' ids from missing ones)", async (_what, query, variables) => {
    refused(await unchanged(() => serviceA.client.raw(query, variables)), "FORBIDDEN");
  });

  it("customer 1 removing customer 2 from B's webhook -> FORBIDDEN", async () => {
    const query = `mutation($w: ID!, $c: ID!) { unregisterWebhook(input: { webhookId: $w, customerId: $c }) { webhookId } }`;
    refused(await unchanged(() => c1.client.raw(query, { w: webhookB, c: c2.id })), "FORBIDDEN");
  });

  it("service A reading events about customer 2 (routed to B only) sees none", async () => {
    const result = await serviceA.client.raw(`query($c: ID!) { events(customerId: $c) { edges { node { id } } } }`, { c: c2.id });
    expect(result).toMatchObject({ data: { events: { edges: [] } } });
  });

  it("customer 1 reading the owner-only headers of the webhook it is registered on -> FORBIDDEN", async () => {
    const result = await unchanged(() => c1.client.raw(`{ registeredWebhooks { data { id requestHeaders { value } } } }`));
    // The field is nullable (null also when the headers do not open): the webhook stays, the headers do not.
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    const data = result.data as { registeredWebhooks: { data: { id: string; requestHeaders: unknown }[] } };
    expect(data.registeredWebhooks.data.length).toBeGreaterThan(0);
    for (const webhook of data.registeredWebhooks.data) expect(webhook.requestHeaders).toBeNull();
  });
});

describe("every mutation with a token of the wrong kind", () => {
  interface TypeRef {
    kind: string;
    name: string | null;
    ofType: TypeRef | null;
  }
  interface Field {
    name: string;
    args: { name: string; type: TypeRef }[];
    type: TypeRef;
  }
  interface InputType {
    name: string;
    kind: string;
    inputFields: { name: string; type: TypeRef }[] | null;
    enumValues: { name: string }[] | null;
  }
  const TYPE = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

  /**
   * Who may call each mutation with the arguments built below (ids of service A, its webhook and
   * delivery, customer 1). A mutation missing here is taken to be admin-only, so a new one is
   * covered (strictly) the day it is added.
   */
  const allowed: Record<string, string[]> = {
    createWebhookService: ["admin"],
    createEventType: ["admin"],
    createCustomer: ["admin"],
    publishEvent: ["admin"],
    publishEvents: ["admin"],
    createWebhook: ["admin", "serviceA"],
    updateWebhook: ["admin", "serviceA"],
    deleteWebhook: ["admin", "serviceA"],
    rotateWebhookSecret: ["admin", "serviceA"],
    replayWebhook: ["admin", "serviceA"],
    sendTestEvent: ["admin", "serviceA"],
    retryDelivery: ["admin", "serviceA"],
    registerWebhook: ["customer1", "customer2"],
    unregisterWebhook: ["admin", "serviceA", "customer1"],
    // tokenId 1 is service A's first token (created first); createApiToken names both a service
    // and a customer, which only the admin may.
    revokeApiToken: ["admin", "serviceA"],
    // The admin, or service A for itself or a customer registered on its webhooks; service B for A is FORBIDDEN.
    createPortalSession: ["admin", "serviceA"],
    // The pull queue of webhook A (a PUSH webhook: its owner gets BAD_USER_INPUT, others FORBIDDEN).
    receiveNotifications: ["admin", "serviceA"],
    acknowledgeNotifications: ["admin", "serviceA"],
  };

  let mutations: Field[] = [];
  let inputTypes = new Map<string, InputType>();
  beforeAll(async () => {
    const result = await t.admin.raw(`{
      __schema {
        mutationType { fields { name args { name type { ${TYPE} } } type { ${TYPE} } } }
        types { name kind inputFields { name type { ${TYPE} } } enumValues { name } }
      }
    }`);
    const schema = (result.data as { __schema: { mutationType: { fields: Field[] }; types: InputType[] } }).__schema;
    mutations = schema.mutationType.fields;
    inputTypes = new Map(schema.types.map((type) => [type.name, type]));
  });

  const named = (type: TypeRef): TypeRef => (type.ofType ? named(type.ofType) : type);
  const isList = (type: TypeRef): boolean => type.kind === "LIST" || (type.kind === "NON_NULL" && isList(type.ofType!));

  /** A plausible value: known ids by argument name, else any value of the type. */
  function valueFor(name: string, type: TypeRef): unknown {
    const ids: Record<string, string> = {
      webhookId: webhookA,
      deliveryId: deliveryA,
      customerId: c1.id,
      serviceId: serviceA.id,
      eventIds: typeA.id,
      eventTypeId: typeA.id,
    };
    const base = named(type);
    let value: unknown;
    if (name in ids) value = ids[name];
    else if (base.kind === "INPUT_OBJECT") value = inputFor(base.name!);
    else if (base.kind === "ENUM") value = inputTypes.get(base.name!)!.enumValues![0]!.name;
    else {
      const scalars: Record<string, unknown> = {
        ID: "1",
        String: name === "url" ? "https://public.example/any" : name === "eventName" ? typeA.name : "any",
        Int: 1,
        Float: 1,
        Boolean: false,
        DateTime: "2000-01-01T00:00:00Z",
        JSON: { any: true },
      };
      value = scalars[base.name!] ?? "any";
    }
    return isList(type) ? [value] : value;
  }

  function inputFor(typeName: string): Record<string, unknown> {
    const fields = inputTypes.get(typeName)!.inputFields!;
    const wanted = fields.filter((f) => f.type.kind === "NON_NULL" || ["serviceId", "eventIds", "customerId", "webhookId"].includes(f.name));
    return Object.fromEntries(wanted.map((f) => [f.name, valueFor(f.name, f.type)]));
  }

  function documentFor(field: Field): { query: string; variables: Record<string, unknown> } {
    const args = field.args.filter((a) => a.type.kind === "NON_NULL");
    const typeName = (type: TypeRef): string =>
      type.kind === "NON_NULL" ? `${typeName(type.ofType!)}!` : type.kind === "LIST" ? `[${typeName(type.ofType!)}]` : type.name!;
    const params = args.map((a) => `$${a.name}: ${typeName(a.type)}`).join(", ");
    const call = args.map((a) => `${a.name}: $${a.name}`).join(", ");
    const selection = ["OBJECT", "INTERFACE", "UNION"].includes(named(field.type).kind) ? "{ __typename }" : "";
    return {
      query: `mutation${params ? `(${params})` : ""} { ${field.name}${call ? `(${call})` : ""} ${selection} }`,
      variables: Object.fromEntries(args.map((a) => [a.name, valueFor(a.name, a.type)])),
    };
  }

  const principals = (): Record<string, GraphQLClient> => ({
    admin: t.admin,
    serviceA: serviceA.client,
    serviceB: serviceB.client,
    customer1: c1.client,
    customer2: c2.client,
  });

  it("covers every Mutation field of the schema, each with a document the schema accepts", () => {
    expect(mutations.length).toBeGreaterThanOrEqual(Object.keys(allowed).length);
    for (const field of mutations) expect(documentFor(field).query).toContain(field.name);
  });

  it("each wrong kind (and another tenant of the right kind) -> FORBIDDEN, nothing written", async () => {
    const checked: string[] = [];
    for (const field of mutations) {
      const { query, variables } = documentFor(field);
      const may = allowed[field.name] ?? ["admin"];
      for (const [who, client] of Object.entries(principals())) {
        if (may.includes(who)) continue;
        const result = await unchanged(() => client.raw(query, variables));
        const error = result.errors?.[0];
        expect(error?.extensions?.code, `${field.name} as ${who}: ${JSON.stringify(result)}`).toBe("FORBIDDEN");
        expect(error?.path, `${field.name} as ${who}`).toEqual([field.name]);
        checked.push(`${field.name}/${who}`);
      }
    }
    // At least every admin-only mutation was tried with four other tokens.
    expect(checked.length).toBeGreaterThanOrEqual(mutations.length * 2);
  });

  it("without a token -> UNAUTHENTICATED (HTTP 401); with a forged one -> UNAUTHENTICATED; nothing written", async () => {
    for (const field of mutations) {
      const { query, variables } = documentFor(field);
      for (const client of [t.as(), t.as("hg_admin_forged-token-that-looks-real-000000000"), t.as(`${serviceA.token}x`)]) {
        const result = await unchanged(() => client.raw(query, variables));
        expect(result.errors?.map((e) => e.extensions?.code), `${field.name}: ${JSON.stringify(result)}`).toEqual(["UNAUTHENTICATED"]);
        expect(result.status).toBe(401);
      }
    }
  });
});
