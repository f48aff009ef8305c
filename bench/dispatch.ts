// npm run bench:dispatch — durable deliveries per second against a local receiver, next to the
// raw rate of undici alone against the same receiver, measured in the same run.
//
// The events are published in bulk first (through the same publisher the API uses: event rows
// and delivery rows in one transaction), then the dispatcher drains them: every attempt is
// claimed under a lease, sent with undici, signed, and logged in the database.
//
// Environment: DATABASE_URL (PostgreSQL; without it PGlite in memory), BENCH_EVENTS (default
// 20000), BENCH_CONCURRENCY (default 200, used by both sides).
import { randomBytes } from "node:crypto";
import { Agent } from "undici";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { startGateway } from "../src/server/gateway.js";
import { openDatabase } from "../src/store/database.js";
import { newSigningSecret } from "../src/auth/tokens.js";
import { createPostgresDatabase } from "../test/support/store.js";
import {
  backendCpu,
  backendCpuSince,
  fmtCpu,
  loadAverage,
  median,
  medianCpu,
  ownCpuSeconds,
  perRequest,
  processCpuSeconds,
  queueDrained,
  startReceiver,
  type Cpu,
} from "./measure.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
const PAYLOAD = { id: 1, chat_id: 42, message: { text: "a short chat message, as Basalam sends", files: [] }, sender_id: 7 };

/** undici alone: the same body, the same concurrency, the same receiver. */
async function rawUndici(receiver: { port: number; pid: number }, count: number): Promise<{ rate: number; cpu: Cpu }> {
  const { port } = receiver;
  const agent = new Agent({ connections: Math.ceil(CONCURRENCY / 2), keepAliveTimeout: 30_000 });
  const body = JSON.stringify({ id: "1", type: "CHAT_RECEIVED_MESSAGE", timestamp: new Date().toISOString(), data: PAYLOAD });
  let next = 0;
  const cpu0 = ownCpuSeconds();
  const receiverCpu0 = processCpuSeconds(receiver.pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        next++;
        const res = await agent.request({
          origin: `http://127.0.0.1:${port}`,
          path: "/hook",
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        await res.body.dump();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = {
    sender: perRequest(ownCpuSeconds() - cpu0, count),
    receiver: perRequest(processCpuSeconds(receiver.pid) - receiverCpu0, count),
  };
  await agent.close();
  return { rate: count / seconds, cpu };
}

/** A new, empty PostgreSQL database (dropped afterwards), or PGlite in memory without DATABASE_URL. */
async function freshDatabase(): Promise<{ url: string | undefined; drop: () => Promise<void> }> {
  if (!process.env.DATABASE_URL) return { url: undefined, drop: async () => undefined };
  return createPostgresDatabase();
}

async function gatewayRate(receiver: { port: number; pid: number }, count: number): Promise<{ rate: number; store: string; cpu: Cpu }> {
  const { port } = receiver;
  const db = await freshDatabase();
  const config = loadConfig({
    HOOKGATE_PORT: "0",
    HOOKGATE_ROLE: "worker",
    HOOKGATE_LOG_LEVEL: "warn",
    HOOKGATE_ALLOW_PRIVATE_TARGETS: "true",
    HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    HOOKGATE_DATA_DIR: "memory://",
    HOOKGATE_DISPATCH_CONCURRENCY: String(CONCURRENCY),
    HOOKGATE_POLL_MS: "20",
    HOOKGATE_MIGRATE: "auto", // a fresh database
    // The bench sends to one webhook: its per-webhook cap (default 50) bounds what is in flight.
    ...(process.env.HOOKGATE_MAX_IN_FLIGHT_PER_WEBHOOK ? { HOOKGATE_MAX_IN_FLIGHT_PER_WEBHOOK: process.env.HOOKGATE_MAX_IN_FLIGHT_PER_WEBHOOK } : {}),
    ...(db.url ? { DATABASE_URL: db.url } : {}),
  });
  const database = await openDatabase({ url: db.url, dataDir: "memory://", poolSize: 10 });
  // Set up through the store (the API path is measured by its own tests, not here).
  const gateway = await startGateway({ config, database, logger: createLogger("warn") });
  await gateway.dispatcher!.stop(0); // publish everything first, then time the drain alone
  const { prisma } = database;
  const service = await prisma.service.create({ data: { title: "bench", tokenHash: randomBytes(16).toString("hex") } });
  const type = await prisma.eventType.create({ data: { name: "CHAT_RECEIVED_MESSAGE", sampleData: {} } });
  const secrets = gateway.services.secrets;
  await prisma.webhook.create({
    data: {
      serviceId: service.id,
      url: `http://127.0.0.1:${port}/hook`,
      requestHeadersSealed: secrets.seal("[]"),
      signingSecretSealed: secrets.seal(newSigningSecret()),
      eventTypes: { create: [{ eventTypeId: type.id }] },
    },
  });
  process.stderr.write(`publishing ${count} events…\n`);
  for (let i = 0; i < count; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - i) }, () => ({ eventName: type.name, payload: PAYLOAD }));
    await gateway.services.publisher.publish(batch);
  }
  await gateway.close();

  // A fresh dispatcher drains the backlog; the clock runs from its start to the last recorded attempt.
  process.stderr.write("draining…\n");
  const profiler = process.env.BENCH_PROFILE ? await startProfiler() : undefined;
  const pg0 = await backendCpu(database);
  const receiverCpu0 = processCpuSeconds(receiver.pid);
  const cpu0 = ownCpuSeconds();
  const worker = await startGateway({ config, database, logger: createLogger("warn") });
  const started = performance.now();
  await queueDrained(database);
  const seconds = (performance.now() - started) / 1000;
  const cpu: Cpu = {
    sender: perRequest(ownCpuSeconds() - cpu0, count),
    receiver: perRequest(processCpuSeconds(receiver.pid) - receiverCpu0, count),
  };
  if (database.kind === "postgres") {
    cpu.postgres = perRequest(await backendCpuSince(database, pg0), count);
  }
  await profiler?.(process.env.BENCH_PROFILE!);
  const [done] = await database.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM deliveries WHERE status = 'SUCCEEDED'`);
  if (Number(done!.n) !== count) throw new Error(`${done!.n} of ${count} deliveries succeeded`);
  const [attempts] = await database.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM delivery_attempts`);
  if (Number(attempts!.n) < count) throw new Error(`only ${attempts!.n} attempts logged for ${count} deliveries`);
  await worker.close();
  await database.close();
  await db.drop();
  return { rate: count / seconds, store: database.kind, cpu };
}

/** BENCH_PROFILE=file.cpuprofile: a CPU profile of the drain alone (open it in Chrome DevTools). */
async function startProfiler(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import("node:inspector/promises");
  const { writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async (file) => {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const receiver = await startReceiver();
try {
  process.stderr.write(`load average before: ${loadAverage()}\n`);
  await rawUndici(receiver, 2000); // warm-up
  // Rounds alternate, so both sides see the same machine; the medians are compared.
  const raws: { rate: number; cpu: Cpu }[] = [];
  const runs: { rate: number; cpu: Cpu }[] = [];
  let store = "";
  for (let round = 1; round <= ROUNDS; round++) {
    raws.push(await rawUndici(receiver, EVENTS));
    const result = await gatewayRate(receiver, EVENTS);
    runs.push(result);
    store = result.store;
    process.stderr.write(
      `round ${round}: raw undici ${raws.at(-1)!.rate.toFixed(0)}/s (${fmtCpu(raws.at(-1)!.cpu)}), ` +
        `hookgate ${result.rate.toFixed(0)}/s (${fmtCpu(result.cpu)}), load ${loadAverage()}\n`,
    );
  }
  const raw = median(raws.map((r) => r.rate));
  const rate = median(runs.map((r) => r.rate));
  const rounds = (xs: { rate: number }[]) => xs.map((r) => r.rate.toFixed(0)).join(", ");
  console.log(`events: ${EVENTS} per round, rounds: ${ROUNDS}, concurrency: ${CONCURRENCY}, store: ${store}, node ${process.version}`);
  console.log(`raw undici:            ${raw.toFixed(0)} requests/s (median; rounds: ${rounds(raws)})`);
  console.log(`hookgate dispatcher:   ${rate.toFixed(0)} durable deliveries/s (median; rounds: ${rounds(runs)})`);
  console.log(`ratio:                 ${((rate / raw) * 100).toFixed(1)}% of raw undici`);
  console.log(`CPU per request, raw undici (median): ${fmtCpu(medianCpu(raws.map((r) => r.cpu)))}`);
  console.log(`CPU per delivery, hookgate (median):  ${fmtCpu(medianCpu(runs.map((r) => r.cpu)))}`);
  console.log(`load average after: ${loadAverage()}`);
} finally {
  receiver.stop();
}
