// npm run bench:dispatch — durable deliveries per second against a local receiver, next to the
// raw rate of undici alone against the same receiver, measured in the same run.
//
// The events are published in bulk first (through the same publisher the API uses: event rows
// and delivery rows in one transaction), then the dispatcher drains them: every attempt is
// claimed under a lease, sent with undici, signed, and logged in the database.
//
// Environment: DATABASE_URL (PostgreSQL; without it PGlite in memory), BENCH_EVENTS (default
// 20000), BENCH_CONCURRENCY (default 200, used by both sides).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Agent } from "undici";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { startGateway } from "../src/server/gateway.js";
import { openDatabase } from "../src/store/database.js";
import { newSigningSecret } from "../src/auth/tokens.js";
import { createPostgresDatabase } from "../test/support/store.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
const PAYLOAD = { id: 1, chat_id: 42, message: { text: "a short chat message, as Basalam sends", files: [] }, sender_id: 7 };

async function startReceiver(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./receiver.ts", import.meta.url))], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [chunk] = (await once(child.stdout!, "data")) as [Buffer];
  return { port: Number(chunk.toString().trim()), stop: () => child.kill("SIGTERM") };
}

/** undici alone: the same body, the same concurrency, the same receiver. */
async function rawUndici(port: number, count: number): Promise<number> {
  const agent = new Agent({ connections: Math.ceil(CONCURRENCY / 2), keepAliveTimeout: 30_000 });
  const body = JSON.stringify({ id: "1", type: "CHAT_RECEIVED_MESSAGE", timestamp: new Date().toISOString(), data: PAYLOAD });
  let next = 0;
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
  await agent.close();
  return count / seconds;
}

/** A new, empty PostgreSQL database (dropped afterwards), or PGlite in memory without DATABASE_URL. */
async function freshDatabase(): Promise<{ url: string | undefined; drop: () => Promise<void> }> {
  if (!process.env.DATABASE_URL) return { url: undefined, drop: async () => undefined };
  return createPostgresDatabase();
}

async function gatewayRate(port: number, count: number): Promise<{ rate: number; store: string }> {
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
  const worker = await startGateway({ config, database, logger: createLogger("warn") });
  const started = performance.now();
  // Done when no delivery is left with a next attempt (an index probe: the check must not load the database).
  for (;;) {
    const [row] = await database.sql.query<{ open: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM deliveries WHERE next_attempt_at IS NOT NULL) AS open`,
    );
    if (!row!.open) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  await profiler?.(process.env.BENCH_PROFILE!);
  const [done] = await database.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM deliveries WHERE status = 'SUCCEEDED'`);
  if (Number(done!.n) !== count) throw new Error(`${done!.n} of ${count} deliveries succeeded`);
  const [attempts] = await database.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM delivery_attempts`);
  if (Number(attempts!.n) < count) throw new Error(`only ${attempts!.n} attempts logged for ${count} deliveries`);
  await worker.close();
  await database.close();
  await db.drop();
  return { rate: count / seconds, store: database.kind };
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
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const receiver = await startReceiver();
try {
  await rawUndici(receiver.port, 2000); // warm-up
  // Rounds alternate, so both sides see the same machine; the medians are compared.
  const raws: number[] = [];
  const rates: number[] = [];
  let store = "";
  for (let round = 1; round <= ROUNDS; round++) {
    raws.push(await rawUndici(receiver.port, EVENTS));
    const result = await gatewayRate(receiver.port, EVENTS);
    rates.push(result.rate);
    store = result.store;
    process.stderr.write(`round ${round}: raw undici ${raws.at(-1)!.toFixed(0)}/s, hookgate ${rates.at(-1)!.toFixed(0)}/s\n`);
  }
  const raw = median(raws);
  const rate = median(rates);
  console.log(`events: ${EVENTS} per round, rounds: ${ROUNDS}, concurrency: ${CONCURRENCY}, store: ${store}, node ${process.version}`);
  console.log(`raw undici:            ${raw.toFixed(0)} requests/s (median; rounds: ${raws.map((r) => r.toFixed(0)).join(", ")})`);
  console.log(
    `hookgate dispatcher:   ${rate.toFixed(0)} durable deliveries/s (median; rounds: ${rates.map((r) => r.toFixed(0)).join(", ")})`,
  );
  console.log(`ratio:                 ${((rate / raw) * 100).toFixed(1)}% of raw undici`);
} finally {
  receiver.stop();
}
