// Production surface of one gateway, over HTTP as operators and clients meet it: /metrics,
// the request body limit, request ids in responses and logs, secrets kept out of the logs,
// the introspection switch and per-token rate limits (in memory; Redis in rate-limits-redis).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { capturingLogger, postText, rawPost, sample } from "../support/http.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

const origin = (t: TestGateway) => new URL(t.gateway.url!).origin;
const scrape = async (t: TestGateway, headers: Record<string, string> = {}) => {
  const response = await fetch(`${origin(t)}/metrics`, { headers });
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
};
// Requests without a valid token are answered 401 before their body is read (authenticate.ts).
const admin = (t: TestGateway) => ({ authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}` });
const eventCount = async (t: TestGateway) => {
  const [row] = await t.store.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM events`);
  return row!.n;
};
const publishBatch = (t: TestGateway, name: string, n: number, client = t.admin) =>
  client.raw(`mutation($input: PublishEventsInput!) { publishEvents(input: $input) { results { deliveryCount } } }`, {
    input: { events: Array.from({ length: n }, (_, i) => ({ eventName: name, payload: { i } })) },
  });

describe("GET /metrics", () => {
  let t: TestGateway;
  let queue: TestGateway;
  let receiver: Receiver;
  const clock = new ManualClock(new Date("2026-11-23T08:00:00Z"));

  beforeAll(async () => {
    receiver = await startReceiver((r) => (r.path === "/fail" ? { status: 500 } : { status: 200 }));
    t = await startTestGateway({ env: {}, random: () => 0.5 });
    // No dispatcher: what is published stays queued, and the clock says how long.
    queue = await startTestGateway({ env: { HOOKGATE_ROLE: "api", HOOKGATE_METRICS: "admin" }, clock });
  });
  afterAll(async () => {
    await t?.close();
    await queue?.close();
    await receiver?.close();
  });

  it("serves Prometheus text with every Hookgate metric, each gateway its own registry", async () => {
    const { status, type, text } = await scrape(t);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      "hookgate_events_published_total",
      "hookgate_delivery_attempts_total",
      "hookgate_delivery_attempt_errors_total",
      "hookgate_delivery_attempt_duration_seconds",
      "hookgate_webhooks_disabled_total",
      "hookgate_queue_depth",
      "hookgate_queue_due",
      "hookgate_queue_oldest_pending_age_seconds",
      "hookgate_database_up",
      "hookgate_live_subscriptions",
      "hookgate_websocket_connections",
      "hookgate_rate_limited_total",
      "hookgate_http_responses_total",
      "hookgate_process_resident_memory_bytes",
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(sample(text, "hookgate_database_up")).toBe(1);
    // No REDIS_URL: no Redis series at all, rather than a misleading 0.
    expect(sample(text, "hookgate_redis_up")).toBeUndefined();
    expect(t.gateway.services.metrics.registry).not.toBe(queue.gateway.services.metrics.registry);
  });

  it("counts published events and recorded attempts by outcome, with their latency", async () => {
    const type = await createEventType(t);
    const service = await createService(t);
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/ok") });
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/fail") });
    expect((await publishBatch(t, type.name, 3)).errors).toBeUndefined();
    const text = await eventually(async () => {
      const { text } = await scrape(t);
      const done = sample(text, "hookgate_delivery_attempts_total", { outcome: "succeeded" }) === 3 &&
        sample(text, "hookgate_delivery_attempts_total", { outcome: "retrying" }) === 3;
      return done && text;
    });
    expect(sample(text, "hookgate_events_published_total")).toBe(3);
    expect(sample(text, "hookgate_delivery_attempt_errors_total", { error_class: "HTTP_STATUS" })).toBe(3);
    expect(sample(text, "hookgate_delivery_attempt_duration_seconds_count", { outcome: "succeeded" })).toBe(3);
    expect(sample(text, "hookgate_delivery_attempt_duration_seconds_bucket", { outcome: "succeeded", le: "+Inf" })).toBe(3);
    // The three failed ones wait for their retry (about 5 s away): queued, not due.
    expect(sample(text, "hookgate_queue_depth")).toBe(3);
    // The other gateway's registry saw none of it.
    const other = await scrape(queue, { authorization: `Bearer ${queue.config.HOOKGATE_ADMIN_TOKEN}` });
    expect(sample(other.text, "hookgate_events_published_total")).toBe(0);
  });

  it("reads queue depth and the oldest due delivery's age from the store at scrape time", async () => {
    const admin = { authorization: `Bearer ${queue.config.HOOKGATE_ADMIN_TOKEN}` };
    const type = await createEventType(queue);
    const service = await createService(queue);
    await createWebhook(service.client, { eventIds: [type.id], url: "https://receiver.example/a" });
    await createWebhook(service.client, { eventIds: [type.id], url: "https://receiver.example/b" });
    expect((await publishBatch(queue, type.name, 2)).errors).toBeUndefined();
    clock.advance(90_000);
    const { text } = await scrape(queue, admin);
    expect(sample(text, "hookgate_queue_depth")).toBe(4);
    expect(sample(text, "hookgate_queue_due")).toBe(4);
    expect(sample(text, "hookgate_queue_oldest_pending_age_seconds")).toBe(90);
  });

  it("exposes the live-subscription gauges for the websocket server to feed", async () => {
    t.gateway.services.metrics.liveSubscriptions.inc(2);
    t.gateway.services.metrics.websocketConnections.inc();
    const { text } = await scrape(t);
    expect(sample(text, "hookgate_live_subscriptions")).toBe(2);
    expect(sample(text, "hookgate_websocket_connections")).toBe(1);
    t.gateway.services.metrics.liveSubscriptions.dec(2);
    t.gateway.services.metrics.websocketConnections.dec();
  });

  it("HOOKGATE_METRICS=admin: only an admin token may scrape", async () => {
    expect((await scrape(queue)).status).toBe(401);
    const service = await createService(queue);
    expect((await scrape(queue, { authorization: `Bearer ${service.token}` })).status).toBe(401);
    expect((await scrape(queue, { authorization: `Bearer ${queue.config.HOOKGATE_ADMIN_TOKEN}` })).status).toBe(200);
  });

  it("HOOKGATE_METRICS=false: not served", async () => {
    const off = await startTestGateway({ HOOKGATE_ROLE: "api", HOOKGATE_METRICS: "false" });
    try {
      // Not served: with a token the path is unknown (404); without one it is refused first (401), as every path is.
      expect((await scrape(off, admin(off))).status).toBe(404);
      expect((await scrape(off)).status).toBe(401);
    } finally {
      await off.close();
    }
  });
});

describe("request body limit", () => {
  // The smallest limit the other settings allow: one 1 KiB payload plus 16 KiB.
  const LIMIT = 1024 + 16 * 1024;
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      HOOKGATE_ROLE: "api",
      HOOKGATE_MAX_PAYLOAD_BYTES: "1024",
      HOOKGATE_MAX_BATCH_SIZE: "10",
      HOOKGATE_MAX_BODY_BYTES: String(LIMIT),
    });
  });
  afterAll(async () => t?.close());

  const refused = (response: { status: number; headers: Record<string, unknown>; body: string }) => {
    expect(response.status).toBe(413);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    const body = JSON.parse(response.body) as { errors: { message: string; extensions: { code: string; maxBytes: number } }[] };
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.extensions).toEqual({ code: "PAYLOAD_TOO_LARGE", maxBytes: LIMIT });
    expect(body.errors[0]!.message).toContain("HOOKGATE_MAX_BODY_BYTES");
  };

  it("a body of exactly the limit is read and answered by GraphQL", async () => {
    const query = "{ me { kind } }";
    const padded = JSON.stringify({ query }).replace(/}$/, " ".repeat(LIMIT - JSON.stringify({ query }).length) + "}");
    expect(Buffer.byteLength(padded)).toBe(LIMIT);
    const response = await postText(t.gateway.url!, padded, { authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}` });
    expect(response.json).toEqual({ data: { me: { kind: "ADMIN" } } });
  });

  it("Content-Length over the limit -> 413 PAYLOAD_TOO_LARGE before the body is read; nothing written", async () => {
    const before = await eventCount(t);
    // Declares 10 MB but sends 64 KiB: the answer must come from the header alone.
    refused(await rawPost(t.gateway.url!, { bytes: 64 * 1024, contentLength: 10_000_000, headers: admin(t) }));
    expect(await eventCount(t)).toBe(before);
  });

  it("a chunked body (no Content-Length) that grows past the limit -> 413 while streaming", async () => {
    refused(await rawPost(t.gateway.url!, { bytes: 5_000_000, headers: admin(t) }));
  });

  it("a publish over the limit -> 413, nothing stored, and the gateway still answers", async () => {
    const type = await createEventType(t);
    const before = await eventCount(t);
    const events = Array.from({ length: 10 }, (_, i) => ({ eventName: type.name, payload: { text: "x".repeat(2000), i } }));
    const body = JSON.stringify({ query: `mutation($input: PublishEventsInput!) { publishEvents(input: $input) { results { duplicate } } }`, variables: { input: { events } } });
    expect(Buffer.byteLength(body)).toBeGreaterThan(LIMIT);
    const response = await postText(t.gateway.url!, body, { authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}` });
    refused(response);
    expect(await eventCount(t)).toBe(before);
    expect((await t.admin.raw("{ me { kind } }")).data).toEqual({ me: { kind: "ADMIN" } });
  });
});

describe("request ids and logs", () => {
  const log = capturingLogger("trace");
  let t: TestGateway;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 500 }));
    t = await startTestGateway({ env: { HOOKGATE_LOG_LEVEL: "trace" }, logger: log.logger });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  const me = (headers: Record<string, string> = {}) =>
    fetch(t.gateway.url!, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}`, ...headers },
      body: JSON.stringify({ query: "{ me { kind } }" }),
    });

  it("echoes a well-formed x-request-id and logs the request under it", async () => {
    const response = await me({ "x-request-id": "client-req.42:a_b" });
    expect(response.headers.get("x-request-id")).toBe("client-req.42:a_b");
    await response.text();
    const line = await eventually(() => log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === "client-req.42:a_b"));
    expect(line).toMatchObject({ msg: "request", method: "POST", path: "/graphql", status: 200 });
  });

  it.each([["with spaces in it"], ["x".repeat(129)], ["new\u00e9line"]])("replaces a malformed x-request-id (%s) with a new one", async (given) => {
    const response = await me({ "x-request-id": given });
    const id = response.headers.get("x-request-id");
    expect(id).not.toBe(given);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("gives a request without one a new id, different every time", async () => {
    const [a, b] = await Promise.all([me(), me()]);
    expect(a.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });

  it("logs each recorded attempt with its delivery id (debug level)", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    const { webhook } = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/attempt-log") });
    expect((await publishBatch(t, type.name, 1)).errors).toBeUndefined();
    const line = await eventually(() =>
      log.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === "delivery attempt recorded" && l.webhookId === Number(webhook.id)),
    );
    expect(line).toMatchObject({ deliveryId: expect.stringMatching(/^\d+$/), attempt: 1, status: "RETRYING", responseStatus: 500, errorClass: "HTTP_STATUS" });
  });

  it("never logs a token, a Basic password, an auth token or a signing secret, even at trace level", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    const password = "basic-pass-8d1f0c";
    const headerSecret = "header-secret-5e7a";
    const authToken = "bearer-token-3c9b";
    const basic = await service.client.raw(
      `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { signingSecret webhook { id } } }`,
      { input: { eventIds: [type.id], url: receiver.url("/basic"), auth: { basic: { username: "user", password } }, requestHeaders: [{ name: "X-Secret", value: headerSecret }] } },
    );
    const token = await service.client.raw(`mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { signingSecret } }`, {
      input: { eventIds: [type.id], url: receiver.url("/token"), auth: { token: authToken } },
    });
    const secrets = [
      t.config.HOOKGATE_ADMIN_TOKEN!,
      service.token,
      password,
      Buffer.from(`user:${password}`).toString("base64"),
      headerSecret,
      authToken,
      (basic.data as { createWebhook: { signingSecret: string } }).createWebhook.signingSecret.replace(/^whsec_/, ""),
      (token.data as { createWebhook: { signingSecret: string } }).createWebhook.signingSecret.replace(/^whsec_/, ""),
    ];
    // Deliveries that fail (the receiver answers 500): the dispatcher logs what it does with them.
    expect((await publishBatch(t, type.name, 2)).errors).toBeUndefined();
    await eventually(() => receiver.requests.length >= 4);
    // A refused token, a bad Authorization header, and a request that names a secret in its query string.
    await t.as("hg_svc_not-a-real-token-but-secret-looking").raw("{ me { kind } }");
    await fetch(`${t.gateway.url!}?query=${encodeURIComponent(`{ me { kind } }`)}&token=${service.token}`, {
      headers: { authorization: `Basic ${Buffer.from(`user:${password}`).toString("base64")}` },
    });
    await eventually(() => log.lines.some((l) => l.includes('"status":401')));
    const output = log.text();
    expect(output).toContain('"msg":"request"');
    for (const secret of [...secrets, "hg_svc_not-a-real-token-but-secret-looking"]) expect(output).not.toContain(secret);
  });
});

describe("HOOKGATE_INTROSPECTION=false", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ HOOKGATE_ROLE: "api", HOOKGATE_INTROSPECTION: "false", HOOKGATE_GRAPHIQL: "false" });
  });
  afterAll(async () => t?.close());

  it.each([
    ["__schema", "{ __schema { queryType { name } types { name fields { name } } } }"],
    ["__type", '{ __type(name: "Query") { fields { name } } }'],
    ["__schema inside a fragment", "query { ...F } fragment F on Query { __schema { types { name } } }"],
  ])("%s -> INTROSPECTION_DISABLED, for the admin too", async (_what, query) => {
    // (Without a token nothing is validated at all: 401, see test/server/abuse-limits.test.ts.)
    for (const client of [t.admin]) {
      const result = await client.raw(query);
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.map((e) => e.extensions?.code)).toEqual(["INTROSPECTION_DISABLED"]);
      expect(result.errors?.[0]?.message).toContain("HOOKGATE_INTROSPECTION=false");
    }
  });

  it("__typename and ordinary queries still work", async () => {
    expect((await t.admin.raw("{ __typename me { kind __typename } }")).data).toEqual({ __typename: "Query", me: { kind: "ADMIN", __typename: "Me" } });
  });
});

describe("rate limits (in memory, without Redis)", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      HOOKGATE_ROLE: "api",
      HOOKGATE_MAX_BATCH_SIZE: "5",
      HOOKGATE_RATE_LIMIT_PUBLISH: "8",
      HOOKGATE_RATE_LIMIT_MUTATIONS: "0",
    });
  });
  afterAll(async () => t?.close());

  it("counts published events, not calls: 5 + 1 pass, 3 more -> 429 RATE_LIMITED with Retry-After; nothing stored", async () => {
    const type = await createEventType(t);
    expect((await publishBatch(t, type.name, 5)).errors).toBeUndefined();
    const one = await t.admin.raw(`mutation($name: String!) { publishEvent(input: { eventName: $name, payload: 1 }) { deliveryCount } }`, { name: type.name });
    expect(one.errors).toBeUndefined();
    const before = await eventCount(t);
    const response = await fetch(t.gateway.url!, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}` },
      body: JSON.stringify({
        query: `mutation($input: PublishEventsInput!) { publishEvents(input: $input) { results { deliveryCount } } }`,
        variables: { input: { events: [1, 2, 3].map((i) => ({ eventName: type.name, payload: { i } })) } },
      }),
    });
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const body = (await response.json()) as { data: unknown; errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.data).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.extensions).toEqual({ code: "RATE_LIMITED", retryAfterSeconds: retryAfter });
    expect(body.errors[0]!.message).toContain("HOOKGATE_RATE_LIMIT_PUBLISH");
    expect(await eventCount(t)).toBe(before);
    const { text } = await scrape(t);
    expect(sample(text, "hookgate_rate_limited_total", { kind: "publish" })).toBe(1);
    // Reads are not limited.
    expect((await t.admin.raw("{ me { kind } }")).data).toEqual({ me: { kind: "ADMIN" } });
  });
});

describe("mutation rate limit per token", () => {
  let t: TestGateway;
  let service: Awaited<ReturnType<typeof createService>>;
  let typeId: string;
  beforeAll(async () => {
    t = await startTestGateway({ HOOKGATE_ROLE: "api", HOOKGATE_RATE_LIMIT_MUTATIONS: "3" });
    // Two of the admin's three mutations this minute.
    service = await createService(t);
    typeId = (await createEventType(t)).id;
  });
  afterAll(async () => t?.close());

  const count = async (table: string) => (await t.store.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;
  const createWebhook = (alias: string) => `${alias}: createWebhook(input: { eventIds: ["${typeId}"], url: "https://r.example/${alias}" }) { signingSecret }`;

  it("the admin's 3rd mutation passes, the 4th -> 429 RATE_LIMITED and is not run", async () => {
    expect((await t.admin.raw(`mutation { createWebhookService(input: { title: "third" }) { token } }`)).errors).toBeUndefined();
    const before = await count("services");
    const result = await t.admin.raw(`mutation { createWebhookService(input: { title: "fourth" }) { token } }`);
    expect(result.status).toBe(429);
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(["RATE_LIMITED"]);
    expect(result.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(result.errors?.[0]?.message).toContain("HOOKGATE_RATE_LIMIT_MUTATIONS");
    expect(await count("services")).toBe(before);
  });

  it("a service token has its own allowance; aliased mutations count one each, and none runs when over", async () => {
    expect((await service.client.raw(`mutation { ${createWebhook("one")} }`)).errors).toBeUndefined();
    const before = await count("webhooks");
    const result = await service.client.raw(`mutation { ${["a", "b", "c"].map(createWebhook).join(" ")} }`);
    expect(result.status).toBe(429);
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(["RATE_LIMITED"]);
    expect(await count("webhooks")).toBe(before);
  });
});
