import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { EXPONENTIAL_DELAYS_MS } from "../../src/dispatcher/retry-schedule.js";
import {
  PublishEventDocument,
  ReplayWebhookDocument,
  RetryDeliveryDocument,
  SendTestEventDocument,
  UpdateWebhookDocument,
  WebhookLogsDocument,
  WebhooksDocument,
  type CreateWebhookInput,
} from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

// Retry timing is proven with a manual clock: the dispatcher judges due-ness by it, and the
// test moves it forward instead of sleeping. Jitter is fixed at its midpoint (random() = 0.5).
const clock = new ManualClock(new Date("2026-01-05T00:00:00Z"));
let t: TestGateway;
let receiver: Receiver;
beforeAll(async () => {
  t = await startTestGateway({ clock, random: () => 0.5, env: { HOOKGATE_DISABLE_AFTER_DAYS: "5" } });
  receiver = await startReceiver(() => ({ status: 500, body: "down" }));
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

async function failingWebhook(input: Partial<CreateWebhookInput> = {}, gateway: TestGateway = t) {
  const service = await createService(gateway);
  const type = await createEventType(gateway, undefined, { sample: "data" });
  const path = `/retry/${type.id}`;
  const hook = await createWebhook(service.client, { ...input, eventIds: [type.id], url: receiver.url(path) });
  const logs = async () =>
    (await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id })).webhookLogs.edges.map((e) => e.node);
  return { service, type, path, hook, logs };
}

/** Moves the clock and lets the dispatcher look, then waits until the delivery has n attempts. */
async function attemptAfter<T extends { attemptCount: number }>(g: TestGateway, ms: number, logs: () => Promise<T[]>, n: number): Promise<T> {
  clock.advance(ms);
  g.gateway.dispatcher!.wake();
  return eventually(async () => {
    const [latest] = await logs();
    return latest && latest.attemptCount === n && latest;
  });
}

describe("EXPONENTIAL retries", () => {
  it("tries at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then FAILED", async () => {
    const { type, logs } = await failingWebhook();
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 1 } } });
    g(t).wake();
    let delivery = await eventually(async () => {
      const [d] = await logs();
      return d?.attemptCount === 1 && d;
    });
    for (let i = 0; i < EXPONENTIAL_DELAYS_MS.length; i++) {
      const delay = EXPONENTIAL_DELAYS_MS[i]!;
      expect(delivery.status).toBe("RETRYING");
      expect(Date.parse(delivery.nextAttemptAt!) - Date.parse(delivery.lastAttemptAt!)).toBe(delay);
      // One millisecond early, the dispatcher looks and finds nothing due.
      clock.advance(delay - 1);
      await g(t).settle();
      expect((await logs())[0]!.attemptCount).toBe(i + 1);
      delivery = await attemptAfter(t, 1, logs, i + 2);
    }
    expect(delivery).toMatchObject({ status: "FAILED", nextAttemptAt: null, attemptCount: 8 });
    const full = (await logs())[0]!;
    expect(full.attempts.map((a) => a.attemptNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(full.attempts.every((a) => a.errorClass === "HTTP_STATUS" && a.responseStatus === 500 && a.responseBody === "down")).toBe(true);
  });

  it("honours Retry-After on 429 and 503 within the window", async () => {
    const { type, path, logs } = await failingWebhook();
    receiver.reply((r) =>
      r.path === path ? { status: 429, headers: { "retry-after": "120" } } : { status: 500, body: "down" },
    );
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: {} } });
    g(t).wake();
    const first = await eventually(async () => {
      const [d] = await logs();
      return d?.attemptCount === 1 && d;
    });
    expect(Date.parse(first.nextAttemptAt!) - Date.parse(first.lastAttemptAt!)).toBe(120_000);

    const when = new Date(clock.now().getTime() + 3_600_000).toUTCString();
    receiver.reply((r) => (r.path === path ? { status: 503, headers: { "retry-after": when } } : { status: 500, body: "down" }));
    const second = await attemptAfter(t, 120_000, logs, 2);
    expect(second.nextAttemptAt).toBe(new Date(Date.parse(when)).toISOString());
    receiver.reply(() => ({ status: 500, body: "down" }));
  });
});

describe("FIXED retries (Green API: every minute for 24 hours)", () => {
  it("retries every interval until the window is spent", async () => {
    const { type, logs } = await failingWebhook({ retryPolicy: "FIXED", retryIntervalSeconds: 60, retryWindowSeconds: 300 });
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: {} } });
    g(t).wake();
    await eventually(async () => (await logs())[0]?.attemptCount === 1);
    for (let n = 2; n <= 6; n++) await attemptAfter(t, 60_000, logs, n);
    const [d] = await logs();
    expect(d).toMatchObject({ status: "FAILED", attemptCount: 6, nextAttemptAt: null });
    expect(d!.attempts.map((a) => a.attemptNumber)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe("auto-disable and operator actions", () => {
  it("disables a webhook whose every attempt failed for 5 days, and resumes pending deliveries when re-enabled", async () => {
    const { service, type, path, hook, logs } = await failingWebhook({
      retryPolicy: "FIXED",
      retryIntervalSeconds: 86_400,
      retryWindowSeconds: 30 * 86_400,
    });
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { keep: "me" } } });
    g(t).wake();
    await eventually(async () => (await logs())[0]?.attemptCount === 1);
    for (let n = 2; n <= 6; n++) await attemptAfter(t, 86_400_000, logs, n);

    const listed = async () =>
      (await service.client.ok(WebhooksDocument, { serviceId: service.id })).webhooks.data.find((w) => w.id === hook.webhook.id)!;
    const disabled = await eventually(async () => {
      const w = await listed();
      return !w.isActive && w;
    });
    expect(disabled.disabledReason).toMatch(/every delivery attempt has failed since 2026-/);

    // Disabled: even when due and the receiver is back, nothing is sent.
    receiver.reply((r) => (r.path === path ? { status: 204 } : { status: 500, body: "down" }));
    const before = receiver.requests.filter((r) => r.path === path).length;
    clock.advance(86_400_000);
    await g(t).settle();
    expect(receiver.requests.filter((r) => r.path === path)).toHaveLength(before);
    // Parked: out of the due range until the webhook is on again.
    expect((await logs())[0]).toMatchObject({ status: "RETRYING", attemptCount: 6, nextAttemptAt: null });

    await service.client.ok(UpdateWebhookDocument, { webhookId: hook.webhook.id, input: { isActive: true } });
    g(t).wake();
    const done = await eventually(async () => {
      const [d] = await logs();
      return d?.status === "SUCCEEDED" && d;
    });
    expect(done.attemptCount).toBe(7);
    expect(await listed()).toMatchObject({ isActive: true, disabledReason: null });
    receiver.reply(() => ({ status: 500, body: "down" }));
  });

  it("disables after N failed attempts in a row when so configured", async () => {
    const other = await startTestGateway({ clock, random: () => 0.5, env: { HOOKGATE_DISABLE_AFTER_FAILURES: "3", HOOKGATE_DISABLE_AFTER_DAYS: "0" } });
    try {
      const { service, type, hook, logs } = await failingWebhook({}, other);
      await other.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: {} } });
      other.gateway.dispatcher!.wake();
      await eventually(async () => (await logs())[0]?.attemptCount === 1);
      await attemptAfter(other, 5_000, logs, 2);
      await attemptAfter(other, 300_000, logs, 3);
      const w = await eventually(async () => {
        const found = (await service.client.ok(WebhooksDocument, {})).webhooks.data.find((x) => x.id === hook.webhook.id)!;
        return !found.isActive && found;
      });
      expect(w.disabledReason).toBe("disabled after 3 failed delivery attempts in a row");
    } finally {
      await other.close();
    }
  });

  it("410 Gone: the delivery FAILS at once and the webhook is disabled, saying why; nothing more is sent to it", async () => {
    const { service, type, path, hook, logs } = await failingWebhook();
    receiver.reply((r) => (r.path === path ? { status: 410, body: "gone" } : { status: 500, body: "down" }));
    try {
      await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 1 } } });
      g(t).wake();
      const [gone] = await eventually(async () => {
        const all = await logs();
        return all[0]?.attemptCount === 1 && all;
      });
      expect(gone).toMatchObject({ status: "FAILED", attemptCount: 1, nextAttemptAt: null });
      expect(gone!.attempts[0]).toMatchObject({ responseStatus: 410, errorClass: "HTTP_STATUS" });
      const w = await eventually(async () => {
        const found = (await service.client.ok(WebhooksDocument, { serviceId: service.id })).webhooks.data.find((x) => x.id === hook.webhook.id)!;
        return !found.isActive && found;
      });
      expect(w.disabledReason).toMatch(/^disabled: the receiver answered 410 Gone at 2026-.* \(it asked to be forgotten\)$/);
      // Nothing more is sent to it, however far the clock moves.
      await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 2 } } });
      clock.advance(86_400_000);
      await g(t).settle();
      expect(receiver.requests.filter((r) => r.path === path)).toHaveLength(1);
    } finally {
      receiver.reply(() => ({ status: 500, body: "down" }));
    }
  });

  it("retryDelivery gives a FAILED delivery one more attempt; replayWebhook and sendTestEvent queue new ones", async () => {
    const { service, type, path, hook, logs } = await failingWebhook({ retryPolicy: "FIXED", retryIntervalSeconds: 60, retryWindowSeconds: 60 });
    const since = clock.now().toISOString();
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { r: 1 } } });
    g(t).wake();
    await eventually(async () => (await logs())[0]?.attemptCount === 1);
    const failed = await attemptAfter(t, 60_000, logs, 2);
    expect(failed).toMatchObject({ status: "FAILED" });

    receiver.reply((r) => (r.path === path ? { status: 200 } : { status: 500, body: "down" }));
    const [first] = await logs();
    const retried = await service.client.ok(RetryDeliveryDocument, { deliveryId: (first as { id: string }).id });
    expect(retried.retryDelivery.status).toBe("RETRYING");
    g(t).wake();
    await eventually(async () => (await logs())[0]?.status === "SUCCEEDED");

    const replay = await service.client.ok(ReplayWebhookDocument, { webhookId: hook.webhook.id, since, onlyFailed: false });
    expect(replay.replayWebhook.queued).toBe(1);
    g(t).wake();
    await eventually(async () => {
      const all = await logs();
      return all.length === 2 && all.every((d) => d.status === "SUCCEEDED");
    });
    const bodies = receiver.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body).data);
    expect(bodies.slice(-2)).toEqual([{ r: 1 }, { r: 1 }]);

    const test = await service.client.ok(SendTestEventDocument, { webhookId: hook.webhook.id });
    expect(test.sendTestEvent.event).toMatchObject({ eventName: type.name, payload: { sample: "data" } });
    g(t).wake();
    await eventually(() => receiver.requests.some((r) => r.path === path && JSON.parse(r.body).data?.sample === "data"));
    receiver.reply(() => ({ status: 500, body: "down" }));
  });
});

function g(gateway: TestGateway) {
  return gateway.gateway.dispatcher!;
}
