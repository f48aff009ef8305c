import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import {
  EventsDocument,
  PublishEventDocument,
  ReplayWebhookDocument,
  UpdateWebhookDocument,
  WebhookLogsDocument,
} from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

// Retention is proven with a manual clock: events, deliveries and attempts are stamped with it,
// and the pruner measures its windows from it. Rounds are run on demand (runOnce), not waited for.
const DAY = 86_400_000;
const start = new Date("2026-03-01T00:00:00Z");
const clock = new ManualClock(start);
let t: TestGateway;
let receiver: Receiver;

beforeAll(async () => {
  t = await startTestGateway({
    clock,
    env: { HOOKGATE_RETENTION_DAYS: "30", HOOKGATE_ATTEMPT_BODY_RETENTION_DAYS: "7", HOOKGATE_RETENTION_INTERVAL_MS: "3600000" },
  });
  receiver = await startReceiver((r) => (r.path === "/parked" ? { status: 500, body: "down" } : { status: 200, body: '{"received":true}' }));
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(new URL("/metrics", t.gateway.url).toString())).text();
  const line = text.split("\n").find((l) => l.startsWith(name));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("retention", () => {
  it("clears old attempt bodies, then deletes old events with their logs, keeping what still waits or was replayed", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    const live = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/live") });
    const parked = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/parked"), isActive: false });
    const logs = async (webhookId: string) =>
      (await service.client.ok(WebhookLogsDocument, { webhookId })).webhookLogs.edges.map((e) => e.node);
    const eventIds = async () =>
      (await t.admin.ok(EventsDocument, { eventNames: [type.name], first: 50 })).events.edges.map((e) => e.node.id);

    // Day 0: "old" and "waiting" reach the live webhook (the other one is off: routed nowhere).
    const old = (await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: "old" } } })).publishEvent.event.id;
    const waiting = (await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: "waiting" } } })).publishEvent.event.id;
    await eventually(async () => {
      const delivered = await logs(live.webhook.id);
      return delivered.length === 2 && delivered.every((d) => d.status === "SUCCEEDED");
    });
    // "held" also goes to the other webhook, whose receiver fails: RETRYING, then parked when it is switched off.
    await service.client.ok(UpdateWebhookDocument, { webhookId: parked.webhook.id, input: { isActive: true } });
    const held = (await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: "held" } } })).publishEvent.event.id;
    await eventually(async () => (await logs(parked.webhook.id))[0]?.status === "RETRYING");
    await service.client.ok(UpdateWebhookDocument, { webhookId: parked.webhook.id, input: { isActive: false } });
    await eventually(async () => (await logs(live.webhook.id)).length === 3);

    // Day 8: bodies older than 7 days are cleared; the attempts themselves stay.
    clock.set(new Date(start.getTime() + 8 * DAY));
    const first = await t.gateway.pruner!.runOnce();
    expect(first).toMatchObject({ ran: true, events: 0 });
    expect(first.attemptBodies).toBe(4);
    for (const delivery of await logs(live.webhook.id)) {
      expect(delivery.attempts).toHaveLength(1);
      expect(delivery.attempts[0]).toMatchObject({ requestBody: "", responseBody: null, responseStatus: 200, succeeded: true });
    }
    expect(await metric('hookgate_pruned_total{kind="attempt_bodies"}')).toBe(first.attemptBodies);

    // Day 25: "waiting" is replayed, so its new delivery (inside the window) keeps it.
    clock.set(new Date(start.getTime() + 25 * DAY));
    const replayedSince = new Date(start.getTime()).toISOString();
    const { replayWebhook } = await service.client.ok(ReplayWebhookDocument, { webhookId: live.webhook.id, since: replayedSince });
    expect(replayWebhook.queued).toBe(3);
    t.gateway.dispatcher!.wake();
    await eventually(async () => {
      const delivered = await logs(live.webhook.id);
      return delivered.length === 6 && delivered.every((d) => d.status === "SUCCEEDED");
    });

    // Day 31: every day-0 event is past the window; the held one still waits, the replayed ones were queued on day 25.
    clock.set(new Date(start.getTime() + 31 * DAY));
    const recent = (await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: "recent" } } })).publishEvent.event.id;
    const before = await eventIds();
    expect(before).toEqual(expect.arrayContaining([old, waiting, held, recent]));
    const second = await t.gateway.pruner!.runOnce();
    expect(second.ran).toBe(true);
    // Nothing qualifies yet: all three were replayed on day 25 (inside the window), and held is parked.
    expect(second.events).toBe(0);

    // Day 56: the replays are past the window too; held still waits at the parked webhook.
    clock.set(new Date(start.getTime() + 56 * DAY));
    const third = await t.gateway.pruner!.runOnce();
    expect(third.events).toBe(2);
    const after = await eventIds();
    expect(after).toEqual(expect.arrayContaining([held, recent]));
    expect(after).not.toContain(old);
    expect(after).not.toContain(waiting);
    // Their deliveries and attempts went with them.
    const remaining = await logs(live.webhook.id);
    expect(remaining.map((d) => d.event.id)).not.toContain(old);
    expect(remaining.map((d) => d.event.id)).not.toContain(waiting);
    expect(await metric('hookgate_pruned_total{kind="events"}')).toBe(2);

    // A replay from before what was pruned would be partial: refused, naming the argument.
    const refused = await service.client.request(ReplayWebhookDocument, { webhookId: live.webhook.id, since: replayedSince });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "since" });
    expect(refused.errors?.[0]?.message).toContain("deleted by retention");
    // From after it, replay works as before.
    const later = new Date(start.getTime() + 30 * DAY).toISOString();
    expect((await service.client.ok(ReplayWebhookDocument, { webhookId: live.webhook.id, since: later })).replayWebhook.queued).toBe(1);
  });
});
