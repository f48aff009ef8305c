import { randomBytes } from "node:crypto";
import { appendFileSync } from "node:fs";
import { PublishEventsDocument } from "../generated/graphql.js";
import { GraphQLClient } from "./client.js";
import { startPrivateRedis, type PrivateRedis } from "./private-servers.js";
import { runHookgate, type HookgateProcess } from "./processes.js";
import type { Received } from "./receiver.js";
import { createPostgresDatabase } from "./store.js";

// Shared pieces of the fault drills (test/drills): processes started as an operator starts
// them, and the counting every drill reports in one line.

/** The environment every Hookgate process of one drill shares (same database, same key). */
export function drillEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    HOOKGATE_ALLOW_PRIVATE_TARGETS: "true", // the receivers listen on 127.0.0.1
    HOOKGATE_LOG_LEVEL: process.env.HOOKGATE_TEST_LOG_LEVEL ?? "warn",
    HOOKGATE_POLL_MS: "50",
    // Drill databases start empty: the first process applies the migrations.
    HOOKGATE_MIGRATE: "auto",
    // Drill traffic is one token publishing as fast as it can: not what the rate limits are for.
    HOOKGATE_RATE_LIMIT_PUBLISH: "0",
    HOOKGATE_RATE_LIMIT_MUTATIONS: "0",
    HOOKGATE_RATE_LIMIT_CONNECTIONS: "0",
    ...extra,
  };
}

export interface GatewayProcess {
  readonly process: HookgateProcess;
  /** http://127.0.0.1:<port>/graphql */
  readonly url: string;
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  readonly admin: GraphQLClient;
  as(token?: string): GraphQLClient;
}

/** `hookgate start` on a free port of 127.0.0.1 with a known admin token; resolves once it serves. */
export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const adminToken = `hg_admin_${randomBytes(24).toString("base64url")}`;
  const child = runHookgate("start", { HOOKGATE_HOST: "127.0.0.1", HOOKGATE_PORT: "0", HOOKGATE_ADMIN_TOKEN: adminToken, ...env });
  const [, url] = await child.waitForOutput(/"url":"(http:\/\/[^"]+\/graphql)"/);
  const as = (token?: string) => new GraphQLClient(url!, token);
  return { process: child, url: url!, origin: new URL(url!).origin, admin: as(adminToken), as };
}

/** Two gateway processes on one fresh PostgreSQL database and one Redis of their own (stopping it disturbs nobody). */
export interface GatewayPair {
  readonly a: GatewayProcess;
  readonly b: GatewayProcess;
  readonly redis: PrivateRedis;
  /** Kills both, stops the Redis and drops the database. */
  close(): Promise<void>;
}

export async function startGatewayPair(extra: Record<string, string> = {}): Promise<GatewayPair> {
  const redis = await startPrivateRedis();
  const db = await createPostgresDatabase();
  const env = drillEnv(db.url, { REDIS_URL: redis.url, ...extra });
  const a = await startGatewayProcess(env);
  const b = await startGatewayProcess(env);
  return {
    a,
    b,
    redis,
    close: async () => {
      await Promise.all([a, b].map((g) => g.process.kill("SIGKILL")));
      await redis.destroy();
      await db.drop();
    },
  };
}

/** GET /readyz: its status, or 0 when the gateway does not answer at all. */
export async function readyz(origin: string): Promise<number> {
  try {
    const response = await fetch(`${origin}/readyz`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** Calls per event id (the webhook-id header) that reached a receiver on one path. */
export function callsPerEvent(requests: readonly Received[], path: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of requests) {
    if (r.path !== path) continue;
    const id = r.headers["webhook-id"] as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

export interface DeliveryCount {
  /** Events the gateway acknowledged (publish returned them). */
  readonly sent: number;
  /** Of those, events that reached the receiver at least once. */
  readonly delivered: number;
  /** Calls beyond the first for an event (at-least-once repeats). */
  readonly duplicates: number;
  /** Events that got more than one call. */
  readonly duplicatedEvents: number;
  /** Events acknowledged but never received. */
  readonly lost: number;
  readonly lostIds: string[];
}

/** Compares what was acknowledged with what a receiver got. */
export function countDeliveries(sentIds: Iterable<string>, calls: Map<string, number>): DeliveryCount {
  const sent = [...new Set(sentIds)];
  const lostIds = sent.filter((id) => !calls.has(id));
  let duplicates = 0;
  let duplicatedEvents = 0;
  for (const n of calls.values()) {
    duplicates += n - 1;
    if (n > 1) duplicatedEvents++;
  }
  return { sent: sent.length, delivered: sent.length - lostIds.length, duplicates, duplicatedEvents, lost: lostIds.length, lostIds };
}

/**
 * Prints a drill's figures as one line (`DRILL <name>: key=value …`), and appends it to the
 * file HOOKGATE_DRILL_LOG names, if any, for RELIABILITY.md.
 */
export function reportDrill(name: string, figures: Record<string, number | string>): string {
  const line = `DRILL ${name}: ${Object.entries(figures)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")}`;
  console.log(line);
  if (process.env.HOOKGATE_DRILL_LOG) appendFileSync(process.env.HOOKGATE_DRILL_LOG, `${line}\n`);
  return line;
}

/**
 * Publishes batches of 10 events one after another until stopped, as a steady producer would;
 * counts what the gateway acknowledged (event ids) and what it refused.
 */
export function publishUnderLoad(admin: GraphQLClient, eventName: string) {
  const acknowledged: string[] = [];
  let refused = 0;
  let lastRefusal = "";
  /** Refusals by "HTTP <status> <code>". */
  const refusals = new Map<string, number>();
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const events = Array.from({ length: 10 }, () => ({ eventName, payload: { n: n++ } }));
      try {
        const result = await admin.request(PublishEventsDocument, { input: { events } });
        if (result.data?.publishEvents) acknowledged.push(...result.data.publishEvents.results.map((r) => r.event.id));
        else {
          refused += events.length;
          lastRefusal = `HTTP ${result.status} ${result.errors?.[0]?.extensions?.code ?? ""}: ${result.errors?.[0]?.message ?? ""}`;
          const kind = `HTTP ${result.status} ${String(result.errors?.[0]?.extensions?.code ?? "")}`;
          refusals.set(kind, (refusals.get(kind) ?? 0) + events.length);
        }
      } catch (error) {
        refused += events.length;
        lastRefusal = String(error);
        refusals.set("no answer", (refusals.get("no answer") ?? 0) + events.length);
      }
      // Paces the load (at most about 50 publishes a second); not a correctness wait.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    acknowledged,
    refused: () => refused,
    refusals,
    lastRefusal: () => lastRefusal,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
