import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { claimDue } from "../../src/dispatcher/delivery-queue.js";
import { createDispatcher, type Dispatcher } from "../../src/dispatcher/index.js";
import { createLogger } from "../../src/log.js";
import { CreateWebhookDocument, PublishEventsDocument, UpdateWebhookDocument, WebhookLogsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Received, type Receiver } from "../support/receiver.js";

// Delivery controls (README, "Ordering and rate limits"): FIFO webhooks and per-webhook rate
// limits, with TWO dispatchers on one store: the gateway's own and a second one in this process
// (on PostgreSQL, test/dispatcher/delivery-controls.pg.test.ts runs worker processes too). Time
// is a manual clock shared by both: retries and rate windows move only when the test says so.
const clock = new ManualClock(new Date("2026-03-01T00:00:00Z"));
let t: TestGateway;
let receiver: Receiver;
let second: Dispatcher;
/** Per path: what the receiver answers for the payload's n (default 204). */
const answers = new Map<string, (n: number) => number>();
/** Calls in flight per path, and the most seen at once. */
const inFlight = new Map<string, number>();
const maxInFlight = new Map<string, number>();

beforeAll(async () => {
  receiver = await startReceiver();
  receiver.reply((r) => {
    const n = (JSON.parse(r.body) as { data: { n: number } }).data.n;
    const now = (inFlight.get(r.path) ?? 0) + 1;
    inFlight.set(r.path, now);
    maxInFlight.set(r.path, Math.max(now, maxInFlight.get(r.path) ?? 0));
    // A short delay, so that two calls of one webhook in flight at once would be seen.
    setTimeout(() => inFlight.set(r.path, (inFlight.get(r.path) ?? 1) - 1), 15);
    return { status: answers.get(r.path)?.(n) ?? 204, delayMs: 20 };
  });
  t = await startTestGateway({ clock, random: () => 0.5 });
  const services = t.gateway.services;
  second = createDispatcher(t.config, { sql: t.gateway.database.sql, secrets: services.secrets, logger: createLogger("silent"), clock, guard: services.targets });
  second.start();
});
afterAll(async () => {
  await second?.stop(1_000);
  await t?.close();
  await receiver?.close();
});

/**
 * Both dispatchers have looked for due deliveries, found none, and finished what they sent; and
 * again, until a round sends nothing (recording a FIFO head makes the next one due) and nothing
 * due is left in the queue.
 */
async function settle(): Promise<void> {
  for (;;) {
    const before = receiver.requests.length;
    await Promise.all([t.gateway.dispatcher!.settle(), second.settle()]);
    await Promise.all([t.gateway.dispatcher!.settle(), second.settle()]);
    if (receiver.requests.length !== before) continue;
    // A FIFO head waits while a transaction older than its own is still open (the horizon): then a
    // claim finds it due but takes nothing. Settled means nothing due is left.
    const [row] = await t.store.database.sql.query<{ due: number }>(
      `SELECT count(*)::int AS due FROM delivery_queue WHERE due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)`,
      [clock.now().toISOString()],
    );
    if (!row!.due) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const seen = (path: string): { n: number }[] =>
  receiver.requests.filter((r: Received) => r.path === path).map((r) => ({ n: (JSON.parse(r.body) as { data: { n: number } }).data.n }));

async function fifoWebhook(path: string, extra: Record<string, unknown> = {}) {
  const service = await createService(t);
  const type = await createEventType(t);
  const hook = await createWebhook(service.client, {
    eventIds: [type.id],
    url: receiver.url(path),
    ordering: "FIFO",
    retryPolicy: "FIXED",
    retryIntervalSeconds: 60,
    retryWindowSeconds: 120,
    ...extra,
  });
  return { service, type, hook };
}

/** Publishes n = from … to-1 in batches of `batch` (each batch one transaction, in n order). */
async function publish(eventName: string, from: number, to: number, batch = 5): Promise<void> {
  for (let start = from; start < to; start += batch) {
    const events = Array.from({ length: Math.min(batch, to - start) }, (_, i) => ({ eventName, payload: { n: start + i } }));
    await t.admin.ok(PublishEventsDocument, { input: { events } });
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("FIFO webhooks", () => {
  it("one at a time, in event order, across two dispatchers; a head that fails twice holds the rest back until it succeeds", async () => {
    const path = "/fifo/retrying";
    let failures = 0;
    answers.set(path, (n) => (n === 0 && failures++ < 2 ? 500 : 204));
    const { type } = await fifoWebhook(path);
    await publish(type.name, 0, 20);
    await settle();
    // The head failed; nothing else was sent while it waits for its retry.
    expect(seen(path).map((s) => s.n)).toEqual([0]);
    clock.advance(60_000);
    await settle();
    expect(seen(path).map((s) => s.n)).toEqual([0, 0]);
    clock.advance(60_000);
    await settle();
    const order = seen(path).map((s) => s.n);
    expect(order).toEqual([0, 0, ...range(0, 20)]);
    expect(maxInFlight.get(path)).toBe(1);
  });

  it("a head that fails finally: the rest go on, and its attempt says so", async () => {
    const path = "/fifo/continue";
    answers.set(path, (n) => (n === 3 ? 500 : 204));
    const { service, type, hook } = await fifoWebhook(path);
    await publish(type.name, 0, 8, 4);
    await settle();
    expect(seen(path).map((s) => s.n)).toEqual([0, 1, 2, 3]);
    clock.advance(60_000);
    await settle();
    expect(seen(path).map((s) => s.n)).toEqual([0, 1, 2, 3, 3]);
    clock.advance(60_000);
    await settle();
    expect(seen(path).map((s) => s.n)).toEqual([0, 1, 2, 3, 3, 3, 4, 5, 6, 7]);
    const { webhookLogs } = await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id, status: "FAILED", first: 5 });
    expect(webhookLogs.edges).toHaveLength(1);
    const last = webhookLogs.edges[0]!.node.attempts.at(-1)!;
    expect(last.errorMessage).toContain("FIFO: the deliveries after it go on");
  });

  it("fifoOnFailure: PAUSE disables the webhook at a final failure; enabled again, the rest go on in order", async () => {
    const path = "/fifo/pause";
    answers.set(path, (n) => (n === 1 ? 500 : 204));
    const { service, type, hook } = await fifoWebhook(path, { fifoOnFailure: "PAUSE", retryWindowSeconds: 60 });
    await publish(type.name, 0, 6, 3);
    await settle();
    clock.advance(60_000);
    await settle();
    expect(seen(path).map((s) => s.n)).toEqual([0, 1, 1]);
    const paused = (await service.client.raw(`{ webhooks(serviceId: "${service.id}") { data { isActive disabledReason } } }`)) as {
      data: { webhooks: { data: { isActive: boolean; disabledReason: string }[] } };
    };
    expect(paused.data.webhooks.data[0]).toMatchObject({ isActive: false, disabledReason: expect.stringMatching(/^paused: delivery \d+ failed finally/) });
    clock.advance(120_000);
    await settle();
    expect(seen(path)).toHaveLength(3); // nothing while paused
    await service.client.ok(UpdateWebhookDocument, { webhookId: hook.webhook.id, input: { isActive: true } });
    await settle();
    expect(seen(path).map((s) => s.n)).toEqual([0, 1, 1, 2, 3, 4, 5]);
  });

  it("a worker that dies holding the head: the others wait out its lease, then one takes the head, and the order holds", async () => {
    const path = "/fifo/dead-worker";
    let failures = 0;
    answers.set(path, (n) => (n === 0 && failures++ < 1 ? 500 : 204));
    const { type, hook } = await fifoWebhook(path);
    await publish(type.name, 0, 6, 6);
    await settle();
    expect(seen(path).map((s) => s.n)).toEqual([0]); // the head failed once; its retry is due in 60 s
    // A worker whose retry came due claims the head, and dies before sending it.
    const leaseMs = t.config.HOOKGATE_LEASE_SECONDS * 1000;
    const claimed = await claimDue(t.gateway.database.sql, new Date(clock.now().getTime() + 60_000), 10, leaseMs);
    const mine = claimed.filter((c) => c.webhookId === Number(hook.webhook.id));
    expect(mine.map((c) => JSON.parse(c.payload) as unknown)).toEqual([{ n: 0 }]); // only the head, however many were asked for
    clock.advance(60_000);
    await settle();
    expect(seen(path)).toHaveLength(1); // nothing while its lease runs: neither the head nor the rest
    clock.advance(leaseMs + 1);
    await settle();
    expect(seen(path).map((s) => s.n)).toEqual([0, ...range(0, 6)]);
    expect(maxInFlight.get(path)).toBe(1);
  });

  it("switching a webhook with a backlog to FIFO sends the backlog in event order; back to UNORDERED sends the rest at once", async () => {
    const path = "/fifo/switched";
    let down = true;
    answers.set(path, () => (down ? 500 : 204));
    const service = await createService(t);
    const type = await createEventType(t);
    const hook = await createWebhook(service.client, {
      eventIds: [type.id],
      url: receiver.url(path),
      retryPolicy: "FIXED",
      retryIntervalSeconds: 60,
      retryWindowSeconds: 600,
    });
    await publish(type.name, 0, 6, 6);
    await settle();
    expect(seen(path)).toHaveLength(6); // all failed, unordered; a backlog waiting for its retries
    await service.client.ok(UpdateWebhookDocument, { webhookId: hook.webhook.id, input: { ordering: "FIFO" } });
    down = false;
    maxInFlight.delete(path);
    clock.advance(60_000);
    await settle();
    expect(seen(path).slice(6).map((s) => s.n)).toEqual(range(0, 6));
    expect(maxInFlight.get(path)).toBe(1);
    const fields = (await service.client.raw(`{ webhooks(serviceId: "${service.id}") { data { ordering fifoOnFailure maxDeliveriesPerSecond } } }`)) as {
      data: { webhooks: { data: unknown[] } };
    };
    expect(fields.data.webhooks.data[0]).toEqual({ ordering: "FIFO", fifoOnFailure: "CONTINUE", maxDeliveriesPerSecond: null });
    await service.client.ok(UpdateWebhookDocument, { webhookId: hook.webhook.id, input: { ordering: "UNORDERED" } });
    await publish(type.name, 6, 46, 40);
    await settle();
    expect(seen(path)).toHaveLength(52);
    expect(maxInFlight.get(path)).toBeGreaterThan(1);
  });
});

describe("rate limit per webhook", () => {
  it("maxDeliveriesPerSecond holds across two dispatchers, second by second; another webhook is not slowed", async () => {
    const limited = "/rate/limited";
    const free = "/rate/free";
    const service = await createService(t);
    const type = await createEventType(t);
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(limited), maxDeliveriesPerSecond: 5 });
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(free) });
    await publish(type.name, 0, 40, 40);
    await settle();
    const counts: number[] = [seen(limited).length];
    expect(seen(free)).toHaveLength(40); // all at once, at the first instant
    for (let second = 1; second <= 12 && counts.at(-1)! < 40; second++) {
      clock.advance(1_000);
      await settle();
      counts.push(seen(limited).length);
    }
    // At most one second's worth up front, then 5 a second (GCRA: r × (T + 1) in any T seconds).
    counts.forEach((count, second) => expect(count, `after ${second} s: ${counts.join(",")}`).toBeLessThanOrEqual(5 * (second + 1)));
    expect(counts[0]).toBe(5);
    expect(counts.at(-1)).toBe(40);
    expect(counts.length - 1, counts.join(",")).toBeLessThanOrEqual(9); // and no slower than about 5 a second
    expect(new Set(seen(limited).map((s) => s.n)).size).toBe(40);
  });

  it("removing the limit sends at once what it had put off", async () => {
    const path = "/rate/lifted";
    const service = await createService(t);
    const type = await createEventType(t);
    const hook = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(path), maxDeliveriesPerSecond: 1 });
    await publish(type.name, 0, 10, 10);
    await settle();
    expect(seen(path)).toHaveLength(1);
    await service.client.ok(UpdateWebhookDocument, { webhookId: hook.webhook.id, input: { maxDeliveriesPerSecond: null } });
    await settle();
    expect(seen(path)).toHaveLength(10); // the clock has not moved
  });

  it("refuses a rate outside 0.01 … 10000 with BAD_USER_INPUT naming the field, and writes nothing", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    for (const rate of [0, -1, 20_000]) {
      const error = await service.client.fail(CreateWebhookDocument, {
        input: { eventIds: [type.id], url: receiver.url("/rate/refused"), maxDeliveriesPerSecond: rate },
      });
      expect(error).toMatchObject({ code: "BAD_USER_INPUT", field: "input.maxDeliveriesPerSecond" });
    }
    const listed = (await service.client.raw(`{ webhooks(serviceId: "${service.id}") { totalCount } }`)) as { data: { webhooks: { totalCount: number } } };
    expect(listed.data.webhooks.totalCount).toBe(0);
    const hook = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/rate/ok"), maxDeliveriesPerSecond: 2.5 });
    const cleared = (await service.client.raw(
      `mutation { updateWebhook(webhookId: "${hook.webhook.id}", input: { maxDeliveriesPerSecond: null }) { maxDeliveriesPerSecond } }`,
    )) as { data: { updateWebhook: { maxDeliveriesPerSecond: number | null } } };
    expect(cleared.data.updateWebhook.maxDeliveriesPerSecond).toBeNull();
  });
});
