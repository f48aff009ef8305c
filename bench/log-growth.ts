// npm run bench:growth — what a grown attempt log costs. The same work on two PostgreSQL
// databases, rounds alternating between them: one empty (new every round) and one already
// holding BENCH_EXISTING_ATTEMPTS attempts (default 5,000,000; as many events and deliveries,
// like an installation some months old). Per database and round:
//  1. the dispatcher drains BENCH_EVENTS (20,000) deliveries to a local receiver: deliveries/s,
//     and CPU per delivery in the dispatcher (this process) and in PostgreSQL's backends;
//  2. BENCH_PUBLISHERS (16) concurrent callers publish one event per call through the publisher
//     for BENCH_PUBLISH_SECONDS (5): calls/s and PostgreSQL CPU per call.
// Then the disk the grown database uses per million attempts (table, TOAST and indexes).
//
// PostgreSQL only (DATABASE_URL): the question is what an installation that scales out pays.
// The grown database is built once per run (a few minutes for 5 M rows) and dropped at the end;
// BENCH_KEEP_GROWN=1 keeps it, and a later run with the same size reuses it (BENCH_ROUNDS=0 with
// BENCH_KEEP_GROWN=1 only builds it).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { loadConfig, type Config } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { startGateway } from "../src/server/gateway.js";
import { createSecretBox } from "../src/crypto/secret-box.js";
import { openDatabase, type Database } from "../src/store/database.js";
import { newSigningSecret } from "../src/auth/tokens.js";
import { createPostgresDatabase } from "../test/support/store.js";
import {
  backendCpu,
  backendCpuSince,
  loadAverage,
  median,
  ownCpuSeconds,
  perRequest,
  queueDrained,
  startReceiver,
  type ReceiverProcess,
} from "./measure.js";

const EXISTING = Number(process.env.BENCH_EXISTING_ATTEMPTS ?? 5_000_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
const PUBLISHERS = Number(process.env.BENCH_PUBLISHERS ?? 16);
const PUBLISH_SECONDS = Number(process.env.BENCH_PUBLISH_SECONDS ?? 5);
const PAYLOAD = { id: 1, chat_id: 42, message: { text: "a short chat message", files: [] }, sender_id: 7 };
const TYPE = "CHAT_RECEIVED_MESSAGE";
const ENCRYPTION_KEY = randomBytes(32).toString("base64");

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) {
  console.error("bench:growth needs PostgreSQL: set DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)");
  process.exit(1);
}

interface Store {
  readonly config: Config;
  readonly database: Database;
  close(): Promise<void>;
}

function configFor(url: string, role: "api" | "worker"): Config {
  return loadConfig({
    DATABASE_URL: url,
    HOOKGATE_PORT: "0",
    HOOKGATE_ROLE: role,
    HOOKGATE_LOG_LEVEL: "warn",
    HOOKGATE_ALLOW_PRIVATE_TARGETS: "true",
    HOOKGATE_ENCRYPTION_KEY: ENCRYPTION_KEY,
    HOOKGATE_DISPATCH_CONCURRENCY: String(CONCURRENCY),
    HOOKGATE_POLL_MS: "20",
    HOOKGATE_MIGRATE: "auto",
    // Retention off: pruning would delete (or clear the bodies of) the grown log this bench is about.
    HOOKGATE_RETENTION_DAYS: "0",
    HOOKGATE_ATTEMPT_BODY_RETENTION_DAYS: "0",
  });
}

/** Migrates the database and gives it the bench's service, event type and webhook (once). */
async function openStore(url: string, receiver: ReceiverProcess): Promise<Store> {
  const database = await openDatabase({ url, poolSize: 10 });
  const kept = await resealKept(database, receiver);
  const gateway = await startGateway({ config: configFor(url, "api"), database, logger: createLogger("warn") });
  const { prisma } = database;
  if (!kept) {
    const service = await prisma.service.create({ data: { title: "bench", tokenHash: randomBytes(16).toString("hex") } });
    const type = await prisma.eventType.create({ data: { name: TYPE, sampleData: {} } });
    const secrets = gateway.services.secrets;
    await prisma.webhook.create({
      data: {
        serviceId: service.id,
        url: `http://127.0.0.1:${receiver.port}/hook`,
        requestHeadersSealed: secrets.seal("[]"),
        signingSecretSealed: secrets.seal(newSigningSecret()),
        eventTypes: { create: [{ eventTypeId: type.id }] },
      },
    });
  }
  await gateway.close();
  return { config: configFor(url, "worker"), database, close: () => database.close() };
}

/**
 * A kept database from an earlier run: its receiver had another port, and its secrets (and its
 * encryption key check value) were sealed with that run's key. Sealed again with this run's key
 * before the gateway starts, which would otherwise refuse the key; the check value is stored anew
 * by the gateway. False for a new database (no webhooks table yet, or no webhook).
 */
async function resealKept(database: Database, receiver: ReceiverProcess): Promise<boolean> {
  const [tables] = await database.sql.query<{ webhooks: string | null; key_check: string | null }>(
    `SELECT to_regclass('webhooks')::text AS webhooks, to_regclass('encryption_key_check')::text AS key_check`,
  );
  if (!tables?.webhooks) return false;
  const secrets = createSecretBox(Buffer.from(ENCRYPTION_KEY, "base64"));
  const [updated] = await database.sql.query<{ n: number }>(
    `WITH u AS (UPDATE webhooks SET url = $1, request_headers_sealed = $2, signing_secret_sealed = $3, auth_secret_sealed = NULL, previous_secret_sealed = NULL RETURNING 1)
     SELECT count(*)::int AS n FROM u`,
    [`http://127.0.0.1:${receiver.port}/hook`, secrets.seal("[]"), secrets.seal(newSigningSecret())],
  );
  if (tables.key_check) await database.sql.query(`DELETE FROM encryption_key_check`);
  return (updated?.n ?? 0) > 0;
}

/**
 * Adds `count` delivered events: each an event row, a SUCCEEDED delivery and one attempt shaped as
 * the dispatcher logs them (Standard Webhooks headers, the body sent, the receiver's headers).
 * Chunks keep each transaction's footprint bounded.
 */
async function grow(database: Database, count: number): Promise<void> {
  const [hook] = await database.sql.query<{ id: number; type_id: number }>(
    `SELECT w.id, t.id AS type_id FROM webhooks w, event_types t WHERE t.name = $1 LIMIT 1`,
    [TYPE],
  );
  const chunk = 250_000;
  for (let done = 0; done < count; done += chunk) {
    const n = Math.min(chunk, count - done);
    await database.sql.query(
      `WITH e AS (
         INSERT INTO events (event_type_id, event_name, payload, payload_text, created_at)
         SELECT $1, $2, $3::jsonb, $3, now() - interval '6 days' + g * interval '1 ms' FROM generate_series(1, $4) g
         RETURNING id, created_at, payload_text
       ), d AS (
         INSERT INTO deliveries (event_id, webhook_id, status, attempt_count, next_attempt_at, last_attempt_at, created_at, updated_at)
         SELECT id, $5, 'SUCCEEDED', 1, NULL, created_at, created_at, created_at FROM e
         RETURNING id, event_id, created_at
       )
       INSERT INTO delivery_attempts (delivery_id, webhook_id, attempt_number, started_at, duration_ms, request_url, request_method,
                                      request_headers, request_body, response_status, response_headers, response_body, succeeded)
       SELECT d.id, $5, 1, d.created_at, 3, 'http://127.0.0.1/hook', 'POST',
              jsonb_build_object('content-type', 'application/json', 'user-agent', 'Hookgate',
                                 'webhook-id', d.event_id::text, 'webhook-timestamp', extract(epoch FROM d.created_at)::bigint::text,
                                 'webhook-signature', 'v1,' || encode(sha256(d.id::text::bytea), 'base64')),
              '{"id":"' || d.event_id || '","type":"${TYPE}","timestamp":"' || d.created_at || '","data":' || $3 || '}',
              204, jsonb_build_object('date', d.created_at::text, 'connection', 'keep-alive', 'keep-alive', 'timeout=60'), '', true
       FROM d`,
      [hook!.type_id, TYPE, JSON.stringify(PAYLOAD), n, hook!.id],
    );
    process.stderr.write(`  grown: ${done + n} of ${count}\n`);
  }
  // As autovacuum would leave an aged table: statistics and the visibility map up to date.
  await database.sql.query(`VACUUM ANALYZE events, deliveries, delivery_attempts`);
}

/** The grown database: reused when an earlier run kept one of this size, else built. */
async function grownDatabase(receiver: ReceiverProcess): Promise<{ store: Store; drop: () => Promise<void> }> {
  const name = `hookgate_bench_log_${EXISTING}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const [exists] = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rows;
  if (!exists) await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl!);
  url.pathname = `/${name}`;
  const store = await openStore(url.toString(), receiver);
  const [row] = await store.database.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM delivery_attempts`);
  const have = Number(row!.n);
  if (have < EXISTING) {
    process.stderr.write(`building ${name}: ${EXISTING - have} attempts to add…\n`);
    await grow(store.database, EXISTING - have);
  } else {
    process.stderr.write(`reusing ${name} (${have} attempts)\n`);
  }
  const drop = async () => {
    await store.close();
    if (process.env.BENCH_KEEP_GROWN === "1") return void process.stderr.write(`kept database ${name}\n`);
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
  return { store, drop };
}

interface Drain {
  rate: number;
  /** µs per delivery: the dispatcher (this process) and PostgreSQL's backends. */
  dispatcherCpu: number;
  postgresCpu: number;
}

/** Publishes EVENTS events with the dispatcher stopped, then times a fresh dispatcher draining them. */
async function drain(store: Store): Promise<Drain> {
  const { database, config } = store;
  const publisherSide = await startGateway({ config, database, logger: createLogger("warn") });
  await publisherSide.dispatcher!.stop(0);
  for (let i = 0; i < EVENTS; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, EVENTS - i) }, () => ({ eventName: TYPE, payload: PAYLOAD }));
    await publisherSide.services.publisher.publish(batch);
  }
  await publisherSide.close();
  // As autovacuum would have: the queue churns two dead rows per delivery, and the grown database
  // is reused across rounds while the empty one is new each round. Where autovacuum is off (this
  // machine's CI server), an unvacuumed queue, not the grown log, would be what the rounds compare.
  await database.sql.query(`VACUUM delivery_queue, deliveries, webhook_rate_state`);
  const pg0 = await backendCpu(database);
  const cpu0 = ownCpuSeconds();
  const worker = await startGateway({ config, database, logger: createLogger("warn") });
  const started = performance.now();
  await queueDrained(database);
  const seconds = (performance.now() - started) / 1000;
  const result = {
    rate: EVENTS / seconds,
    dispatcherCpu: perRequest(ownCpuSeconds() - cpu0, EVENTS),
    postgresCpu: perRequest(await backendCpuSince(database, pg0), EVENTS),
  };
  await worker.close();
  return result;
}

interface Publish {
  rate: number;
  /** µs of PostgreSQL backend CPU per call. */
  postgresCpu: number;
}

/** Single-event publish calls from PUBLISHERS concurrent callers for PUBLISH_SECONDS (no dispatcher). */
async function publishCalls(store: Store): Promise<Publish> {
  const { database } = store;
  await database.sql.query(`VACUUM delivery_queue, deliveries, webhook_rate_state`); // as in drain()
  const gateway = await startGateway({ config: { ...store.config, HOOKGATE_ROLE: "api" }, database, logger: createLogger("warn") });
  const pg0 = await backendCpu(database);
  let calls = 0;
  const until = performance.now() + PUBLISH_SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      while (performance.now() < until) {
        await gateway.services.publisher.publish([{ eventName: TYPE, payload: PAYLOAD }]);
        calls++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const result = { rate: calls / seconds, postgresCpu: perRequest(await backendCpuSince(database, pg0), calls) };
  await gateway.close();
  // Out of the measured window: these deliveries are not the next drain's to send.
  await database.sql.query(`DELETE FROM delivery_queue`);
  await database.sql.query(`UPDATE deliveries SET status = 'SUCCEEDED', next_attempt_at = NULL WHERE status = 'PENDING'`);
  return result;
}

/** Bytes on disk per million attempts: the three tables a delivery writes, with TOAST and indexes. */
async function diskPerMillion(database: Database): Promise<Record<string, number>> {
  const [row] = await database.sql.query<{ attempts: string; deliveries: string; events: string; n: string }>(
    `SELECT pg_total_relation_size('delivery_attempts')::text AS attempts, pg_total_relation_size('deliveries')::text AS deliveries,
            pg_total_relation_size('events')::text AS events, (SELECT count(*) FROM delivery_attempts)::text AS n`,
  );
  const millions = Number(row!.n) / 1e6;
  return {
    delivery_attempts: Number(row!.attempts) / millions,
    deliveries: Number(row!.deliveries) / millions,
    events: Number(row!.events) / millions,
  };
}

class Done extends Error {}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const pct = (grown: number, empty: number) => `${(((grown - empty) / empty) * 100).toFixed(1)} %`;

const receiver = await startReceiver();
const grown = await grownDatabase(receiver);
try {
  if (ROUNDS === 0) throw new Done(); // BENCH_ROUNDS=0 BENCH_KEEP_GROWN=1: only build the grown database
  process.stderr.write(`load average before: ${loadAverage()}\n`);
  const results = { empty: { drains: [] as Drain[], publishes: [] as Publish[] }, grown: { drains: [] as Drain[], publishes: [] as Publish[] } };
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternating which goes first, so neither always runs on a machine the other just warmed.
    const order: ("empty" | "grown")[] = round % 2 ? ["empty", "grown"] : ["grown", "empty"];
    for (const which of order) {
      const fresh = which === "empty" ? await createPostgresDatabase() : undefined;
      const store = fresh ? await openStore(fresh.url, receiver) : grown.store;
      const d = await drain(store);
      const p = await publishCalls(store);
      results[which].drains.push(d);
      results[which].publishes.push(p);
      process.stderr.write(
        `round ${round} ${which}: ${d.rate.toFixed(0)} deliveries/s (${d.dispatcherCpu.toFixed(0)} µs dispatcher, ${d.postgresCpu.toFixed(0)} µs postgres), ` +
          `${p.rate.toFixed(0)} publish calls/s (${p.postgresCpu.toFixed(0)} µs postgres), load ${loadAverage()}\n`,
      );
      if (fresh) {
        await store.close();
        await fresh.drop();
      }
    }
  }
  const summary = (which: "empty" | "grown") => {
    const r = results[which];
    const dispatcher = median(r.drains.map((d) => d.dispatcherCpu));
    const postgres = median(r.drains.map((d) => d.postgresCpu));
    return {
      rate: median(r.drains.map((d) => d.rate)),
      dispatcher,
      postgres,
      cpu: median(r.drains.map((d) => d.dispatcherCpu + d.postgresCpu)),
      publish: median(r.publishes.map((p) => p.rate)),
      publishPg: median(r.publishes.map((p) => p.postgresCpu)),
      rounds: r.drains.map((d) => d.rate.toFixed(0)).join(", "),
    };
  };
  const empty = summary("empty");
  const big = summary("grown");
  console.log(`existing attempts: ${EXISTING}, events per round: ${EVENTS}, rounds: ${ROUNDS}, concurrency: ${CONCURRENCY}, node ${process.version}`);
  console.log(`empty log:  ${empty.rate.toFixed(0)} deliveries/s (rounds: ${empty.rounds}); CPU per delivery ${empty.cpu.toFixed(0)} µs (dispatcher ${empty.dispatcher.toFixed(0)}, postgres ${empty.postgres.toFixed(0)}); ${empty.publish.toFixed(0)} publish calls/s (${empty.publishPg.toFixed(0)} µs postgres per call)`);
  console.log(`grown log:  ${big.rate.toFixed(0)} deliveries/s (rounds: ${big.rounds}); CPU per delivery ${big.cpu.toFixed(0)} µs (dispatcher ${big.dispatcher.toFixed(0)}, postgres ${big.postgres.toFixed(0)}); ${big.publish.toFixed(0)} publish calls/s (${big.publishPg.toFixed(0)} µs postgres per call)`);
  console.log(`grown vs empty: CPU per delivery ${pct(big.cpu, empty.cpu)}, deliveries/s ${pct(big.rate, empty.rate)}, publish calls/s ${pct(big.publish, empty.publish)}`);
  const disk = await diskPerMillion(grown.store.database);
  console.log(`disk per million attempts: delivery_attempts ${mb(disk.delivery_attempts!)}, deliveries ${mb(disk.deliveries!)}, events ${mb(disk.events!)}`);
  console.log(`load average after: ${loadAverage()}`);
} catch (error) {
  if (!(error instanceof Done)) throw error;
} finally {
  await grown.drop();
  receiver.stop();
}
