// Drill 2: PostgreSQL stops (immediate: a crash, no checkpoint) and starts again while events are
// being published and delivered. The gateway must say it is not ready (/readyz 503) while the
// database is away, and then recover by itself: /readyz 200, publishing works, the dispatcher
// resumes, and every event the gateway acknowledged reaches the receiver.
//
// The drill runs its own PostgreSQL (initdb into a temporary directory, a free port on
// 127.0.0.1): the shared server on 5432 serves the other test files and must never stop.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  callsPerEvent,
  countDeliveries,
  drillEnv,
  publishUnderLoad,
  readyz,
  reportDrill,
  startGatewayProcess,
  type GatewayProcess,
} from "../support/drill.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startPrivatePostgres, type PrivatePostgres } from "../support/private-servers.js";
import { runHookgate, type HookgateProcess } from "../support/processes.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { needsServerBinaries } from "../support/servers.js";

const serversInstalled = needsServerBinaries("test/drills/postgres-restart.pg.test.ts", ["postgres"]);

const CONCURRENCY = 50;

let postgres: PrivatePostgres;
let receiver: Receiver;
let gateway: GatewayProcess | undefined;
let worker: HookgateProcess | undefined;

beforeAll(async () => {
  if (!serversInstalled) return;
  postgres = await startPrivatePostgres();
  // 20-99 ms per answer: attempts are in flight when the database goes away.
  let n = 0;
  receiver = await startReceiver(() => ({ status: 200, delayMs: 20 + (n++ % 80) }));
});
afterAll(async () => {
  await Promise.all([gateway?.process.kill("SIGKILL"), worker?.kill("SIGKILL")]);
  await receiver?.close();
  await postgres?.destroy();
});

describe.runIf(serversInstalled)("drill: PostgreSQL stops and starts under load", () => {
  it("reports not-ready while it is down, recovers by itself, loses nothing acknowledged", async () => {
    const env = drillEnv(postgres.url, {
      // In-flight attempts whose outcome could not be recorded are sent again when their lease ends.
      HOOKGATE_LEASE_SECONDS: "5",
      HOOKGATE_DELIVERY_TIMEOUT_MS: "2000",
      HOOKGATE_CONNECT_TIMEOUT_MS: "1000",
      HOOKGATE_DISPATCH_CONCURRENCY: String(CONCURRENCY),
      HOOKGATE_DISPATCH_BATCH: "25",
    });
    gateway = await startGatewayProcess({ ...env, HOOKGATE_ROLE: "api" });
    // The drill watches the worker's log for the outage: it must log errors at least.
    const quiet = ["silent", "fatal"].includes(env.HOOKGATE_LOG_LEVEL!);
    worker = runHookgate("worker", quiet ? { ...env, HOOKGATE_LOG_LEVEL: "error" } : env);
    await worker.waitForOutput(/"msg":"hookgate started"/);
    const gw = gateway;
    const logs = () => `gateway:\n${gw.process.output()}\nworker:\n${worker!.output()}`;

    const path = "/postgres-restart";
    const { type } = await (async () => {
      const service = await createService(gw);
      const type = await createEventType(gw);
      await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(path) });
      return { type };
    })().catch((error: unknown) => {
      throw new Error(`setting up failed: ${String(error)}\n${logs()}`);
    });
    const calls = () => callsPerEvent(receiver.requests, path);
    expect(await readyz(gw.origin)).toBe(200);

    const load = publishUnderLoad(gw.admin, type.name);
    const started = Date.now();
    await eventually(() => calls().size >= 300, 60_000, () => `${calls().size} delivered; ${load.lastRefusal()}\n${logs()}`);

    // The crash.
    const workerLogAtStop = worker.output().length;
    await postgres.stop("immediate");
    const stoppedAt = Date.now();
    const ackedBeforeStop = load.acknowledged.length;
    await eventually(async () => (await readyz(gw.origin)) === 503, 30_000, logs);
    const notReadyAfterMs = Date.now() - stoppedAt;
    // Publishing is refused while the database is away (the client is told; nothing is half-written).
    // The outage lasts until publishing has been refused a while and the worker has failed to reach
    // the database too (and at least 3 s, so reconnection back-offs are exercised, not just one retry).
    const refusedAtStop = load.refused();
    await eventually(
      () =>
        load.refused() >= refusedAtStop + 50 &&
        /"level":50/.test(worker!.output().slice(workerLogAtStop)) && // the worker logged an error: it noticed
        Date.now() - stoppedAt >= 3_000,
      30_000,
      () => `refused ${load.refused()}\n${logs()}`,
    );
    const ackedDuringOutage = load.acknowledged.length;
    // The client is told to come back later, not that the gateway has a bug.
    expect(Object.fromEntries(load.refusals), logs()).toEqual({ "HTTP 503 SERVICE_UNAVAILABLE": expect.any(Number) });
    const outageMs = Date.now() - stoppedAt;

    await postgres.start();
    const restartedAt = Date.now();
    await eventually(async () => (await readyz(gw.origin)) === 200, 60_000, () => `/readyz still not 200\n${logs()}`);
    const readyAfterMs = Date.now() - restartedAt;
    // Publishing works again, and keeps working for a while.
    await eventually(() => load.acknowledged.length > ackedDuringOutage, 60_000, () => `${load.lastRefusal()}\n${logs()}`);
    const publishingAfterMs = Date.now() - restartedAt;
    await eventually(() => load.acknowledged.length >= ackedDuringOutage + 300, 60_000, () => `${load.lastRefusal()}\n${logs()}`);
    await load.stop();
    // Also while connections were being re-established after the restart.
    expect(Object.keys(Object.fromEntries(load.refusals)), logs()).toEqual(["HTTP 503 SERVICE_UNAVAILABLE"]);

    // The dispatcher resumes: everything acknowledged arrives.
    const sent = load.acknowledged;
    await eventually(() => countDeliveries(sent, calls()).lost === 0, 60_000, () => `${countDeliveries(sent, calls()).lost} not delivered\n${logs()}`);
    const deliveredAfterMs = Date.now() - restartedAt;
    const count = countDeliveries(sent, calls());
    reportDrill("postgres-restart", {
      sent: count.sent,
      refused: load.refused(),
      delivered: count.delivered,
      duplicates: count.duplicates,
      lost: count.lost,
      ackedBeforeStop,
      ackedDuringOutage: ackedDuringOutage - ackedBeforeStop,
      notReadyAfterMs,
      outageMs,
      readyAfterRestartMs: readyAfterMs,
      publishingAfterRestartMs: publishingAfterMs,
      allDeliveredAfterRestartMs: deliveredAfterMs,
      seconds: ((Date.now() - started) / 1000).toFixed(1),
    });
    console.log(`while PostgreSQL was down, publishing answered: ${load.lastRefusal()}`);
    expect(count.lostIds).toEqual([]);
    // Nothing is acknowledged that was not stored: no publish succeeds while the database is down.
    expect(ackedDuringOutage - ackedBeforeStop).toBe(0);
    expect(gw.process.alive(), logs()).toBe(true);
    expect(worker.alive(), logs()).toBe(true);
    // Nothing is left behind among the deliveries either.
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const statuses = async () =>
        (await client.query<{ status: string; n: string }>(`SELECT status::text, count(*)::text AS n FROM deliveries GROUP BY 1`)).rows
          .map((r) => `${r.status}=${r.n}`)
          .join(" ");
      await eventually(async () => /^SUCCEEDED=\d+$/.test(await statuses()), 30_000, () => "deliveries not all SUCCEEDED");
    } finally {
      await client.end();
    }
    // Repeats come only from attempts in flight when the database went away (their outcome was not recorded).
    expect(count.duplicates).toBeLessThanOrEqual(CONCURRENCY);
    expect(await gw.process.stop(), logs()).toBe(0);
    expect(await worker.stop(), logs()).toBe(0);
  }, 115_000);
});
