import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import WebSocket from "ws";
import { PublishEventDocument, PublishEventsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, EVENT_PUBLISHED, waitForItems, wsClient, type LiveEvent } from "../support/live.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

describe("live transports and limits", () => {
  let t: TestGateway;
  let receiver: Receiver;
  const clients: Client[] = [];
  let type: { id: string; name: string };
  const client = (token = t.admin.token) => {
    const c = wsClient(t.gateway.url!, token);
    clients.push(c);
    return c;
  };
  const publish = (payload: unknown) =>
    t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload } }).then((r) => r.publishEvent.event.id);

  beforeAll(async () => {
    receiver = await startReceiver();
    t = await startTestGateway({ HOOKGATE_LIVE_BUFFER: "5", HOOKGATE_MAX_QUERY_ALIASES: "3" });
    type = await createEventType(t);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.close();
    await receiver?.close();
  });

  it("serves eventPublished over Server-Sent Events on the same path", async () => {
    const before = await publish({ sse: 0 });
    const response = await fetch(t.gateway.url!, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${t.admin.token}` },
      body: JSON.stringify({ query: EVENT_PUBLISHED, variables: { eventNames: [type.name], after: before } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const ids = [await publish({ sse: 1 }), await publish({ sse: 2 })];
    const reader = response.body!.getReader();
    const got: LiveEvent[] = [];
    let text = "";
    while (got.length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      let end: number;
      while ((end = text.indexOf("\n\n")) >= 0) {
        const frame = text.slice(0, end);
        text = text.slice(end + 2);
        const data = frame.split("\n").find((l) => l.startsWith("data:"));
        if (frame.startsWith("event: next") && data) got.push(JSON.parse(data.slice(5)).data.eventPublished);
      }
    }
    await reader.cancel();
    expect(got.map((e) => e.id)).toEqual(ids);
    expect(got[1]!.payload).toEqual({ sse: 2 });
  });

  it("also takes the token nested in connection_init's headers, as GraphiQL-style clients send it", async () => {
    const ack = async (payload: unknown) => {
      const socket = new WebSocket(t.gateway.url!.replace(/^http/, "ws"), "graphql-transport-ws");
      await new Promise((resolve) => socket.once("open", resolve));
      const answer = new Promise<string>((resolve) => {
        socket.once("message", (data) => resolve(JSON.parse(String(data)).type));
        socket.once("close", (code) => resolve(`closed ${code}`));
      });
      socket.send(JSON.stringify({ type: "connection_init", payload }));
      const result = await answer;
      socket.close();
      return result;
    };
    expect(await ack({ headers: { Authorization: `Bearer ${t.admin.token}` } })).toBe("connection_ack");
    expect(await ack({ headers: { Authorization: "Bearer not-a-token" } })).toBe("closed 4403");
  });

  it("applies the query limits to SSE subscriptions too", async () => {
    const response = await fetch(t.gateway.url!, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${t.admin.token}` },
      body: JSON.stringify({ query: "subscription { eventPublished { a: id b: id c: id d: id } }" }),
    });
    const text = await response.text(); // the stream ends at once: nothing ran
    expect(text).toContain("GRAPHQL_VALIDATION_FAILED");
    expect(text).toMatch(/alias/i);
    expect(text).not.toContain('"data":{');
  });

  it("applies the query limits to websocket operations too", async () => {
    const sub = collect(client(), "subscription { eventPublished { a: id b: id c: id d: id } }");
    await eventually(() => sub.error, 10_000);
    const errors = sub.error as { message: string; extensions?: { code?: string } }[];
    expect(errors[0]!.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(errors[0]!.message).toMatch(/alias/i);
  });

  it("ends a subscriber that does not read with SLOW_CONSUMER and the id to resume after; resuming gets the rest", async () => {
    const before = await publish({ slow: "start" });
    // A raw graphql-ws client whose socket stops reading after the subscription starts.
    const socket = new WebSocket(t.gateway.url!.replace(/^http/, "ws"), "graphql-transport-ws");
    const messages: { type: string; id?: string; payload?: unknown }[] = [];
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${t.admin.token}` } }));
    await eventually(() => messages.some((m) => m.type === "connection_ack"));
    socket.send(
      JSON.stringify({ id: "1", type: "subscribe", payload: { query: EVENT_PUBLISHED, variables: { eventNames: [type.name], after: before } } }),
    );
    const raw = (socket as unknown as { _socket: import("node:net").Socket })._socket;
    raw.pause();
    // Enough large events to fill the socket buffers on both sides, then the bounded queue (5).
    const big = "x".repeat(200_000);
    const published: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { publishEvents } = await t.admin.ok(PublishEventsDocument, {
        input: { events: [0, 1, 2, 3].map((j) => ({ eventName: type.name, payload: { i, j, big } })) },
      });
      published.push(...publishEvents.results.map((r) => r.event.id));
    }
    raw.resume();
    const error = await eventually(() => messages.find((m) => m.type === "error" && m.id === "1"), 30_000);
    const [first] = error.payload as { message: string; extensions: { code: string; lastEventId: string } }[];
    expect(first!.extensions.code).toBe("SLOW_CONSUMER");
    expect(first!.message).toMatch(/after/);
    const received = messages
      .filter((m) => m.type === "next")
      .map((m) => (m.payload as { data: { eventPublished: LiveEvent } }).data.eventPublished.id);
    expect(received.length).toBeLessThan(published.length);
    expect(received.at(-1) ?? before).toBe(first!.extensions.lastEventId);
    socket.close();

    // Resuming from the id it names delivers exactly the rest.
    const resumed = collect<LiveEvent>(client(), "subscription($after: ID, $n: [String!]) { eventPublished(after: $after, eventNames: $n) { id } }", {
      after: first!.extensions.lastEventId,
      n: [type.name],
    });
    const rest = published.filter((id) => BigInt(id) > BigInt(first!.extensions.lastEventId));
    await waitForItems(resumed, rest.length, 30_000);
    expect([...received, ...resumed.items.map((e) => e.id)]).toEqual(published);
  });

  it("counts open subscriptions and websocket connections in /metrics", async () => {
    const gauge = async (name: string) => {
      const text = await (await fetch(new URL("/metrics", t.gateway.url!))).text();
      return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    };
    const baseSubs = await gauge("hookgate_live_subscriptions");
    const baseSockets = await gauge("hookgate_websocket_connections");
    const c = client();
    const subs = [0, 1, 2].map(() => collect(c, EVENT_PUBLISHED, { eventNames: [type.name] }));
    await eventually(async () => (await gauge("hookgate_live_subscriptions")) === baseSubs + 3);
    expect(await gauge("hookgate_websocket_connections")).toBe(baseSockets + 1);
    subs[0]!.stop();
    await eventually(async () => (await gauge("hookgate_live_subscriptions")) === baseSubs + 2);
    await c.dispose();
    await eventually(async () => (await gauge("hookgate_live_subscriptions")) === baseSubs);
    await eventually(async () => (await gauge("hookgate_websocket_connections")) === baseSockets);
  });

  it("streams a webhook's attempts with deliveryAttempted, to its owner only", async () => {
    const service = await createService(t);
    const other = await createService(t);
    const { webhook } = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/attempts") });
    const query = `subscription($w: ID!) { deliveryAttempted(webhookId: $w) { id attemptNumber requestUrl responseStatus succeeded durationMs } }`;
    const denied = collect(client(other.token), query, { w: webhook.id }, "deliveryAttempted");
    await eventually(() => denied.error);
    expect((denied.error as { extensions?: { code?: string } }[])[0]!.extensions?.code).toBe("FORBIDDEN");

    const sub = collect<{ id: string; responseStatus: number; succeeded: boolean; requestUrl: string }>(
      client(service.token),
      query,
      { w: webhook.id },
      "deliveryAttempted",
    );
    // The subscription is live once the server has it; publish until an attempt comes back.
    await eventually(async () => {
      await publish({ attempt: true });
      return sub.items.length > 0 || undefined;
    }, 20_000);
    const [attempt] = sub.items;
    expect(attempt).toMatchObject({ responseStatus: 200, succeeded: true, requestUrl: receiver.url("/attempts") });
    expect(attempt!.id).toMatch(/^\d+$/);
  });
});

describe("websocket limits", () => {
  let t: TestGateway;
  const clients: Client[] = [];
  beforeAll(async () => {
    t = await startTestGateway({ HOOKGATE_RATE_LIMIT_CONNECTIONS: "2", HOOKGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION: "2" });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.close();
  });

  it("refuses a token's connections past HOOKGATE_RATE_LIMIT_CONNECTIONS with 1013 (Try Again Later), and subscriptions past the per-connection cap", async () => {
    const closes: number[] = [];
    const open = () => {
      const c = wsClient(t.gateway.url!, t.admin.token, { onClosed: (code) => closes.push(code) });
      clients.push(c);
      return c;
    };
    const first = open();
    const subs = [0, 1, 2].map(() => collect(first, "subscription { eventPublished { id } }"));
    await eventually(() => subs[2]!.error);
    expect((subs[2]!.error as { extensions?: { code?: string } }[])[0]!.extensions?.code).toBe("RATE_LIMITED");
    expect(subs[0]!.error ?? subs[1]!.error).toBeUndefined();

    const second = open();
    const ok = collect(second, "subscription { eventPublished { id } }");
    const third = collect(open(), "subscription { eventPublished { id } }");
    await eventually(() => third.closed);
    // Not 4429, which graphql-ws reserves (and its client treats as fatal): 1013, which clients retry.
    expect(third.closed!.code).toBe(1013);
    expect(ok.closed).toBeUndefined();
  });
});
