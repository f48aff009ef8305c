import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { PublishEventDocument, PublishEventsDocument, WebhookLogsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, EVENT_PUBLISHED, waitForItems, wsClient, type LiveEvent } from "../support/live.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

// Operational events (README, "Operational events"): Hookgate tells the service that owns a
// webhook when a delivery to it failed finally and when it was disabled, by webhook and by
// subscription, and tells no other service. Retries are driven by a manual clock, no sleeps.
const clock = new ManualClock(new Date("2026-02-01T00:00:00Z"));
let t: TestGateway;
let receiver: Receiver;
const OPS = ["hookgate.delivery.failed", "hookgate.webhook.disabled", "hookgate.webhook.failing"];
/** Paths ending in /flaky answer 500 unless listed here. */
const healthy = new Set<string>();

beforeAll(async () => {
  t = await startTestGateway({ clock, random: () => 0.5 });
  // Paths ending in /fail answer 500, in /gone 410, in /flaky 500 unless healthy; everything else 204.
  receiver = await startReceiver((r) =>
    r.path.endsWith("/fail") || (r.path.endsWith("/flaky") && !healthy.has(r.path))
      ? { status: 500, body: "down" }
      : r.path.endsWith("/gone")
        ? { status: 410, body: "gone" }
        : { status: 204 },
  );
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

const bodies = (path: string) => receiver.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });

/**
 * Service A with a failing webhook (on its own type) and a webhook subscribed to the operational
 * events; service B subscribed to the same operational types and to a fence type, by webhook and
 * by live subscription.
 */
async function world(failingPath: string) {
  const id = Math.random().toString(36).slice(2, 8);
  const a = await createService(t);
  const b = await createService(t);
  const type = await createEventType(t);
  const fence = await createEventType(t);
  const failing = await createWebhook(a.client, {
    eventIds: [type.id],
    url: receiver.url(`/${id}${failingPath}`),
    retryPolicy: "FIXED",
    retryIntervalSeconds: 60,
    retryWindowSeconds: 60,
  });
  const aOps = `/${id}/a/ops`;
  const bOps = `/${id}/b/ops`;
  await createWebhook(a.client, { eventIds: [], eventNames: OPS, url: receiver.url(aOps) });
  await createWebhook(b.client, { eventIds: [fence.id], eventNames: OPS, url: receiver.url(bOps) });
  // The subscriptions resume after a marker event (routed nowhere), so whatever is published
  // later reaches them however long they take to open.
  const marker = await createEventType(t);
  const { publishEvent } = await t.admin.ok(PublishEventDocument, { input: { eventName: marker.name, payload: { marker: true } } });
  const after = publishEvent.event.id;
  const aLive = wsClient(t.gateway.url!, a.token);
  const bLive = wsClient(t.gateway.url!, b.token);
  const aSeen = collect<LiveEvent>(aLive, EVENT_PUBLISHED, { eventNames: OPS, after });
  const bSeen = collect<LiveEvent>(bLive, EVENT_PUBLISHED, { eventNames: [...OPS, fence.name], after });
  const logs = async () => (await a.client.ok(WebhookLogsDocument, { webhookId: failing.webhook.id })).webhookLogs.edges.map((e) => e.node);
  /** A fence event to B: once B has it (webhook and subscription), anything meant for B before it has arrived too. */
  const fenced = async () => {
    await t.admin.ok(PublishEventDocument, { input: { eventName: fence.name, payload: { fence: true } } });
    t.gateway.dispatcher!.wake();
    await eventually(async () => bodies(bOps).some((x) => x.type === fence.name));
    await eventually(async () => bSeen.items.some((x) => x.eventName === fence.name));
  };
  const close = async () => {
    aSeen.stop();
    bSeen.stop();
    await aLive.dispose();
    await bLive.dispose();
  };
  return { a, b, type, failing, aOps, bOps, aSeen, bSeen, logs, fenced, close };
}

describe("operational events", () => {
  it("a delivery that fails finally: hookgate.delivery.failed reaches the owning service (webhook and subscription), and no other", async () => {
    const w = await world("/fail");
    try {
      const published = await t.admin.ok(PublishEventDocument, { input: { eventName: w.type.name, payload: { n: 1 } } });
      t.gateway.dispatcher!.wake();
      await eventually(async () => (await w.logs())[0]?.attemptCount === 1);
      clock.advance(60_000);
      t.gateway.dispatcher!.wake();
      const failed = await eventually(async () => {
        const [d] = await w.logs();
        return d?.status === "FAILED" && d;
      });
      const [delivered] = await eventually(async () => {
        const got = bodies(w.aOps);
        return got.length > 0 && got;
      });
      expect(delivered!.type).toBe("hookgate.delivery.failed");
      expect(delivered!.data).toEqual({
        deliveryId: failed.id,
        eventId: published.publishEvent.event.id,
        eventName: w.type.name,
        webhookId: w.failing.webhook.id,
        url: w.failing.webhook.url,
        serviceId: w.a.id,
        attempts: 2,
        lastStatus: 500,
        lastError: "HTTP_STATUS: HTTP 500",
        failedAt: expect.stringMatching(/^2026-02-01T00:01:00/),
      });
      const [live] = await waitForItems(w.aSeen, 1);
      expect(live).toMatchObject({ eventName: "hookgate.delivery.failed", payload: delivered!.data });

      await w.fenced();
      expect(bodies(w.bOps).map((x) => x.type)).not.toContain("hookgate.delivery.failed");
      expect(w.bSeen.items.map((x) => x.eventName)).not.toContain("hookgate.delivery.failed");
      // Nor does B find it with the events query; A does.
      const listed = async (client: typeof w.a.client) =>
        ((await client.raw(`{ events(first: 100, eventNames: ["hookgate.delivery.failed"]) { edges { node { payload } } } }`)) as {
          data: { events: { edges: { node: { payload: { deliveryId: string } } }[] } };
        }).data.events.edges.map((e) => e.node.payload.deliveryId);
      expect(await listed(w.a.client)).toContain(failed.id);
      expect(await listed(w.b.client)).not.toContain(failed.id);
    } finally {
      await w.close();
    }
  });

  it("410 Gone: hookgate.webhook.disabled (and delivery.failed) to the owning service only", async () => {
    const w = await world("/gone");
    try {
      await t.admin.ok(PublishEventDocument, { input: { eventName: w.type.name, payload: { n: 2 } } });
      t.gateway.dispatcher!.wake();
      const got = await eventually(async () => {
        const all = bodies(w.aOps);
        return all.length >= 2 && all;
      });
      const disabled = got.find((x) => x.type === "hookgate.webhook.disabled")!;
      expect(disabled.data).toEqual({
        webhookId: w.failing.webhook.id,
        url: w.failing.webhook.url,
        serviceId: w.a.id,
        reason: expect.stringMatching(/^disabled: the receiver answered 410 Gone at 2026-/),
        disabledAt: expect.stringMatching(/^2026-/),
      });
      expect(got.find((x) => x.type === "hookgate.delivery.failed")!.data).toMatchObject({ attempts: 1, lastStatus: 410 });
      expect(JSON.stringify(got)).not.toMatch(/secret|authorization/i);
      const live = await waitForItems(w.aSeen, 2);
      expect(live.map((x) => x.eventName).sort()).toEqual(["hookgate.delivery.failed", "hookgate.webhook.disabled"]);

      await w.fenced();
      expect(bodies(w.bOps).map((x) => x.type)).toEqual([expect.not.stringMatching(/^hookgate\./)]);
      expect(w.bSeen.items.map((x) => x.eventName).filter((n) => n.startsWith("hookgate."))).toEqual([]);
    } finally {
      await w.close();
    }
  });

  it("hookgate.webhook.failing: once per failure streak, at HOOKGATE_FAILING_AFTER_FAILURES, to the owning service only", async () => {
    const w = await world("/flaky");
    const path = new URL(w.failing.webhook.url).pathname;
    const attempts = async () => (await w.logs()).reduce((n, d) => n + d.attemptCount, 0);
    const publish = async (from: number, count: number) => {
      const events = Array.from({ length: count }, (_, i) => ({ eventName: w.type.name, payload: { n: from + i } }));
      await t.admin.ok(PublishEventsDocument, { input: { events } });
      t.gateway.dispatcher!.wake();
    };
    const failingSeen = () => w.aSeen.items.filter((x) => x.eventName === "hookgate.webhook.failing");
    try {
      expect(t.config.HOOKGATE_FAILING_AFTER_FAILURES).toBe(5);
      await publish(0, 4);
      await eventually(async () => (await attempts()) === 4);
      await publish(4, 1); // the fifth failure in a row
      const [first] = await eventually(async () => bodies(w.aOps).filter((x) => x.type === "hookgate.webhook.failing").length === 1 && bodies(w.aOps));
      const failing = bodies(w.aOps).find((x) => x.type === "hookgate.webhook.failing")!;
      expect(first).toBeDefined();
      expect(failing.data).toEqual({
        webhookId: w.failing.webhook.id,
        url: w.failing.webhook.url,
        serviceId: w.a.id,
        consecutiveFailures: 5,
        failingSince: expect.stringMatching(/^2026-/),
        lastStatus: 500,
        lastError: "HTTP_STATUS: HTTP 500",
        reportedAt: expect.stringMatching(/^2026-/),
      });
      // Two more failures in the same streak: no second report.
      await publish(5, 2);
      await eventually(async () => (await attempts()) === 7);
      // A success ends the streak; five more failures start a new one, reported once again.
      healthy.add(path);
      await publish(7, 1);
      await eventually(async () => (await w.logs()).some((d) => d.status === "SUCCEEDED"));
      healthy.delete(path);
      await publish(8, 5);
      await eventually(() => failingSeen().length >= 2, 15_000);
      await t.gateway.dispatcher!.settle();
      // In the order they were published: one per streak, each at the fifth failure (never at the sixth or seventh).
      expect(failingSeen().map((x) => (x.payload as { consecutiveFailures: number }).consecutiveFailures)).toEqual([5, 5]);

      await w.fenced();
      expect(bodies(w.bOps).map((x) => x.type)).not.toContain("hookgate.webhook.failing");
      expect(w.bSeen.items.map((x) => x.eventName)).not.toContain("hookgate.webhook.failing");
    } finally {
      healthy.delete(path);
      await w.close();
    }
  });

  it("no loop: a failed delivery of an operational event makes no hookgate.delivery.failed", async () => {
    const a = await createService(t);
    const type = await createEventType(t);
    const id = Math.random().toString(36).slice(2, 8);
    await createWebhook(a.client, { eventIds: [type.id], url: receiver.url(`/${id}/gone`) });
    // The service's operational webhook answers 410 too: its delivery of the operational event fails finally.
    const ops = await createWebhook(a.client, { eventIds: [], eventNames: ["hookgate.delivery.failed"], url: receiver.url(`/${id}/ops/gone`) });
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 3 } } });
    t.gateway.dispatcher!.wake();
    await eventually(async () => receiver.requests.some((r) => r.path === `/${id}/ops/gone`));
    const logs = async () => (await a.client.ok(WebhookLogsDocument, { webhookId: ops.webhook.id })).webhookLogs.edges.map((e) => e.node);
    await eventually(async () => (await logs())[0]?.status === "FAILED");
    await t.gateway.dispatcher!.settle();
    const failedEvents = (await a.client.raw(`{ events(first: 100, eventNames: ["hookgate.delivery.failed"]) { edges { node { payload } } } }`)) as {
      data: { events: { edges: { node: { payload: { eventName: string } } }[] } };
    };
    expect(failedEvents.data.events.edges.map((e) => e.node.payload.eventName)).toEqual([type.name]);
  });

  it("reserved names: hookgate.* types are listed, and cannot be created, changed or published through the API", async () => {
    const catalog = (await t.admin.raw(`{ webhookEvents(perPage: 100) { data { id name jsonSchema sampleData } } }`)) as {
      data: { webhookEvents: { data: { id: string; name: string; jsonSchema: unknown }[] } };
    };
    const reserved = catalog.data.webhookEvents.data.filter((e) => e.name.startsWith("hookgate."));
    expect(reserved.map((e) => [e.id, e.name])).toEqual([
      ["-3", "hookgate.webhook.failing"],
      ["-2", "hookgate.webhook.disabled"],
      ["-1", "hookgate.delivery.failed"],
    ]);
    expect(reserved.every((e) => e.jsonSchema !== null)).toBe(true);

    const created = (await t.admin.raw(`mutation { createEventType(input: { name: "hookgate.mine" }) { id } }`)) as unknown as {
      errors: { message: string; extensions: { code: string; field: string } }[];
    };
    expect(created.errors[0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.name" });
    expect(created.errors[0]!.message).toMatch(/reserved/);

    const published = (await t.admin.raw(`mutation { publishEvent(input: { eventName: "hookgate.webhook.disabled", payload: {} }) { duplicate } }`)) as unknown as {
      errors: { message: string; extensions: { code: string; field: string } }[];
    };
    expect(published.errors[0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.eventName" });
    expect(published.errors[0]!.message).toMatch(/reserved for Hookgate's operational events/);

    const changed = (await t.admin.raw(`mutation { updateEventType(eventTypeId: "-1", input: { description: "x" }) { id } }`)) as unknown as {
      errors: { extensions: { code: string; field: string } }[];
    };
    expect(changed.errors[0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "eventTypeId" });
  });
});
