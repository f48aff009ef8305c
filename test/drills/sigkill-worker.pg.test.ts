// Drill 1: a dispatcher process (`hookgate worker`) is killed with SIGKILL twice during a burst of
// 2,000 deliveries and started again each time. Nothing may be lost (every event reaches the
// receiver at least once), and the repeats may not exceed what the dead workers held: the
// deliveries they had claimed and not yet recorded when they died (their leases).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventsDocument } from "../generated/graphql.js";
import { countDeliveries, callsPerEvent, drillEnv, reportDrill } from "../support/drill.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { runHookgate, type HookgateProcess } from "../support/processes.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

const EVENTS = 2_000;
const CONCURRENCY = 100;

let t: TestGateway;
let receiver: Receiver;
const workers: HookgateProcess[] = [];

beforeAll(async () => {
  // The API runs in this process (API only); every delivery is made by worker processes.
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
  // Receivers take 5-44 ms to answer, so a worker always has calls in flight when it dies.
  let n = 0;
  receiver = await startReceiver(() => ({ status: 200, delayMs: 5 + (n++ % 40) }));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill("SIGKILL")));
  await t?.close();
  await receiver?.close();
});

describe("drill: SIGKILL a dispatcher during a burst", () => {
  it(`loses none of ${EVENTS} events; repeats stay within what the killed workers had in flight`, async () => {
    const env = drillEnv(t.store.url!, {
      HOOKGATE_ENCRYPTION_KEY: t.config.HOOKGATE_ENCRYPTION_KEY!,
      // A short lease so a dead worker's deliveries come back quickly (it must outlast an attempt).
      HOOKGATE_LEASE_SECONDS: "3",
      HOOKGATE_DELIVERY_TIMEOUT_MS: "1000",
      HOOKGATE_CONNECT_TIMEOUT_MS: "500",
      HOOKGATE_DISPATCH_CONCURRENCY: String(CONCURRENCY),
      HOOKGATE_DISPATCH_BATCH: "50",
    });
    const startWorker = () => {
      const w = runHookgate("worker", env);
      workers.push(w);
      return w;
    };
    const service = await createService(t);
    const type = await createEventType(t);
    const path = "/sigkill-drill";
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(path) });
    const calls = () => callsPerEvent(receiver.requests, path);
    // The events of deliveries claimed and not recorded: after a kill, exactly what dead workers held.
    const leasedEvents = async () =>
      (
        await t.store.database.sql.query<{ event_id: string }>(
          `SELECT d.event_id::text AS event_id FROM delivery_queue q JOIN deliveries d ON d.id = q.delivery_id WHERE q.lease_until IS NOT NULL`,
        )
      ).map((r) => r.event_id);
    const started = Date.now();
    let worker = startWorker();
    // The burst: published in batches of 250 while the worker is already delivering.
    const sentIds: string[] = [];
    const publishing = (async () => {
      for (let start = 0; start < EVENTS; start += 250) {
        const events = Array.from({ length: 250 }, (_, i) => ({ eventName: type.name, payload: { n: start + i } }));
        const { publishEvents } = await t.admin.ok(PublishEventsDocument, { input: { events } });
        sentIds.push(...publishEvents.results.map((r) => r.event.id));
      }
    })();

    // Kill at about a third and at about two thirds of the burst; each time a new worker starts.
    const inFlightAtKill: number[] = [];
    /** How many kills found each event held by the dead worker. */
    const heldAtKill = new Map<string, number>();
    for (const threshold of [Math.round(EVENTS / 3), Math.round((2 * EVENTS) / 3)]) {
      await eventually(() => calls().size >= threshold, 60_000, () => `${calls().size} events received\n${worker.output()}`);
      await worker.kill("SIGKILL");
      // Claimed and not recorded: what the dead worker held (and any lease an earlier victim left
      // that has not been taken over yet). Only these can be sent twice.
      const held = await leasedEvents();
      inFlightAtKill.push(held.length);
      for (const id of held) heldAtKill.set(id, (heldAtKill.get(id) ?? 0) + 1);
      worker = startWorker();
    }
    await publishing;
    expect(sentIds).toHaveLength(EVENTS);

    const statuses = async () =>
      Object.fromEntries(
        (
          await t.store.database.sql.query<{ status: string; n: string }>(
            `SELECT status::text, count(*)::text AS n FROM deliveries GROUP BY status`,
          )
        ).map((r) => [r.status, Number(r.n)]),
      );
    await eventually(async () => (await statuses()).SUCCEEDED === EVENTS, 90_000, () => `${calls().size} events received`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    expect(await worker.stop(), worker.output()).toBe(0);

    const perEvent = calls();
    const count = countDeliveries(sentIds, perEvent);
    reportDrill("sigkill-worker", {
      sent: count.sent,
      delivered: count.delivered,
      duplicates: count.duplicates,
      lost: count.lost,
      kills: inFlightAtKill.length,
      heldAtKills: inFlightAtKill.join("+"),
      heldEvents: heldAtKill.size,
      concurrency: CONCURRENCY,
      seconds,
    });
    expect(count.lostIds).toEqual([]);
    // Repeats come only from what dead workers held: an event is sent at most once more per kill
    // that found it held, and an event no kill found held is sent exactly once.
    const beyondInFlight = [...perEvent].filter(([id, n]) => n > 1 + (heldAtKill.get(id) ?? 0));
    // On failure: what the log says of those events' attempts (a timeout is a retry, not a kill).
    const logged = beyondInFlight.length
      ? await t.store.database.sql.query<{ event_id: string; attempt_number: number; error_class: string | null }>(
          `SELECT d.event_id::text AS event_id, a.attempt_number, a.error_class FROM delivery_attempts a
             JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = ANY($1::bigint[]) ORDER BY 1, 2`,
          [beyondInFlight.map(([id]) => id)],
        )
      : [];
    expect(beyondInFlight, JSON.stringify(logged)).toEqual([]);
    expect(count.duplicates).toBeLessThanOrEqual(heldAtKill.size);
    expect(await statuses()).toEqual({ SUCCEEDED: EVENTS });
    // Every call the receiver answered is in the attempt log once, or was the dead worker's unrecorded one.
    const [row] = await t.store.database.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM delivery_attempts`);
    const attempts = Number(row?.n);
    expect(attempts).toBeLessThanOrEqual(count.delivered + count.duplicates);
    expect(attempts).toBeGreaterThanOrEqual(EVENTS);
  }, 115_000);
});
