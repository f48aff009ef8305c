import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventDocument, PublishEventsDocument, ReplayWebhookDocument, WebhookLogsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

// Issue 10, item 4: one tenant's backlog against a hanging receiver held every send slot, and
// another tenant's new event waited minutes (165 s seen) for its first attempt.
describe("one webhook's backlog does not starve the others", () => {
  let t: TestGateway;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    // Defaults for the dispatcher (concurrency 200, 50 calls in flight per webhook, 15 s timeout).
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("2,000 deliveries queued by replayWebhook to a hanging receiver; another service's new event is sent within seconds", async () => {
    const flooding = await createService(t);
    const other = await createService(t);
    const floodType = await createEventType(t);
    const otherType = await createEventType(t);
    const flood = await createWebhook(flooding.client, { eventIds: [floodType.id], url: receiver.url("/flood") });
    await createWebhook(other.client, { eventIds: [otherType.id], url: receiver.url("/other") });

    // 100 events delivered while the flooding receiver still answers ...
    const since = new Date(Date.now() - 60_000).toISOString();
    const events = Array.from({ length: 100 }, (_, n) => ({ eventName: floodType.name, payload: { n } }));
    await t.admin.ok(PublishEventsDocument, { input: { events } });
    await eventually(async () => receiver.requests.filter((r) => r.path === "/flood").length === 100, 30_000);
    // ... then it hangs, and twenty replays queue 2,000 deliveries to it.
    receiver.reply((r) => (r.path === "/flood" ? "hang" : { status: 200, body: "ok" }));
    let queued = 0;
    for (let i = 0; i < 20; i++) {
      const { replayWebhook } = await flooding.client.ok(ReplayWebhookDocument, { webhookId: flood.webhook.id, since });
      queued += replayWebhook.queued;
    }
    expect(queued).toBe(2_000);
    await eventually(() => receiver.requests.filter((r) => r.path === "/flood").length > 100);

    const started = Date.now();
    await t.admin.ok(PublishEventDocument, { input: { eventName: otherType.name, payload: { hello: "world" } } });
    await eventually(() => receiver.requests.some((r) => r.path === "/other"), 5_000);
    expect(Date.now() - started).toBeLessThan(5_000);

    // The hanging receiver holds no more calls than its cap.
    const hanging = receiver.requests.filter((r) => r.path === "/flood").length - 100;
    expect(hanging).toBeLessThanOrEqual(t.config.HOOKGATE_MAX_IN_FLIGHT_PER_WEBHOOK);
    const { webhookLogs } = await flooding.client.ok(WebhookLogsDocument, { webhookId: flood.webhook.id, first: 1 });
    expect(webhookLogs.edges).toHaveLength(1);
  });
});

describe("replayWebhook is bounded by the deliveries it queues", () => {
  let t: TestGateway;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    t = await startTestGateway({ HOOKGATE_MAX_REPLAY_DELIVERIES: "5" });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("a replay past HOOKGATE_MAX_REPLAY_DELIVERIES queues nothing and says why; one within it queues all", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    const hook = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/replayed") });
    const since = new Date(Date.now() - 60_000).toISOString();
    await t.admin.ok(PublishEventsDocument, { input: { events: Array.from({ length: 6 }, (_, n) => ({ eventName: type.name, payload: { n } })) } });
    const logs = async () => (await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id, first: 50 })).webhookLogs.edges;
    await eventually(async () => (await logs()).length === 6);

    const error = await service.client.fail(ReplayWebhookDocument, { webhookId: hook.webhook.id, since });
    expect(error.code).toBe("BAD_USER_INPUT");
    expect(error.field).toBe("since");
    expect(error.message).toContain("more than 5 deliveries (HOOKGATE_MAX_REPLAY_DELIVERIES)");
    expect(await logs()).toHaveLength(6); // nothing queued

    const within = await service.client.ok(ReplayWebhookDocument, { webhookId: hook.webhook.id, since, onlyFailed: true });
    expect(within.replayWebhook.queued).toBe(0);
  });
});
