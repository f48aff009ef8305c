// Abuse limits through the public surface: authentication before a document is read (401 with
// WWW-Authenticate, a per-address cap for requests without a valid token, X-Forwarded-For only
// from trusted proxies), per-token caps on live subscriptions shared by SSE and the websocket,
// a per-token query rate and a bound on a query's result counted while it resolves, and HTTP
// timeouts for connections that send nothing (which leave SSE streams alone).
import { connect } from "node:net";
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventsDocument } from "../generated/graphql.js";
import { createEventType, createService } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, wsClient } from "../support/live.js";
import { eventually } from "../support/receiver.js";

type Body = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown>; path?: unknown }[] };

const post = async (t: TestGateway, query: string, headers: Record<string, string> = {}) => {
  const response = await fetch(t.gateway.url!, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Body };
};
const codes = (body: Body) => body.errors?.map((e) => e.extensions?.code);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** An SSE subscription: the open response, and everything it sent once it is read to the end. */
const sse = async (t: TestGateway, token: string, query = "subscription { eventPublished { id } }") => {
  const controller = new AbortController();
  const response = await fetch(t.gateway.url!, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", ...bearer(token) },
    body: JSON.stringify({ query }),
    signal: controller.signal,
  });
  return { response, close: () => controller.abort() };
};

describe("behind a trusted proxy, with small caps", () => {
  let t: TestGateway;
  const clients: Client[] = [];
  beforeAll(async () => {
    t = await startTestGateway({
      HOOKGATE_TRUSTED_PROXIES: "10.9.8.7, 127.0.0.0/8",
      HOOKGATE_RATE_LIMIT_UNAUTHENTICATED: "3",
      HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN: "2",
      HOOKGATE_RATE_LIMIT_QUERIES: "40",
      HOOKGATE_MAX_GRAPHQL_RESPONSE_BYTES: "1000000",
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.close();
  });

  it("a bad token with a document that would fail parsing -> 401 UNAUTHENTICATED, WWW-Authenticate, never parsed", async () => {
    // Unique and broken: had it been parsed, the answer would be GRAPHQL_PARSE_FAILED.
    const broken = `{ ${"me { kind } ".repeat(1000)} ${Date.now()} {{{`;
    const headers = { ...bearer("hg_svc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "x-forwarded-for": "198.51.100.1" };
    const bad = await post(t, broken, headers);
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(codes(bad.body)).toEqual(["UNAUTHENTICATED"]);
    expect(bad.body.errors![0]!.message).toContain("the bearer token is not valid");

    const missing = await post(t, "{ __schema { types { name } } }", { "x-forwarded-for": "198.51.100.1" });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe("Bearer");
    expect(codes(missing.body)).toEqual(["UNAUTHENTICATED"]);
    expect(missing.body.errors![0]!.message).toContain("Authorization: Bearer <token>");
  });

  it("an anonymous browser still gets the GraphiQL page", async () => {
    const page = await fetch(t.gateway.url!, { headers: { accept: "text/html", "x-forwarded-for": "198.51.100.2" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain("Hookgate");
  });

  it("counts requests without a valid token per client address, read from X-Forwarded-For of a trusted proxy (rightmost untrusted hop)", async () => {
    // The client wrote the leftmost hop itself; the proxies (10.9.8.7, then this loopback peer) the rest.
    const via = (client: string) => ({ "x-forwarded-for": `6.6.6.6, ${client}, 10.9.8.7` });
    for (let i = 0; i < 3; i++) expect((await post(t, "{ me { kind } }", via("203.0.113.5"))).status).toBe(401);
    const over = await post(t, "{ me { kind } }", via("203.0.113.5"));
    expect(over.status).toBe(429);
    expect(codes(over.body)).toEqual(["RATE_LIMITED"]);
    expect(over.body.errors![0]!.message).toContain("HOOKGATE_RATE_LIMIT_UNAUTHENTICATED");
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another client behind the same proxy has its own allowance, whatever it claims on the left.
    expect((await post(t, "{ me { kind } }", via("203.0.113.6"))).status).toBe(401);
    // A token holder from the spent address is not refused: the cap is for requests without one.
    expect((await post(t, "{ me { kind } }", { ...via("203.0.113.5"), ...bearer(t.admin.token!) })).body.data).toEqual({ me: { kind: "ADMIN" } });
  });

  it("one token holds at most HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN live subscriptions, SSE and websocket together; another token is unaffected", async () => {
    const service = await createService(t);
    const first = await sse(t, t.admin.token!);
    const second = await sse(t, t.admin.token!);
    expect([first.response.status, second.response.status]).toEqual([200, 200]);

    const third = await sse(t, t.admin.token!);
    const refused = await third.response.text(); // ends at once: nothing was opened
    expect(refused).toContain("RATE_LIMITED");
    expect(refused).toContain("HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN");
    expect(refused).not.toContain('"data":{');

    const overWs = collect(clients[clients.push(wsClient(t.gateway.url!, t.admin.token)) - 1]!, "subscription { eventPublished { id } }");
    await eventually(() => overWs.error, 10_000);
    expect((overWs.error as { extensions?: { code?: string } }[])[0]!.extensions?.code).toBe("RATE_LIMITED");

    const other = await sse(t, service.token);
    expect(other.response.status).toBe(200);
    expect(other.response.headers.get("content-type")).toMatch(/text\/event-stream/);
    other.close();

    // Ending one gives its slot back.
    first.close();
    await eventually(async () => {
      const again = await sse(t, t.admin.token!);
      if (again.response.headers.get("content-type")?.includes("text/event-stream") && (await Promise.race([again.response.text(), new Promise((r) => setTimeout(() => r("open"), 300))])) === "open") {
        again.close();
        return true;
      }
      return undefined;
    }, 10_000);
    second.close();
  });

  it("a 15-alias query for large payloads -> RESPONSE_TOO_LARGE, counted while resolving", async () => {
    const type = await createEventType(t);
    const big = "x".repeat(100_000);
    await t.admin.ok(PublishEventsDocument, { input: { events: [1, 2, 3].map((i) => ({ eventName: type.name, payload: { i, big } })) } });
    const page = "events(first: 100) { edges { node { payload } } }";
    // One page (300 KB) is under the bound of 1 MB.
    const one = await post(t, `{ a: ${page} }`, bearer(t.admin.token!));
    expect(one.body.errors).toBeUndefined();
    const many = await post(t, `{ ${Array.from({ length: 15 }, (_, i) => `a${i}: ${page}`).join(" ")} }`, bearer(t.admin.token!));
    expect(many.body.data ?? null).toBeNull();
    expect(many.body.errors).toHaveLength(1);
    expect(many.body.errors![0]!.extensions).toMatchObject({ code: "RESPONSE_TOO_LARGE", maxBytes: 1_000_000 });
    expect(many.body.errors![0]!.message).toContain("HOOKGATE_MAX_GRAPHQL_RESPONSE_BYTES");
  });

  it("counts query fields per token against HOOKGATE_RATE_LIMIT_QUERIES; past it none runs", async () => {
    const service = await createService(t);
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `m${i}: me { kind }`).join(" ")} }`;
    expect((await post(t, aliases(30), bearer(service.token))).body.errors).toBeUndefined();
    const over = await post(t, aliases(15), bearer(service.token));
    expect(over.status).toBe(429);
    expect(codes(over.body)).toEqual(["RATE_LIMITED"]);
    expect(over.body.errors![0]!.message).toContain("HOOKGATE_RATE_LIMIT_QUERIES");
    expect(over.body.data ?? null).toBeNull();
  });
});

describe("without a trusted proxy, with short HTTP timeouts", () => {
  let t: TestGateway;
  beforeAll(async () => {
    // No dispatcher: PGlite's work blocks this process's event loop, and these timeouts are short.
    t = await startTestGateway({
      HOOKGATE_ROLE: "api",
      HOOKGATE_HTTP_HEADERS_TIMEOUT_MS: "300",
      HOOKGATE_HTTP_REQUEST_TIMEOUT_MS: "1000",
      HOOKGATE_HTTP_KEEP_ALIVE_TIMEOUT_MS: "300",
      HOOKGATE_RATE_LIMIT_UNAUTHENTICATED: "2",
    });
  });
  afterAll(async () => t?.close());

  it("X-Forwarded-For is ignored: a client cannot pick the address it is counted under", async () => {
    expect((await post(t, "{ me { kind } }", { "x-forwarded-for": "192.0.2.1" })).status).toBe(401);
    expect((await post(t, "{ me { kind } }", { "x-forwarded-for": "192.0.2.2" })).status).toBe(401);
    const over = await post(t, "{ me { kind } }", { "x-forwarded-for": "192.0.2.3" });
    expect(over.status).toBe(429);
    expect(codes(over.body)).toEqual(["RATE_LIMITED"]);
  });

  it("closes a connection that sends nothing (408) after HOOKGATE_HTTP_HEADERS_TIMEOUT_MS", async () => {
    const { port } = new URL(t.gateway.url!);
    const socket = connect(Number(port), "127.0.0.1");
    let received = "";
    socket.on("data", (d) => (received += String(d)));
    const closed = await new Promise<boolean>((resolve) => {
      socket.once("close", () => resolve(true));
      // 300 ms and Node's check interval; well within 2 s. Before the fix it stayed open for minutes.
      setTimeout(() => resolve(false), 2_000);
    });
    socket.destroy();
    expect(closed).toBe(true);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  it("an SSE stream outlives the request and keep-alive timeouts", async () => {
    const type = await createEventType(t);
    const stream = await sse(t, t.admin.token!, `subscription { eventPublished(eventNames: ["${type.name}"]) { payload } }`);
    expect(stream.response.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_200)); // longer than every HTTP timeout of this gateway
    await t.admin.ok(PublishEventsDocument, { input: { events: [{ eventName: type.name, payload: { late: true } }] } });
    const reader = stream.response.body!.getReader();
    let text = "";
    while (!text.includes('"late":true')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    stream.close();
    expect(text).toContain('"late":true');
  });
});
