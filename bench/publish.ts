// npm run bench:publish — the publish path through the API, next to a raw baseline measured in
// the same run on the same store.
//
//  1. Single publishEvent calls over HTTP from BENCH_CLIENTS (64) concurrent clients against the
//     gateway (a subscribed webhook; on PostgreSQL HOOKGATE_ROLE=api, so no dispatcher runs; on
//     PGlite role all, its only mode), and the same clients against a minimal node:http server
//     doing one durable INSERT per POST on the same store. Rounds alternate; medians.
//  2. p99 call latency at a fixed open-loop rate (BENCH_RATE, 2,000 calls/s).
//  3. publish → received p50/p99 at 1,000 events/s (BENCH_E2E_RATE) with the dispatcher in the
//     same process.
//  4. End to end: publishEvents batches of 100 from 4 clients until every event is received,
//     against raw undici POSTs of the same count to the same receiver.
//  5. On PostgreSQL, step 3 again with the dispatcher in a process of its own (`hookgate start`
//     in role worker) and this process's gateway in role api; both on REDIS_URL when it is set
//     (the worker is then woken by each publish instead of polling).
//
// The clients and the webhook receiver run on a worker thread (load-clients.mjs), so the main
// thread serves only (the gateway, or the raw baseline); the CPU per call is printed for the whole
// process, for the serving thread, and for PostgreSQL.
//
// Environment: DATABASE_URL (PostgreSQL; without it PGlite in memory), BENCH_CALLS (per round,
// default 3000), BENCH_ROUNDS (3), BENCH_CLIENTS (64), BENCH_RATE (2000), BENCH_SECONDS (5),
// BENCH_EVENTS (end to end, 10000), BENCH_E2E_RATE (publish → received, 1000/s).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { performance as perfHooks } from "node:perf_hooks";
import pg from "pg";
import { Agent, Pool } from "undici";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { startGateway, type Gateway } from "../src/server/gateway.js";
import { openDatabase, type Database } from "../src/store/database.js";
import { newSigningSecret } from "../src/auth/tokens.js";
import { createPostgresDatabase } from "../test/support/store.js";
import { runHookgate } from "../test/support/processes.js";
import { backendCpu, backendCpuSince, ownCpuSeconds, perRequest } from "./measure.js";

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 64);
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const E2E_EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const E2E_RATE = Number(process.env.BENCH_E2E_RATE ?? 1000);
const PAYLOAD = { id: 1, chat_id: 42, message: { text: "a short chat message", files: [] }, sender_id: 7 };
const MUTATION = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id } } }`;
const BATCH = `mutation($input: PublishEventsInput!) { publishEvents(input: $input) { results { deliveryCount } } }`;

const ENCRYPTION_KEY = randomBytes(32).toString("base64");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? NaN;
};
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const CORES = availableParallelism();

/** The raw baseline: one durable INSERT per POST, on the same store, nothing else. */
async function startRaw(database: Database, url: string | undefined): Promise<{ origin: string; close: () => Promise<void> }> {
  await database.sql.query(`CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  const pool = url ? new pg.Pool({ connectionString: url, max: 16 }) : undefined;
  const insert = (body: string) =>
    pool
      ? pool.query({ name: "raw", text: "INSERT INTO bench_raw (payload) VALUES ($1) RETURNING id", values: [body] })
      : database.sql.query("INSERT INTO bench_raw (payload) VALUES ($1) RETURNING id", [body]);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      insert(Buffer.concat(chunks).toString()).then(
        () => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'),
        () => res.writeHead(500).end(),
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pool?.end();
    },
  };
}

interface Target {
  readonly origin: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Every call sends the same body. */
  readonly body: string;
}

/** The clients' thread (load-clients.mjs): one for the run, shared by every target. */
const clients = new Worker(new URL("./load-clients.mjs", import.meta.url), { workerData: { mainTimeOrigin: performance.timeOrigin } });
const answers = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();
let jobs = 0;
clients.on("message", (m: { id: number; ok: boolean; result?: never; message?: string }) => {
  const answer = answers.get(m.id)!;
  answers.delete(m.id);
  if (m.ok) answer.resolve(m.result!);
  else answer.reject(new Error(m.message));
});
function onClients<R>(job: Record<string, unknown>): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const id = ++jobs;
    answers.set(id, { resolve: resolve as (value: never) => void, reject });
    clients.postMessage({ id, job });
  });
}
/** The receiver on the clients' thread. */
const receiver = {
  url: "",
  count: () => onClients<number>({ kind: "arrivedCount" }),
  arrivals: async (ids: string[]) => new Map(await onClients<[string, number][]>({ kind: "arrivals", ids })),
};

/** CPU time this thread (the one serving) was busy, in ms. */
const servingMs = (): number => perfHooks.eventLoopUtilization().active;

/** `count` calls from CLIENTS closed-loop clients; calls/s, per-call latencies and CPU per call. */
async function closedLoop(target: Target, count: number): Promise<{ rate: number; p50: number; p99: number; cpu: number; serving: number; pgCpu: number }> {
  const cpuBefore = ownCpuSeconds();
  const servingBefore = servingMs();
  const backendsBefore = await backendCpu(database);
  const { latencies, seconds } = await onClients<{ latencies: number[]; seconds: number }>({ kind: "closed", ...target, count, clients: CLIENTS });
  // CPU per call: this process (the server under test on this thread, the clients on theirs; for
  // the gateway nothing else: no dispatcher in role api), this thread alone, and the PostgreSQL
  // backends serving the database.
  const cpu = perRequest(ownCpuSeconds() - cpuBefore, count);
  const serving = perRequest((servingMs() - servingBefore) / 1000, count);
  const pgCpu = perRequest(await backendCpuSince(database, backendsBefore), count);
  return { rate: count / seconds, p50: pct(latencies, 50), p99: pct(latencies, 99), cpu, serving, pgCpu };
}

/** Calls started at a fixed rate whatever the answers' pace; latencies, and event ids with their start times. */
async function openLoop(target: Target, rate: number, seconds: number): Promise<{ latencies: number[]; sent: Map<string, number>; achieved: number }> {
  const result = await onClients<{ latencies: number[]; seconds: number; sent: [string, number][] }>({ kind: "open", ...target, rate, seconds, connections: 256 });
  return { latencies: result.latencies, sent: new Map(result.sent), achieved: Math.round(rate * seconds) / result.seconds };
}

/** When each of these events arrived at the receiver, waiting up to 30 s for them all. */
async function arrivalsOf(ids: string[]): Promise<Map<string, number>> {
  const deadline = performance.now() + 30_000;
  let arrivals = await receiver.arrivals(ids);
  while (arrivals.size < ids.length && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    arrivals = await receiver.arrivals(ids);
  }
  return arrivals;
}

/** Steps 3 and 5: publish → received p50/p99 at E2E_RATE through this gateway. */
async function publishToReceived(target: Target, where: string): Promise<void> {
  // A new process's first second (JIT, pools) is not measured, as step 1 warms up too.
  await arrivalsOf([...(await openLoop(target, E2E_RATE, 1)).sent.keys()]);
  const e2eLatency = await openLoop(target, E2E_RATE, SECONDS);
  const arrivals = await arrivalsOf([...e2eLatency.sent.keys()]);
  const received = [...e2eLatency.sent].filter(([id]) => arrivals.has(id)).map(([id, t0]) => arrivals.get(id)! - t0);
  console.log(
    `publish → received at ${E2E_RATE}/s for ${SECONDS} s, ${where}: p50 ${pct(received, 50).toFixed(1)} ms, p99 ${pct(received, 99).toFixed(1)} ms (${received.length} of ${e2eLatency.sent.size} received; achieved ${e2eLatency.achieved.toFixed(0)}/s, call p50 ${pct(e2eLatency.latencies, 50).toFixed(1)} ms, p99 ${pct(e2eLatency.latencies, 99).toFixed(1)} ms)`,
  );
}

async function gatewayOn(url: string | undefined, database: Database, role: "api" | "all", adminToken: string, extra: Record<string, string> = {}): Promise<Gateway> {
  const config = loadConfig({
    HOOKGATE_PORT: "0",
    HOOKGATE_ROLE: role,
    HOOKGATE_LOG_LEVEL: "warn",
    HOOKGATE_ALLOW_PRIVATE_TARGETS: "true",
    HOOKGATE_ADMIN_TOKEN: adminToken,
    HOOKGATE_ENCRYPTION_KEY: ENCRYPTION_KEY, // one key for every gateway of the run: they share the store
    HOOKGATE_DATA_DIR: "memory://",
    HOOKGATE_RATE_LIMIT_PUBLISH: "0",
    HOOKGATE_RATE_LIMIT_MUTATIONS: "0",
    HOOKGATE_RATE_LIMIT_QUERIES: "0",
    HOOKGATE_POLL_MS: "20",
    HOOKGATE_MIGRATE: "auto", // a fresh database
    ...(url ? { DATABASE_URL: url } : {}),
    ...extra,
  });
  return startGateway({ config, database, logger: createLogger("warn"), onAdminTokenCreated: () => undefined });
}

async function setUp(gateway: Gateway, receiverUrl: string): Promise<string> {
  const { prisma, secrets } = { prisma: gateway.database.prisma, secrets: gateway.services.secrets };
  const service = await prisma.service.create({ data: { title: "bench", tokenHash: randomBytes(16).toString("hex") } });
  const type = await prisma.eventType.create({ data: { name: `BENCH_${randomBytes(3).toString("hex")}`, sampleData: {} } });
  await prisma.webhook.create({
    data: {
      serviceId: service.id,
      url: receiverUrl,
      requestHeadersSealed: secrets.seal("[]"),
      signingSecretSealed: secrets.seal(newSigningSecret()),
      eventTypes: { create: [{ eventTypeId: type.id }] },
    },
  });
  return type.name;
}

receiver.url = await onClients<string>({ kind: "receiver" });
const db = process.env.DATABASE_URL ? await createPostgresDatabase() : { url: undefined, drop: async () => undefined };
const database = await openDatabase({ url: db.url, dataDir: "memory://", poolSize: 16 });
const adminToken = `hg_admin_${randomBytes(24).toString("base64url")}`;
const headers = { "content-type": "application/json", authorization: `Bearer ${adminToken}` };
try {
  process.stderr.write(`load average before: ${loadAverage()}\n`);
  // 1. Single calls, closed loop, against the raw baseline.
  let gateway = await gatewayOn(db.url, database, db.url ? "api" : "all", adminToken);
  const typeName = await setUp(gateway, receiver.url);
  const raw = await startRaw(database, db.url);
  const publishTarget = (g: Gateway): Target => ({
    origin: new URL(g.url!).origin,
    path: "/graphql",
    headers,
    body: JSON.stringify({ query: MUTATION, variables: { input: { eventName: typeName, payload: PAYLOAD } } }),
  });
  const rawTarget: Target = { origin: raw.origin, path: "/", headers: { "content-type": "application/json" }, body: JSON.stringify(PAYLOAD) };
  await closedLoop(publishTarget(gateway), Math.min(500, CALLS));
  await closedLoop(rawTarget, Math.min(500, CALLS));
  const raws: Awaited<ReturnType<typeof closedLoop>>[] = [];
  const pubs: Awaited<ReturnType<typeof closedLoop>>[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    raws.push(await closedLoop(rawTarget, CALLS));
    pubs.push(await closedLoop(publishTarget(gateway), CALLS));
    process.stderr.write(
      `round ${round}: raw ${raws.at(-1)!.rate.toFixed(0)}/s, publishEvent ${pubs.at(-1)!.rate.toFixed(0)}/s, load ${loadAverage()}\n`,
    );
  }
  await raw.close();
  const m = (xs: Awaited<ReturnType<typeof closedLoop>>[]) => ({
    rate: median(xs.map((x) => x.rate)),
    p50: median(xs.map((x) => x.p50)),
    p99: median(xs.map((x) => x.p99)),
    cpu: median(xs.map((x) => x.cpu)),
    serving: median(xs.map((x) => x.serving)),
    pgCpu: median(xs.map((x) => x.pgCpu)),
  });
  const r = m(raws);
  const p = m(pubs);
  const store = database.kind;
  console.log(`store: ${store}, role: ${db.url ? "api" : "all"}, clients: ${CLIENTS}, calls per round: ${CALLS}, rounds: ${ROUNDS}, node ${process.version}`);
  console.log(`raw durable insert per POST: ${r.rate.toFixed(0)} calls/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (median; rounds ${raws.map((x) => x.rate.toFixed(0)).join(", ")})`);
  console.log(`single publishEvent:         ${p.rate.toFixed(0)} calls/s, p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms (median; rounds ${pubs.map((x) => x.rate.toFixed(0)).join(", ")})`);
  console.log(`ratio:                       ${((p.rate / r.rate) * 100).toFixed(1)}% of the raw baseline`);
  // What one call costs the machine: at most 2 cores / (both) calls per second whatever the
  // concurrency (the bench process holds the clients too, the same for both sides).
  const ceiling = (x: { cpu: number; pgCpu: number }) => ((CORES * 1e6) / (x.cpu + x.pgCpu)).toFixed(0);
  // The serving thread is one core's worth at most: 1e6 / serving µs calls per second.
  const cpuLine = (x: { cpu: number; serving: number; pgCpu: number }) =>
    `${x.cpu.toFixed(0)} µs this process (server and clients; of it ${x.serving.toFixed(0)} µs the serving thread, at most ${(1e6 / x.serving).toFixed(0)} calls/s), ${x.pgCpu.toFixed(0)} µs PostgreSQL backends: at most ${ceiling(x)} calls/s on ${CORES} cores`;
  console.log(`CPU per call, raw:          ${cpuLine(r)}`);
  console.log(`CPU per call, publishEvent: ${cpuLine(p)}`);

  // 2. Fixed open-loop rate.
  const open = await openLoop(publishTarget(gateway), RATE, SECONDS);
  console.log(`open loop at ${RATE}/s for ${SECONDS} s (achieved ${open.achieved.toFixed(0)}/s): call p50 ${pct(open.latencies, 50).toFixed(1)} ms, p99 ${pct(open.latencies, 99).toFixed(1)} ms`);
  await gateway.close();

  // 3. publish → received at 1,000/s with the dispatcher in the same process.
  await database.sql.query("DELETE FROM delivery_queue");
  gateway = await gatewayOn(db.url, database, "all", adminToken);
  await publishToReceived(publishTarget(gateway), "the dispatcher in the same process");

  // 4. End to end through the API in batches, against raw undici to the same receiver.
  const agent = new Agent({ connections: 64 });
  const rawStart = performance.now();
  let sentRaw = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (sentRaw < E2E_EVENTS) {
        sentRaw++;
        const res = await agent.request({ origin: new URL(receiver.url).origin, path: "/hook", method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(PAYLOAD) });
        await res.body.dump();
      }
    }),
  );
  const rawE2e = E2E_EVENTS / ((performance.now() - rawStart) / 1000);
  await agent.close();
  const before = await receiver.count();
  const batches = new Pool(new URL(gateway.url!).origin, { connections: 4 });
  const e2eStart = performance.now();
  let queued = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (queued < E2E_EVENTS) {
        const n = Math.min(100, E2E_EVENTS - queued);
        queued += n;
        const events = Array.from({ length: n }, () => ({ eventName: typeName, payload: PAYLOAD }));
        const res = await batches.request({ path: "/graphql", method: "POST", headers, body: JSON.stringify({ query: BATCH, variables: { input: { events } } }) });
        await res.body.dump();
      }
    }),
  );
  while ((await receiver.count()) - before < E2E_EVENTS) await new Promise((resolve) => setTimeout(resolve, 20));
  const e2e = E2E_EVENTS / ((performance.now() - e2eStart) / 1000);
  await batches.close();
  console.log(`end to end, publishEvents batches of 100 from 4 clients until all received: ${e2e.toFixed(0)} events/s; raw undici ${rawE2e.toFixed(0)}/s; ratio ${((e2e / rawE2e) * 100).toFixed(1)}%`);
  await gateway.close();

  // 5. Step 3 again with the API and the dispatcher in processes of their own (PostgreSQL only):
  //    this process's gateway in role api, and `hookgate start` in role worker beside it.
  if (db.url) {
    await database.sql.query("DELETE FROM delivery_queue");
    // With REDIS_URL set, both use it, so the API's publishes wake the worker at once.
    const redisUrl: Record<string, string> = process.env.REDIS_URL
      ? { REDIS_URL: process.env.REDIS_URL, HOOKGATE_REDIS_KEY_PREFIX: `bench-${randomBytes(4).toString("hex")}:` }
      : {};
    const worker = runHookgate("start", {
      ...redisUrl,
      DATABASE_URL: db.url,
      HOOKGATE_ROLE: "worker",
      HOOKGATE_ENCRYPTION_KEY: ENCRYPTION_KEY,
      HOOKGATE_ALLOW_PRIVATE_TARGETS: "true",
      HOOKGATE_POLL_MS: "20",
      HOOKGATE_LOG_LEVEL: "info",
    });
    try {
      await worker.waitForOutput(/hookgate started/);
      gateway = await gatewayOn(db.url, database, "api", adminToken, redisUrl);
      await publishToReceived(publishTarget(gateway), `the dispatcher in a worker process (${redisUrl.REDIS_URL ? "woken over Redis" : "no Redis: it polls"})`);
      await gateway.close();
    } finally {
      await worker.kill("SIGTERM");
    }
  }
  console.log(`load average after: ${loadAverage()}`);
} finally {
  await onClients({ kind: "stop" });
  await clients.terminate();
  await database.close();
  await db.drop();
}
