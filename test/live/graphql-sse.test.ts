import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type Client } from "graphql-sse";
import { PublishEventDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, EVENT_PUBLISHED, waitForItems, type LiveEvent, type Received } from "../support/live.js";
import { eventually } from "../support/receiver.js";

/**
 * The GraphQL over SSE protocol with the real graphql-sse client: its default "single connection
 * mode" (PUT reserves a stream, GET opens it, POST subscribes on it) at /graphql/stream, with the
 * limits of the other transports, and its "distinct connections mode" on both paths.
 */
describe("graphql-sse", () => {
  let t: TestGateway;
  let type: { id: string; name: string };
  let streamUrl: string;
  const clients: Client[] = [];
  const client = (token: string | undefined, singleConnection = true, url = streamUrl) => {
    const c = createClient({
      url,
      singleConnection,
      retryAttempts: 0,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    clients.push(c);
    return c;
  };
  const publish = (payload: unknown) =>
    t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload } }).then((r) => r.publishEvent.event.id);
  /** A subscription that has started: it resumes after `after`, so the event published next cannot be missed. */
  const follow = async (c: Client, tag: string): Promise<Received<LiveEvent>> => {
    const after = await publish({ tag, at: "start" });
    const sub = collect<LiveEvent>(c, EVENT_PUBLISHED, { eventNames: [type.name], after });
    const id = await publish({ tag, at: "live" });
    expect((await waitForItems(sub, 1)).map((e) => e.id)).toContain(id);
    return sub;
  };

  beforeAll(async () => {
    t = await startTestGateway({ HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN: "2", HOOKGATE_MAX_QUERY_ALIASES: "3" });
    type = await createEventType(t);
    streamUrl = t.gateway.url!.replace(/\/graphql$/, "/graphql/stream");
  });
  afterAll(async () => {
    for (const c of clients) c.dispose();
    await t?.close();
  });

  it("single connection mode: a subscription receives the events published after it", async () => {
    const before = await publish({ n: 0 });
    const sub = collect<LiveEvent>(client(t.admin.token), EVENT_PUBLISHED, { eventNames: [type.name], after: before });
    const ids = [await publish({ n: 1 }), await publish({ n: 2 })];
    const items = await waitForItems(sub, 2);
    expect(items.map((e) => e.id)).toEqual(ids);
    expect(items[1]!.payload).toEqual({ n: 2 });
    sub.stop();
  });

  it("single connection mode: HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN refuses one more with RATE_LIMITED, and frees the slot when one ends", async () => {
    const service = await createService(t);
    await createWebhook(service.client, { eventIds: [type.id] });
    const c = client(service.token!);
    const admin = client(t.admin.token);
    const held = [await follow(admin, "a"), await follow(admin, "b")];
    const refused = collect<LiveEvent>(admin, EVENT_PUBLISHED, { eventNames: [type.name] });
    const errors = await eventually(() => refused.error as { message: string; extensions?: Record<string, unknown> }[], 10_000);
    expect(errors[0]!.extensions).toMatchObject({ code: "RATE_LIMITED", maxSubscriptions: 2 });
    expect(errors[0]!.message).toContain("HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN");
    // Another token is not affected (a service whose webhook takes the type sees its events).
    (await follow(c, "other")).stop();
    // Ending one (graphql-sse's DELETE) gives its slot back.
    held[0]!.stop();
    const again = collect<LiveEvent>(admin, EVENT_PUBLISHED, { eventNames: [type.name] });
    // Each publish is a chance for it to prove it is live.
    await eventually(async () => {
      await publish({ tag: "freed" });
      return again.items.length > 0 || again.error ? true : undefined;
    }, 10_000);
    expect(again.error).toBeUndefined();
    again.stop();
    held[1]!.stop();
  });

  it("single connection mode without a token: 401, before a stream is reserved", async () => {
    const sub = collect(client(undefined), "subscription { eventPublished { id } }");
    const error = await eventually(() => sub.error as Error & { response?: Response }, 10_000);
    expect(error.response?.status).toBe(401);
    const put = await fetch(streamUrl, { method: "PUT" });
    expect(put.status).toBe(401);
    expect(put.headers.get("www-authenticate")).toBe("Bearer");
    expect(((await put.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("UNAUTHENTICATED");
  });

  it("a reserved stream belongs to the token that reserved it", async () => {
    const service = await createService(t);
    const reserve = await fetch(streamUrl, { method: "PUT", headers: { authorization: `Bearer ${t.admin.token}` } });
    expect(reserve.status).toBe(201);
    const streamToken = await reserve.text();
    const open = (token: string) =>
      fetch(streamUrl, {
        headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", "x-graphql-event-stream-token": streamToken },
      });
    const stolen = await open(service.token!);
    expect(stolen.status).toBe(404);
    await stolen.body?.cancel();
    const own = await open(t.admin.token!);
    expect(own.status).toBe(200);
    expect(own.headers.get("content-type")).toMatch(/text\/event-stream/);
    await own.body?.cancel();
  });

  it.each([
    ["a syntax error", "subscription {", "GRAPHQL_PARSE_FAILED", /Syntax Error/],
    ["an unknown field", "subscription { nope }", "GRAPHQL_VALIDATION_FAILED", /nope/],
    ["a query limit", "subscription { eventPublished { a: id b: id c: id d: id } }", "GRAPHQL_VALIDATION_FAILED", /alias/i],
  ])("single connection mode: %s is HTTP 400 with the GraphQL error and its code; nothing runs", async (_what, query, code, message) => {
    const reserve = await fetch(streamUrl, { method: "PUT", headers: { authorization: `Bearer ${t.admin.token}` } });
    const headers = { authorization: `Bearer ${t.admin.token}`, "x-graphql-event-stream-token": await reserve.text() };
    const response = await fetch(streamUrl, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ query, extensions: { operationId: "1" } }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toEqual({ code });
    expect(body.errors[0]!.message).toMatch(message);
  });

  it.each([
    ["/graphql (yoga's own)", () => t.gateway.url!],
    ["/graphql/stream", () => streamUrl],
  ])("distinct connections mode on %s still works", async (_name, url) => {
    const before = await publish({ distinct: 0 });
    const sub = collect<LiveEvent>(client(t.admin.token, false, url()), EVENT_PUBLISHED, { eventNames: [type.name], after: before });
    const id = await publish({ distinct: 1 });
    expect((await waitForItems(sub, 1)).map((e) => e.id)).toEqual([id]);
    sub.stop();
  });
});

describe("graphql-sse stream reservations", () => {
  const CONNECTIONS = 10;
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      HOOKGATE_RATE_LIMIT_CONNECTIONS: String(CONNECTIONS),
      HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN: "1",
      HOOKGATE_SSE_RESERVATION_TIMEOUT_MS: "500",
    });
  });
  afterAll(async () => t?.close());
  let type: { id: string; name: string } | undefined;
  const eventType = async () => (type ??= await createEventType(t));

  const url = () => t.gateway.url!.replace(/\/graphql$/, "/graphql/stream");
  const reserve = () => fetch(url(), { method: "PUT", headers: { authorization: `Bearer ${t.admin.token}` } });

  it("one never opened is dropped after HOOKGATE_SSE_RESERVATION_TIMEOUT_MS, with its operations and their slots", async () => {
    const streamToken = await (await reserve()).text();
    const headers = { authorization: `Bearer ${t.admin.token}`, "x-graphql-event-stream-token": streamToken };
    const post = await fetch(url(), {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ query: "subscription { eventPublished { id } }", extensions: { operationId: "1" } }),
    });
    expect(post.status).toBe(202);
    // The stream is gone once the timeout passes: graphql-sse answers 404 for it (ending an
    // operation it does not hold asks only whether the stream exists).
    await eventually(async () => {
      const probe = await fetch(`${url()}?operationId=none`, { method: "DELETE", headers });
      await probe.body?.cancel();
      return probe.status === 404 ? true : undefined;
    }, 10_000);
    // Its subscription gives back the token's only slot (as the stream is disposed, just after).
    // Not lazy: one reservation for every try below.
    const c = createClient({ url: url(), singleConnection: true, lazy: false, retryAttempts: 0, headers: { authorization: `Bearer ${t.admin.token}` } });
    const { name } = await eventType();
    await eventually(async () => {
      const sub = collect(c, "subscription { eventPublished { id } }");
      const outcome = await eventually(async () => {
        await t.admin.ok(PublishEventDocument, { input: { eventName: name, payload: {} } });
        return sub.items.length > 0 ? "live" : sub.error ? "refused" : undefined;
      }, 5_000);
      sub.stop();
      return outcome === "live" ? true : undefined;
    }, 10_000);
    c.dispose();
  });

  it("count against HOOKGATE_RATE_LIMIT_CONNECTIONS: one past it is HTTP 429 RATE_LIMITED with Retry-After", async () => {
    const { token } = await createService(t);
    const reserve = () => fetch(url(), { method: "PUT", headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < CONNECTIONS; i++) expect((await reserve()).status).toBe(201);
    const refused = await reserve();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await refused.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe("RATE_LIMITED");
    expect(body.errors[0]!.message).toContain("HOOKGATE_RATE_LIMIT_CONNECTIONS");
  });
});
