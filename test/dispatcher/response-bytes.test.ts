import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventDocument, WebhookLogsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

// Issue 10, item 1: bytes PostgreSQL text and json cannot hold (a NUL, binary, UTF-16, invalid
// UTF-8) made the batched record statement fail, so the whole batch, other services' deliveries
// included, was never logged and was sent again every lease period.
describe("whatever bytes a receiver answers, every attempt of the batch is logged once", () => {
  let t: TestGateway;
  let receiver: Receiver;
  const binary = Buffer.concat([Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]), randomBytes(256)]);
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("héllo wörld", "utf16le")]);
  const invalidUtf8 = Buffer.from([0x61, 0xc3, 0x28, 0x62, 0xe2, 0x82, 0xff]);
  const bodies: Record<string, { status: number; body: Buffer }> = {
    "/nul": { status: 200, body: Buffer.from("a\0b") },
    "/binary": { status: 200, body: binary },
    "/utf16": { status: 400, body: utf16 }, // a failed attempt too: its delivery is RETRYING
    "/invalid": { status: 200, body: invalidUtf8 },
    "/fine": { status: 200, body: Buffer.from("fine ✓") },
  };

  beforeAll(async () => {
    receiver = await startReceiver((r) => {
      const reply = bodies[r.path];
      return reply ? { status: reply.status, headers: { "content-type": "application/octet-stream" }, body: reply.body } : { status: 404 };
    });
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("stores text as text and other bytes as base64, losslessly, and no delivery is sent twice", async () => {
    const type = await createEventType(t);
    const hostile = await createService(t);
    const wellBehaved = await createService(t);
    const hooks = new Map<string, { client: typeof hostile.client; id: string }>();
    for (const path of ["/nul", "/binary", "/utf16", "/invalid"]) {
      // A failed attempt's retry a day later: the one attempt counted here is the only one due.
      const retry = { retryPolicy: "FIXED" as const, retryIntervalSeconds: 86_400, retryWindowSeconds: 7 * 86_400 };
      const hook = await createWebhook(hostile.client, { ...retry, eventIds: [type.id], url: receiver.url(path) });
      hooks.set(path, { client: hostile.client, id: hook.webhook.id });
    }
    const fine = await createWebhook(wellBehaved.client, { eventIds: [type.id], url: receiver.url("/fine") });
    hooks.set("/fine", { client: wellBehaved.client, id: fine.webhook.id });

    // One event, five deliveries: claimed together, sent together, recorded in one batch.
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 1 } } });

    const logs = new Map<string, Awaited<ReturnType<typeof readLogs>>>();
    const readLogs = async (path: string) => {
      const hook = hooks.get(path)!;
      const { webhookLogs } = await hook.client.ok(WebhookLogsDocument, { webhookId: hook.id });
      return webhookLogs.edges.map((e) => e.node);
    };
    await eventually(
      async () => {
        for (const path of hooks.keys()) logs.set(path, await readLogs(path));
        // webhookLogs reads a delivery and its attempts in two statements, so a read racing the
        // record can show the attempt beside the status from before it: wait for both.
        return [...logs.values()].every((l) => l.length === 1 && l[0]!.attempts.length === 1 && l[0]!.status !== "PENDING");
      },
      10_000,
      () => JSON.stringify([...logs].map(([p, l]) => [p, l.map((d) => [d.status, d.attempts.length])])),
    );

    for (const [path, { status, body }] of Object.entries(bodies)) {
      const [delivery] = logs.get(path)!;
      expect(delivery!.status).toBe(status === 200 ? "SUCCEEDED" : "RETRYING");
      expect(delivery!.attemptCount).toBe(1);
      const attempt = delivery!.attempts[0]!;
      expect(attempt.responseStatus).toBe(status);
      expect(attempt.errorClass).toBe(status === 200 ? null : "HTTP_STATUS");
      if (path === "/fine") {
        expect(attempt.responseBodyEncoding).toBe("TEXT");
        expect(attempt.responseBody).toBe("fine ✓");
      } else {
        expect(attempt.responseBodyEncoding).toBe("BASE64");
        expect(Buffer.from(attempt.responseBody!, "base64").equals(body)).toBe(true);
      }
    }
    // Each receiver was called exactly once.
    for (const path of Object.keys(bodies)) expect(receiver.requests.filter((r) => r.path === path)).toHaveLength(1);
  });
});
