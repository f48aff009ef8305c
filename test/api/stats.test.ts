import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { PublishEventDocument, UpdateEventTypeDocument, WebhookLogsDocument, WebhookStatsDocument } from "../generated/graphql.js";
import { createCustomer, createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

// webhookStats (the console's charts): attempts counted in the right buckets of the window, by
// the attempts' own start times (a manual clock sets them), with the API's usual scopes.
const T0 = new Date("2026-01-05T10:00:30Z");
const clock = new ManualClock(new Date(T0.getTime() - 3 * 3_600_000));
let t: TestGateway;
let ok: Receiver;
let down: Receiver;
let service: Awaited<ReturnType<typeof createService>>;
let good: string;
let bad: string;

beforeAll(async () => {
  t = await startTestGateway({ clock });
  ok = await startReceiver(() => ({ status: 200 }));
  down = await startReceiver(() => ({ status: 500 }));
  service = await createService(t);
  const type = await createEventType(t);
  good = (await createWebhook(service.client, { eventIds: [type.id], url: ok.url() })).webhook.id;
  // Retries every 2 h: one retry falls due by T0 - 10 min, none between then and T0.
  bad = (
    await createWebhook(service.client, { eventIds: [type.id], url: down.url(), retryPolicy: "FIXED", retryIntervalSeconds: 7200, retryWindowSeconds: 86_400 })
  ).webhook.id;
  const attempts = async (webhookId: string) =>
    (await t.admin.ok(WebhookLogsDocument, { webhookId })).webhookLogs.edges.reduce((n, e) => n + e.node.attemptCount, 0);

  // T0 - 3 h: one event, one attempt each.
  await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 1 } } });
  await eventually(async () => (await attempts(good)) === 1 && (await attempts(bad)) === 1);
  // T0 - 10 min: another event (one attempt each) and the first event's retry on the failing one.
  clock.set(new Date(T0.getTime() - 10 * 60_000));
  await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 2 } } });
  t.gateway.dispatcher!.wake();
  await eventually(async () => (await attempts(good)) === 2 && (await attempts(bad)) === 3);
  clock.set(T0);
});

afterAll(async () => {
  await t?.close();
  await ok?.close();
  await down?.close();
});

describe("webhookStats", () => {
  it("counts the attempts in the window per bucket, and leaves out older ones", async () => {
    const { webhookStats } = await service.client.ok(WebhookStatsDocument, { webhookIds: [good, bad], hours: 1, bucketMinutes: 5 });
    expect(webhookStats).toEqual({
      since: "2026-01-05T09:05:00.000Z",
      until: "2026-01-05T10:05:00.000Z",
      bucketSeconds: 300,
      webhooks: [
        { webhookId: good, attempts: 1, succeeded: 1, successRate: 1, buckets: [{ start: "2026-01-05T09:50:00.000Z", attempts: 1, succeeded: 1 }] },
        { webhookId: bad, attempts: 2, succeeded: 0, successRate: 0, buckets: [{ start: "2026-01-05T09:50:00.000Z", attempts: 2, succeeded: 0 }] },
      ],
    });
  });

  it("reaches back as many hours as asked", async () => {
    const { webhookStats } = await t.admin.ok(WebhookStatsDocument, { webhookIds: [bad, good], hours: 4, bucketMinutes: 60 });
    expect(webhookStats.since).toBe("2026-01-05T07:00:00.000Z");
    expect(webhookStats.webhooks.map((s) => [s.webhookId, s.attempts, s.succeeded, s.buckets.map((b) => [b.start.slice(11, 16), b.attempts])])).toEqual([
      [bad, 3, 0, [["07:00", 1], ["09:00", 2]]],
      [good, 2, 2, [["07:00", 1], ["09:00", 1]]],
    ]);
  });

  it("gives a webhook without attempts a null success rate", async () => {
    clock.set(new Date(T0.getTime() + 48 * 3_600_000));
    try {
      const { webhookStats } = await t.admin.ok(WebhookStatsDocument, { webhookIds: [good] });
      expect(webhookStats.bucketSeconds).toBe(60);
      expect(webhookStats.webhooks).toEqual([{ webhookId: good, attempts: 0, succeeded: 0, successRate: null, buckets: [] }]);
    } finally {
      clock.set(T0);
    }
  });

  it("lets a service see only its own webhooks", async () => {
    const other = await createService(t);
    const type = await createEventType(t);
    const theirs = (await createWebhook(other.client, { eventIds: [type.id] })).webhook.id;
    expect(await service.client.fail(WebhookStatsDocument, { webhookIds: [good, theirs] })).toMatchObject({ code: "FORBIDDEN", field: "webhookIds" });
    const customer = await createCustomer(t);
    expect((await customer.client.fail(WebhookStatsDocument, { webhookIds: [good] })).code).toBe("FORBIDDEN");
    expect((await t.as().fail(WebhookStatsDocument, { webhookIds: [good] })).code).toBe("UNAUTHENTICATED");
    expect(await t.admin.fail(WebhookStatsDocument, { webhookIds: ["999999"] })).toMatchObject({ code: "NOT_FOUND", field: "webhookIds" });
  });

  it("refuses an unbounded or malformed window", async () => {
    const cases: [{ webhookIds: string[]; hours?: number; bucketMinutes?: number }, string][] = [
      [{ webhookIds: [good], hours: 0 }, "hours"],
      [{ webhookIds: [good], hours: 25 }, "hours"],
      [{ webhookIds: [good], bucketMinutes: 0 }, "bucketMinutes"],
      [{ webhookIds: [good], bucketMinutes: 61 }, "bucketMinutes"],
      [{ webhookIds: [] }, "webhookIds"],
      [{ webhookIds: Array.from({ length: 51 }, (_, i) => String(i + 1)) }, "webhookIds"],
      [{ webhookIds: ["x"] }, "webhookIds"],
    ];
    for (const [variables, field] of cases) {
      expect(await t.admin.fail(WebhookStatsDocument, variables), JSON.stringify(variables)).toMatchObject({ code: "BAD_USER_INPUT", field });
    }
  });
});

describe("updateEventType", () => {
  it("changes the description, sample and scopes, never the name, and only for the admin", async () => {
    const type = await createEventType(t);
    const { updateEventType } = await t.admin.ok(UpdateEventTypeDocument, {
      eventTypeId: type.id,
      input: { description: "An order was placed", sampleData: { orderId: 1 }, scopes: ["order.read"] },
    });
    expect(updateEventType).toEqual({
      id: type.id,
      name: type.name,
      description: "An order was placed",
      sampleData: { orderId: 1 },
      scopes: ["order.read"],
      jsonSchema: null,
    });
    // Fields left out stay.
    const again = await t.admin.ok(UpdateEventTypeDocument, { eventTypeId: type.id, input: { description: "Placed" } });
    expect(again.updateEventType).toMatchObject({ description: "Placed", sampleData: { orderId: 1 }, scopes: ["order.read"] });
    expect((await service.client.fail(UpdateEventTypeDocument, { eventTypeId: type.id, input: { description: "x" } })).code).toBe("FORBIDDEN");
    expect((await t.admin.fail(UpdateEventTypeDocument, { eventTypeId: "999999", input: { description: "x" } })).code).toBe("NOT_FOUND");
    expect(await t.admin.fail(UpdateEventTypeDocument, { eventTypeId: type.id, input: { sampleData: null } })).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.sampleData",
    });
    expect(await t.admin.fail(UpdateEventTypeDocument, { eventTypeId: type.id, input: { scopes: [""] } })).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.scopes[0]",
    });
  });
});
