import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { runHookgate, workerEnv, type HookgateProcess } from "../support/processes.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

// Real dispatcher processes (`hookgate worker`) against one PostgreSQL database. The gateway
// in this test process runs the API only, so every delivery is made by the workers.
let t: TestGateway;
let receiver: Receiver;
const workers: HookgateProcess[] = [];

beforeAll(async () => {
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
  receiver = await startReceiver();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill("SIGKILL")));
  await t?.close();
  await receiver?.close();
});

function worker(extra: Record<string, string> = {}): HookgateProcess {
  const w = runHookgate("worker", workerEnv(t, extra));
  workers.push(w);
  return w;
}

async function publish(count: number, eventName: string) {
  for (let start = 0; start < count; start += 500) {
    const events = Array.from({ length: Math.min(500, count - start) }, (_, i) => ({ eventName, payload: { n: start + i } }));
    await t.admin.ok(PublishEventsDocument, { input: { events } });
  }
}

function countsByEvent(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of receiver.requests) {
    if (r.path !== path) continue;
    const id = r.headers["webhook-id"] as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

async function statuses(): Promise<Record<string, number>> {
  const rows = await t.store.database.sql.query<{ status: string; n: string }>(
    `SELECT status::text, count(*)::text AS n FROM deliveries GROUP BY status`,
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

describe("several dispatcher processes on one PostgreSQL", () => {
  it("two workers deliver 1,000 events exactly once each", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    const path = "/two-workers";
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(path) });
    const a = worker();
    const b = worker();
    await publish(1000, type.name);
    const counts = await eventually(() => {
      const c = countsByEvent(path);
      return c.size === 1000 && c;
    }, 60_000);
    await Promise.all([a.stop(), b.stop()]);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    console.log(`two workers: sent 1000, delivered ${counts.size}, duplicates ${duplicates}`);
    expect(duplicates).toBe(0);
    expect(receiver.requests.filter((r) => r.path === path)).toHaveLength(1000);
    expect(await statuses()).toEqual({ SUCCEEDED: 1000 });
  });

  it("a worker killed with SIGKILL mid-batch loses nothing: another takes over when the leases end", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    const path = "/killed";
    receiver.reply((r) => (r.path === path ? { status: 200, delayMs: 200 } : { status: 200 }));
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(path) });
    await publish(300, type.name);
    // Short leases (and so short timeouts: a lease must outlast an attempt) keep the takeover quick.
    const short = { HOOKGATE_LEASE_SECONDS: "3", HOOKGATE_DELIVERY_TIMEOUT_MS: "1000", HOOKGATE_CONNECT_TIMEOUT_MS: "500" };
    const victim = worker({ ...short, HOOKGATE_DISPATCH_CONCURRENCY: "40", HOOKGATE_DISPATCH_BATCH: "20" });
    await eventually(() => receiver.requests.filter((r) => r.path === path).length >= 40, 30_000);
    await victim.kill("SIGKILL");
    const seenBeforeKill = countsByEvent(path).size;
    expect(seenBeforeKill).toBeLessThan(300); // it really died mid-way

    const successor = worker(short);
    const counts = await eventually(() => {
      const c = countsByEvent(path);
      return c.size === 300 && c;
    }, 60_000);
    await eventually(async () => (await statuses()).SUCCEEDED === 1300, 30_000);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    console.log(`SIGKILL drill: sent 300, delivered ${counts.size}, duplicates ${duplicates} (in flight when killed), lost 0`);
    expect(await statuses()).toEqual({ SUCCEEDED: 1300 });
    expect(await successor.stop()).toBe(0);
    receiver.reply(() => ({ status: 200 }));
  });

  it("on SIGTERM a worker stops claiming, finishes what is in flight, and exits cleanly", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    const path = "/sigterm";
    receiver.reply((r) => (r.path === path ? { status: 200, delayMs: 300 } : { status: 200 }));
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(path) });
    await publish(200, type.name);
    const w = worker({ HOOKGATE_DISPATCH_CONCURRENCY: "10", HOOKGATE_DISPATCH_BATCH: "10" });
    await eventually(() => receiver.requests.filter((r) => r.path === path).length >= 10, 30_000);
    const code = await w.stop();
    expect(code, w.output()).toBe(0);
    const sent = countsByEvent(path).size;
    const rows = await t.store.database.sql.query<{ status: string; leased: boolean; n: string }>(
      `SELECT d.status::text, q.lease_until IS NOT NULL AS leased, count(*)::text AS n
       FROM deliveries d JOIN events ev ON ev.id = d.event_id
       LEFT JOIN delivery_queue q ON q.delivery_id = d.id
       WHERE ev.event_type_id = $1
       GROUP BY 1, 2`,
      [Number(type.id)],
    );
    const by = Object.fromEntries(rows.map((r) => [`${r.status}${r.leased ? "+leased" : ""}`, Number(r.n)]));
    // Everything that reached the receiver was recorded; nothing is left holding a lease.
    expect(by.SUCCEEDED).toBe(sent);
    expect(by["PENDING+leased"] ?? 0).toBe(0);
    expect((by.SUCCEEDED ?? 0) + (by.PENDING ?? 0)).toBe(200);
    // A finished delivery leaves the dispatcher's queue; one still to be sent stays in it.
    const [queue] = await t.store.database.sql.query<{ finished: number; waiting: number }>(
      `SELECT count(*) FILTER (WHERE d.status IN ('SUCCEEDED', 'FAILED'))::int AS finished,
              count(*) FILTER (WHERE d.status IN ('PENDING', 'RETRYING'))::int AS waiting
         FROM delivery_queue q JOIN deliveries d ON d.id = q.delivery_id`,
    );
    expect(queue).toEqual({ finished: 0, waiting: by.PENDING ?? 0 });
    receiver.reply(() => ({ status: 200 }));
  });
});
