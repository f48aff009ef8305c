import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PublishEventDocument,
  PublishEventsDocument,
  RotateWebhookSecretDocument,
  UpdateWebhookDocument,
  WebhookLogsDocument,
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

async function setup(input: Parameters<typeof createWebhook>[1] extends infer I ? Omit<I & object, "eventIds"> : never) {
  const service = await createService(t);
  const type = await createEventType(t);
  const path = `/hook/${type.id}`;
  const hook = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(path), ...input });
  const requestsTo = () => receiver.requests.filter((r) => r.path === path);
  return { service, type, hook, path, requestsTo };
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
