// Drill 3: a receiver that fails most ways a receiver fails. Of its calls it answers 500 to a
// third, never answers a tenth (the attempt times out: HOOKGATE_DELIVERY_TIMEOUT_MS), drops the
// connection on a tenth, and answers 200 to the rest. The webhook retries FIXED every second for
// 60 s (the API's smallest interval and window). Every event must be delivered inside its
// retry window, and every call must be in the attempt log with the error class it deserved.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventsDocument } from "../generated/graphql.js";
import { drillEnv, reportDrill } from "../support/drill.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { runHookgate, type HookgateProcess } from "../support/processes.js";
import { eventually, startReceiver, type Receiver, type Reply } from "../support/receiver.js";

const EVENTS = 500;
const WINDOW_SECONDS = 60;
const INTERVAL_SECONDS = 1;
const TIMEOUT_MS = 1_000;

type Outcome = "ok" | "500" | "hang" | "reset";
/** The error class each receiver behaviour must be logged with. */
const EXPECTED_CLASS: Record<Outcome, string> = { ok: "OK", "500": "HTTP_STATUS", hang: "TIMEOUT", reset: "CONNECTION_RESET" };

/** mulberry32: a seeded generator, so a failing run can be replayed with the same choices. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.HOOKGATE_DRILL_SEED ?? 20_260_523);
let t: TestGateway;
let receiver: Receiver;
let worker: HookgateProcess | undefined;
const calls: { eventId: string; outcome: Outcome }[] = [];

beforeAll(async () => {
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
  const random = seeded(SEED);
  receiver = await startReceiver((request): Reply => {
    const x = random();
    const outcome: Outcome = x < 1 / 3 ? "500" : x < 1 / 3 + 1 / 10 ? "hang" : x < 1 / 3 + 2 / 10 ? "reset" : "ok";
    calls.push({ eventId: request.headers["webhook-id"] as string, outcome });
    if (outcome === "hang" || outcome === "reset") return outcome;
    return outcome === "500" ? { status: 500, body: "drill: failing on purpose" } : { status: 200, body: "ok" };
  });
});
afterAll(async () => {
  await worker?.kill("SIGKILL");
  await t?.close();
  await receiver?.close();
});

describe("drill: a receiver that fails half its calls", () => {
  it(`delivers all ${EVENTS} events within their retry window (FIXED ${INTERVAL_SECONDS} s for ${WINDOW_SECONDS} s)`, async () => {
    worker = runHookgate(
      "worker",
      drillEnv(t.store.url!, {
        HOOKGATE_ENCRYPTION_KEY: t.config.HOOKGATE_ENCRYPTION_KEY!,
        HOOKGATE_DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
        HOOKGATE_CONNECT_TIMEOUT_MS: "500",
        HOOKGATE_LEASE_SECONDS: "3",
        HOOKGATE_DISPATCH_CONCURRENCY: "100",
        HOOKGATE_DISPATCH_BATCH: "50",
      }),
    );
    const w = worker;
    const service = await createService(t);
    const type = await createEventType(t);
    await createWebhook(service.client, {
      eventIds: [type.id],
      url: receiver.url("/flaky"),
      retryPolicy: "FIXED",
      retryIntervalSeconds: INTERVAL_SECONDS,
      retryWindowSeconds: WINDOW_SECONDS,
    });
    const started = Date.now();
    const sentIds: string[] = [];
    for (let start = 0; start < EVENTS; start += 250) {
      const events = Array.from({ length: 250 }, (_, i) => ({ eventName: type.name, payload: { n: start + i } }));
      const { publishEvents } = await t.admin.ok(PublishEventsDocument, { input: { events } });
      sentIds.push(...publishEvents.results.map((r) => r.event.id));
    }

    const sql = t.store.database.sql;
    const open = async () =>
      Number((await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM deliveries WHERE status IN ('PENDING', 'RETRYING')`))[0]?.n);
    // Bounded by the window: past it nothing may still be open (it would be FAILED).
    await eventually(async () => (await open()) === 0, (WINDOW_SECONDS + 20) * 1000, () => `${calls.length} calls\n${w.output()}`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    expect(await w.stop(), w.output()).toBe(0);

    // Per event, from the deliveries and the attempt log.
    const rows = await sql.query<{ event_id: string; status: string; attempts: number; to_success_ms: number | null }>(`
      SELECT d.event_id::text AS event_id, d.status::text AS status,
        (SELECT count(*)::int FROM delivery_attempts a WHERE a.delivery_id = d.id) AS attempts,
        (SELECT (extract(epoch FROM min(a.started_at) - d.created_at) * 1000)::float8
           FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.succeeded) AS to_success_ms
      FROM deliveries d`);
    const byClass = Object.fromEntries(
      (
        await sql.query<{ class: string; n: number }>(
          `SELECT coalesce(error_class, 'OK') AS class, count(*)::int AS n FROM delivery_attempts GROUP BY 1 ORDER BY 1`,
        )
      ).map((r) => [r.class, Number(r.n)]),
    );

    // Per event, from the receiver: calls, and calls it answered 200 (more than one is a duplicate).
    const okPerEvent = new Map<string, number>();
    const receivedByOutcome: Record<string, number> = {};
    for (const c of calls) {
      receivedByOutcome[EXPECTED_CLASS[c.outcome]] = (receivedByOutcome[EXPECTED_CLASS[c.outcome]] ?? 0) + 1;
      if (c.outcome === "ok") okPerEvent.set(c.eventId, (okPerEvent.get(c.eventId) ?? 0) + 1);
    }
    const delivered = sentIds.filter((id) => okPerEvent.has(id)).length;
    const duplicates = [...okPerEvent.values()].reduce((sum, n) => sum + n - 1, 0);
    const withinWindow = rows.filter((r) => r.status === "SUCCEEDED" && r.to_success_ms !== null && r.to_success_ms <= WINDOW_SECONDS * 1000).length;
    const attempts = rows.map((r) => Number(r.attempts)).sort((a, b) => a - b);
    const toSuccess = rows.map((r) => Number(r.to_success_ms ?? Infinity)).sort((a, b) => a - b);
    const at = <T,>(sorted: T[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    reportDrill("flaky-receiver", {
      sent: sentIds.length,
      delivered,
      deliveredWithinWindow: withinWindow,
      duplicates,
      lost: sentIds.length - delivered,
      calls: calls.length,
      attempts: attempts.reduce((a, b) => a + b, 0),
      attemptsPerEvent: `median ${at(attempts, 0.5)} p99 ${at(attempts, 0.99)} max ${at(attempts, 1)}`,
      secondsToSuccess: `median ${(at(toSuccess, 0.5)! / 1000).toFixed(1)} p99 ${(at(toSuccess, 0.99)! / 1000).toFixed(1)} max ${(at(toSuccess, 1)! / 1000).toFixed(1)}`,
      calls200: receivedByOutcome.OK ?? 0,
      calls500: receivedByOutcome.HTTP_STATUS ?? 0,
      callsHung: receivedByOutcome.TIMEOUT ?? 0,
      callsReset: receivedByOutcome.CONNECTION_RESET ?? 0,
      seed: SEED,
      seconds,
    });
    expect(rows).toHaveLength(EVENTS);
    expect(withinWindow).toBe(EVENTS);
    expect(delivered).toBe(EVENTS);
    expect(duplicates).toBe(0);
    // Every call the receiver saw is in the attempt log, with the class its behaviour deserved.
    expect(byClass).toEqual(receivedByOutcome);
  }, 115_000);
});
