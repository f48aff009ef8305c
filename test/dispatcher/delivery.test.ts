import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PublishEventDocument,
  PublishEventsDocument,
  RotateWebhookSecretDocument,
  UpdateWebhookDocument,
  WebhookLogsDocument,
  WebhooksDocument,
} from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

let t: TestGateway;
let receiver: Receiver;
beforeAll(async () => {
  t = await startTestGateway({ HOOKGATE_MAX_RESPONSE_BYTES: "1024" });
  receiver = await startReceiver();
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

let paths = 0;
async function setup(
  input: Parameters<typeof createWebhook>[1] extends infer I ? Omit<I & object, "eventIds"> : never,
  gateway: TestGateway = t,
) {
  const service = await createService(gateway);
  const type = await createEventType(gateway);
  const path = `/hook/${++paths}`; // some tests start gateways of their own, whose ids repeat these
  const hook = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(path), ...input });
  const requestsTo = () => receiver.requests.filter((r) => r.path === path);
  const logs = async () =>
    (await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id, first: 100 })).webhookLogs.edges.map((e) => e.node);
  return { service, type, hook, path, requestsTo, logs };
}

describe("a delivery on the wire", () => {
  it("is signed per Standard Webhooks and verified by the standardwebhooks package", async () => {
    const { type, hook, requestsTo } = await setup({ requestMethod: "PUT", requestHeaders: [{ name: "X-Shop", value: "42" }] });
    const { publishEvent } = await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { text: "سلام", n: 1 } } });
    const [request] = await eventually(() => requestsTo().length === 1 && requestsTo());

    expect(request!.method).toBe("PUT");
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers["x-shop"]).toBe("42");
    const verified = new StandardWebhook(hook.signingSecret).verify(request!.body, {
      "webhook-id": request!.headers["webhook-id"] as string,
      "webhook-timestamp": request!.headers["webhook-timestamp"] as string,
      "webhook-signature": request!.headers["webhook-signature"] as string,
    });
    expect(verified).toEqual({
      id: publishEvent.event.id,
      type: type.name,
      timestamp: publishEvent.event.createdAt,
      data: { text: "سلام", n: 1 },
    });
    expect(request!.headers["webhook-id"]).toBe(publishEvent.event.id);
    // A wrong secret must not verify: the check above can fail.
    expect(() =>
      new StandardWebhook("whsec_" + Buffer.alloc(24, 7).toString("base64")).verify(request!.body, {
        "webhook-id": request!.headers["webhook-id"] as string,
        "webhook-timestamp": request!.headers["webhook-timestamp"] as string,
        "webhook-signature": request!.headers["webhook-signature"] as string,
      }),
    ).toThrow();
  });

  it("sends Basic auth as Thulium asks (http_auth_user / http_auth_password)", async () => {
    const { type, requestsTo } = await setup({ auth: { basic: { username: "thulium", password: "s3cr3t:pa ss" } } });
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { x: 1 } } });
    const [request] = await eventually(() => requestsTo().length === 1 && requestsTo());
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from("thulium:s3cr3t:pa ss").toString("base64")}`);
  });

  it.each([
    ["Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz"],
    ["Bearer abc.def", "Bearer abc.def"],
    ["plain-token-123", "Bearer plain-token-123"],
  ])("sends the Green API webhookUrlToken %s as Authorization: %s", async (token, expected) => {
    const { type, requestsTo } = await setup({ auth: { token } });
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { typeWebhook: "statusInstanceChanged" } } });
    const [request] = await eventually(() => requestsTo().length === 1 && requestsTo());
    expect(request!.headers.authorization).toBe(expected);
  });

  it("logs the attempt with auth and extra header values redacted and the response body truncated", async () => {
    const { type, hook, path, service } = await setup({
      auth: { token: "Bearer top-secret" },
      requestHeaders: [{ name: "X-Api-Key", value: "key-123" }],
    });
    receiver.reply((r) => (r.path === path ? { status: 200, body: "x".repeat(5000) } : { status: 200 }));
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { y: 2 } } });
    const log = await eventually(async () => {
      const { webhookLogs } = await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id });
      const node = webhookLogs.edges[0]?.node;
      return node?.status === "SUCCEEDED" && node;
    });
    receiver.reply(() => ({ status: 200 }));
    const attempt = log.attempts[0]!;
    expect(log.attemptCount).toBe(1);
    expect(attempt).toMatchObject({ attemptNumber: 1, responseStatus: 200, succeeded: true, errorClass: null, requestMethod: "POST" });
    expect(attempt.requestUrl).toBe(receiver.url(path));
    expect(attempt.responseBody).toHaveLength(1024);
    const headers = attempt.requestHeaders as Record<string, string>;
    expect(headers.authorization).toBe("[redacted]");
    expect(headers["X-Api-Key"]).toBe("[redacted]");
    expect(headers["webhook-signature"]).toMatch(/^v1,/);
    expect(JSON.stringify(log)).not.toContain("top-secret");
    expect(JSON.stringify(log)).not.toContain("key-123");
    expect(JSON.parse(attempt.requestBody)).toMatchObject({ type: type.name, data: { y: 2 } });
  });

  it("signs with both secrets for a day after rotateWebhookSecret", async () => {
    const { type, hook, requestsTo, service } = await setup({});
    const { rotateWebhookSecret } = await service.client.ok(RotateWebhookSecretDocument, { webhookId: hook.webhook.id });
    expect(rotateWebhookSecret.signingSecret).not.toBe(hook.signingSecret);
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { z: 3 } } });
    const [request] = await eventually(() => requestsTo().length === 1 && requestsTo());
    const headers = {
      "webhook-id": request!.headers["webhook-id"] as string,
      "webhook-timestamp": request!.headers["webhook-timestamp"] as string,
      "webhook-signature": request!.headers["webhook-signature"] as string,
    };
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(new StandardWebhook(hook.signingSecret).verify(request!.body, headers)).toMatchObject({ data: { z: 3 } });
    expect(new StandardWebhook(rotateWebhookSecret.signingSecret).verify(request!.body, headers)).toMatchObject({ data: { z: 3 } });
  });

  it("does not follow redirects: a 3xx is a failed attempt", async () => {
    const { type, hook, path, service, requestsTo } = await setup({});
    receiver.reply((r) => (r.path === path ? { status: 302, headers: { location: receiver.url("/elsewhere") } } : { status: 200 }));
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: {} } });
    const log = await eventually(async () => {
      const { webhookLogs } = await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id });
      return webhookLogs.edges[0]?.node.status === "RETRYING" && webhookLogs.edges[0].node;
    });
    receiver.reply(() => ({ status: 200 }));
    expect(log.attempts[0]).toMatchObject({ responseStatus: 302, errorClass: "HTTP_STATUS", succeeded: false });
    expect(receiver.requests.filter((r) => r.path === "/elsewhere")).toHaveLength(0);
    expect(requestsTo()).toHaveLength(1);
  });
});

describe("a small dispatcher under a backlog", () => {
  it("keeps claiming while finished attempts wait to be recorded (no stall at the slot limit)", async () => {
    const small = await startTestGateway({ HOOKGATE_DISPATCH_CONCURRENCY: "4", HOOKGATE_DISPATCH_BATCH: "8", HOOKGATE_POLL_MS: "60000" });
    try {
      const service = await createService(small);
      const type = await createEventType(small);
      const path = `/backlog/${type.id}`;
      await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(path) });
      const events = Array.from({ length: 60 }, (_, i) => ({ eventName: type.name, payload: { i } }));
      await small.admin.ok(PublishEventsDocument, { input: { events } });
      // The poll interval is a minute: only wake-ups move this along.
      await eventually(() => receiver.requests.filter((r) => r.path === path).length === 60, 20_000);
      await small.gateway.dispatcher!.settle();
    } finally {
      await small.close();
    }
  });
});

// The attempt log travels to the store in a compact form (what every attempt to a webhook shares
// goes once per batch) and is put back together there: these tests read it through GraphQL and
// hold it against what the receiver really got.
describe("the attempt log", () => {
  it("holds exactly the request that went over the wire (secrets redacted) and the response that came back", async () => {
    const { type, path, requestsTo, logs } = await setup({
      requestMethod: "PATCH",
      auth: { token: "Bearer log-secret" },
      requestHeaders: [{ name: "X-Api-Key", value: "key-456" }],
    });
    receiver.reply((r) =>
      r.path === path ? { status: 201, headers: { "x-trace": "abc-1", "content-type": "text/plain" }, body: "created ✓" } : { status: 200 },
    );
    // Quotes, backslashes, a newline and non-ASCII text: the body must survive the trip to the store unchanged.
    const payload = { text: 'سلام "quoted" \\ back\nslash', n: 12345678901234567890, list: [1, 2.5, null, true] };
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload } });
    const [delivery] = await eventually(async () => {
      const nodes = await logs();
      return nodes[0]?.status === "SUCCEEDED" && nodes;
    });
    receiver.reply(() => ({ status: 200 }));
    const [request] = requestsTo();
    expect(requestsTo()).toHaveLength(1);
    const attempt = delivery!.attempts[0]!;

    expect(attempt.requestBody).toBe(request!.body);
    expect(attempt.requestMethod).toBe("PATCH");
    expect(attempt.requestUrl).toBe(receiver.url(path));
    expect(attempt.requestHeaders).toEqual({
      "content-type": "application/json",
      "user-agent": request!.headers["user-agent"],
      "X-Api-Key": "[redacted]",
      authorization: "[redacted]",
      "webhook-id": request!.headers["webhook-id"],
      "webhook-timestamp": request!.headers["webhook-timestamp"],
      "webhook-signature": request!.headers["webhook-signature"],
    });
    expect(request!.headers.authorization).toBe("Bearer log-secret");
    expect(request!.headers["x-api-key"]).toBe("key-456");
    expect(attempt).toMatchObject({ responseStatus: 201, responseBody: "created ✓", succeeded: true, errorClass: null, errorMessage: null });
    expect(attempt.responseHeaders).toMatchObject({ "x-trace": "abc-1", "content-type": "text/plain" });
    expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(delivery)).not.toContain("log-secret");
    expect(JSON.stringify(delivery)).not.toContain("key-456");
  });

  it("keeps the first HOOKGATE_MAX_RESPONSE_BYTES of a body of unannounced length, and the next delivery still goes out", async () => {
    const { type, path, requestsTo, logs } = await setup({});
    receiver.reply((r) =>
      r.path === path ? { status: 200, headers: { "transfer-encoding": "chunked" }, body: "y".repeat(50_000) } : { status: 200 },
    );
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { first: true } } });
    const [first] = await eventually(async () => {
      const nodes = await logs();
      return nodes[0]?.status === "SUCCEEDED" && nodes;
    });
    expect(first!.attempts[0]!.responseBody).toBe("y".repeat(1024));
    receiver.reply(() => ({ status: 200 }));
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { second: true } } });
    await eventually(async () => (await logs()).filter((d) => d.status === "SUCCEEDED").length === 2);
    expect(requestsTo()).toHaveLength(2);
  });

  it("logs a failed attempt with its error and the schedule it set", async () => {
    const { type, path, logs } = await setup({});
    receiver.reply((r) => (r.path === path ? { status: 503, headers: { "retry-after": "120" }, body: "later" } : { status: 200 }));
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: {} } });
    const [delivery] = await eventually(async () => {
      const nodes = await logs();
      return nodes[0]?.status === "RETRYING" && nodes;
    });
    receiver.reply(() => ({ status: 200 }));
    expect(delivery!.attempts[0]).toMatchObject({
      responseStatus: 503,
      responseBody: "later",
      errorClass: "HTTP_STATUS",
      errorMessage: "HTTP 503",
      succeeded: false,
    });
    expect(delivery!.attempts[0]!.responseHeaders).toMatchObject({ "retry-after": "120" });
    // Retry-After (120 s) is later than the first exponential step (5 s) and inside the window.
    const wait = new Date(delivery!.nextAttemptAt as string).getTime() - new Date(delivery!.lastAttemptAt as string).getTime();
    expect(wait).toBeGreaterThanOrEqual(119_000);
  });
});

describe("a dispatcher that claims ahead", () => {
  it("never has more than HOOKGATE_DISPATCH_CONCURRENCY calls in flight, and delivers and logs each event once", async () => {
    const small = await startTestGateway({ HOOKGATE_DISPATCH_CONCURRENCY: "5", HOOKGATE_DISPATCH_BATCH: "3" });
    try {
      const { type, path, requestsTo, logs } = await setup({}, small);
      // Each call is answered 150 ms after it arrives, so [arrival, arrival + 140 ms] lies inside the
      // dispatcher's own in-flight span of it (timers may fire a little early by this clock: hence 140).
      const spans: [number, number][] = [];
      receiver.reply((r) => {
        if (r.path !== path) return { status: 200 };
        const now = performance.now();
        spans.push([now, now + 140]);
        return { status: 200, delayMs: 150 };
      });
      const events = Array.from({ length: 40 }, (_, i) => ({ eventName: type.name, payload: { i } }));
      await small.admin.ok(PublishEventsDocument, { input: { events } });
      await eventually(async () => (await logs()).filter((d) => d.status === "SUCCEEDED").length === 40, 30_000);
      receiver.reply(() => ({ status: 200 }));

      let most = 0;
      for (const [start] of spans) most = Math.max(most, spans.filter(([s, e]) => s <= start && start < e).length);
      expect(most).toBeLessThanOrEqual(5);
      expect(most).toBeGreaterThanOrEqual(4); // the slots are kept busy, not filled one claim at a time
      const ids = requestsTo().map((r) => r.headers["webhook-id"]);
      expect(new Set(ids).size).toBe(40);
      expect(ids).toHaveLength(40);
      const nodes = await logs();
      expect(nodes.every((d) => d.attemptCount === 1 && d.attempts.length === 1)).toBe(true);
    } finally {
      await small.close();
    }
  });

  it("counts a failure streak across many small batches recorded one after another", async () => {
    const small = await startTestGateway({
      HOOKGATE_DISPATCH_CONCURRENCY: "4",
      HOOKGATE_DISPATCH_BATCH: "2",
      HOOKGATE_DISABLE_AFTER_FAILURES: "9",
      HOOKGATE_DISABLE_AFTER_DAYS: "0",
    });
    try {
      const { service, type, path, hook, logs } = await setup({}, small);
      receiver.reply((r) => (r.path === path ? { status: 500 } : { status: 200 }));
      const events = Array.from({ length: 8 }, (_, i) => ({ eventName: type.name, payload: { i } }));
      await small.admin.ok(PublishEventsDocument, { input: { events } });
      await eventually(async () => (await logs()).filter((d) => d.status === "RETRYING").length === 8);
      const active = async () =>
        (await service.client.ok(WebhooksDocument, {})).webhooks.data.find((w) => w.id === hook.webhook.id)!.isActive;
      // Eight failures in a row: one short of the limit.
      expect(await active()).toBe(true);
      await small.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { i: 8 } } });
      await eventually(async () => !(await active()));
      const w = (await service.client.ok(WebhooksDocument, {})).webhooks.data.find((x) => x.id === hook.webhook.id)!;
      expect(w.disabledReason).toBe("disabled after 9 failed delivery attempts in a row");
      receiver.reply(() => ({ status: 200 }));
    } finally {
      await small.close();
    }
  });
});
