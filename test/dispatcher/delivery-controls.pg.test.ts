import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { runHookgate, workerEnv, type HookgateProcess } from "../support/processes.js";
import { eventually, startReceiver, type Receiver, type Reply } from "../support/receiver.js";

// Delivery controls with real dispatcher processes (`hookgate worker`) on one PostgreSQL, in real
// time: the gateway in this process serves the API only. (test/dispatcher/delivery-controls.test.ts
// covers the same rules step by step with a manual clock, on both stores.)
let t: TestGateway;
let receiver: Receiver;
const workers: HookgateProcess[] = [];
/** Per path: the answer for the payload's n and how many times that n was seen before. */
const answers = new Map<string, (n: number, seenBefore: number) => Reply>();
const arrivals: { path: string; n: number; at: number }[] = [];
const inFlight = new Map<string, number>();
const maxInFlight = new Map<string, number>();

beforeAll(async () => {
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
  receiver = await startReceiver();
  receiver.reply((r) => {
    const n = (JSON.parse(r.body) as { data: { n: number } }).data.n;
    const seenBefore = arrivals.filter((a) => a.path === r.path && a.n === n).length;
    arrivals.push({ path: r.path, n, at: Date.now() });
    const reply = answers.get(r.path)?.(n, seenBefore) ?? { status: 204 };
    if (reply === "hang" || reply === "reset") return reply;
    const now = (inFlight.get(r.path) ?? 0) + 1;
    inFlight.set(r.path, now);
    maxInFlight.set(r.path, Math.max(now, maxInFlight.get(r.path) ?? 0));
    const delayMs = reply.delayMs ?? 20;
    setTimeout(() => inFlight.set(r.path, (inFlight.get(r.path) ?? 1) - 1), delayMs - 5);
    return { ...reply, delayMs };
  });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill("SIGKILL")));
  await t?.close();
  await receiver?.close();
});

// Short leases (and so short timeouts: a lease must outlast an attempt) keep a takeover quick.
function worker(): HookgateProcess {
  const w = runHookgate("worker", workerEnv(t, { HOOKGATE_LEASE_SECONDS: "3", HOOKGATE_DELIVERY_TIMEOUT_MS: "1000", HOOKGATE_CONNECT_TIMEOUT_MS: "500" }));
  workers.push(w);
  return w;
}

async function publish(eventName: string, count: number, batch: number): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    const events = Array.from({ length: Math.min(batch, count - start) }, (_, i) => ({ eventName, payload: { n: start + i } }));
    await t.admin.ok(PublishEventsDocument, { input: { events } });
  }
}

const seen = (path: string) => arrivals.filter((a) => a.path === path);

describe("delivery controls across dispatcher processes", () => {
  it("FIFO: two workers, a head that fails twice, then both killed while one holds a head: event order, one at a time", async () => {
    const path = "/pg/fifo";
    // n = 0 fails twice; n = 10's first call never answers (its worker is killed meanwhile).
    answers.set(path, (n, before) => (n === 0 && before < 2 ? { status: 500 } : n === 10 && before === 0 ? "hang" : { status: 204 }));
    const service = await createService(t);
    const type = await createEventType(t);
    await createWebhook(service.client, {
      eventIds: [type.id],
      url: receiver.url(path),
      ordering: "FIFO",
      retryPolicy: "FIXED",
      retryIntervalSeconds: 1,
      retryWindowSeconds: 120,
    });
    const first = [worker(), worker()];
    await publish(type.name, 30, 5);
    await eventually(() => seen(path).some((a) => a.n === 10), 30_000);
    await Promise.all(first.map((w) => w.kill("SIGKILL")));
    const killedAt = Date.now();
    expect(seen(path).map((a) => a.n)).toEqual([0, 0, ...Array.from({ length: 11 }, (_, i) => i)]);
    worker();
    worker();
    await eventually(() => seen(path).length === 33, 60_000, () => JSON.stringify(seen(path).map((a) => a.n)));
    const order = seen(path).map((a) => a.n);
    expect(order).toEqual([0, 0, ...Array.from({ length: 11 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 10 + i)]);
    // The head held by a dead worker went again only once its lease (3 s) had run out.
    const retaken = seen(path).filter((a) => a.n === 10)[1]!;
    expect(retaken.at - killedAt).toBeGreaterThan(1_000);
    expect(maxInFlight.get(path)).toBe(1);
  });

  it("maxDeliveriesPerSecond: two workers together keep to it; an unlimited webhook of the same events is not slowed", async () => {
    const limited = "/pg/rate/limited";
    const free = "/pg/rate/free";
    const service = await createService(t);
    const type = await createEventType(t);
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(limited), maxDeliveriesPerSecond: 10 });
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(free) });
    if (workers.filter((w) => w.alive()).length < 2) {
      worker();
      worker();
    }
    const started = Date.now();
    await publish(type.name, 60, 60);
    await eventually(() => seen(free).length === 60, 10_000);
    const freeDone = Date.now() - started;
    await eventually(() => seen(limited).length === 60, 30_000);
    const times = seen(limited).map((a) => a.at);
    const span = times.at(-1)! - times[0]!;
    // 10 at once (one second's worth), then 10 a second: 50 more take at least 5 s.
    expect(span, `limited: ${span} ms for 60`).toBeGreaterThan(4_000);
    // No second holds more than r × (1 + 1) = 20 (a little slack for the network between claim and arrival).
    const busiest = Math.max(...times.map((from) => times.filter((at) => at >= from && at < from + 1_000).length));
    expect(busiest, `busiest second: ${busiest}`).toBeLessThanOrEqual(22);
    expect(freeDone, `unlimited webhook: ${freeDone} ms`).toBeLessThan(span);
    expect(new Set(seen(limited).map((a) => a.n)).size).toBe(60);
    console.log(`rate 10/s over two workers: 60 deliveries in ${span} ms, busiest second ${busiest}; unlimited webhook done in ${freeDone} ms`);
  });
});
