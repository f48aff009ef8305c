// Drill 4: Redis is killed and started again while live subscribers follow eventPublished. Two
// gateway processes share one database and one Redis: events are published on A, subscribers
// listen on B, so live events cross Redis. While Redis is down, B must say it is not ready and
// its subscribers must still get every event (B reads the store for what Redis did not bring);
// a subscriber that reconnects resumes with `after` (here one does so on purpose, during the
// outage). In the end every subscriber has every acknowledged event, once, in id order.
//
// The drill runs its own redis-server on a free port: the shared one on 6379 is never touched.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { PublishEventDocument } from "../generated/graphql.js";
import {
  countDeliveries,
  drillEnv,
  publishUnderLoad,
  readyz,
  reportDrill,
  startGatewayProcess,
  type GatewayProcess,
} from "../support/drill.js";
import { createEventType } from "../support/fixtures.js";
import { collect, EVENT_PUBLISHED, wsClient, type LiveEvent, type Received } from "../support/live.js";
import { startPrivateRedis, type PrivateRedis } from "../support/private-servers.js";
import { eventually } from "../support/receiver.js";
import { createPostgresDatabase } from "../support/store.js";
import { needsServerBinaries } from "../support/servers.js";

const serversInstalled = needsServerBinaries("test/drills/redis-restart.pg.test.ts", ["redis"]);

let redis: PrivateRedis;
let dropDatabase: (() => Promise<void>) | undefined;
const gateways: GatewayProcess[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  if (!serversInstalled) return;
  redis = await startPrivateRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await Promise.all(gateways.map((g) => g.process.kill("SIGKILL")));
  await redis?.destroy();
  await dropDatabase?.();
});

/**
 * A subscriber that keeps every event it got and, whenever its subscription ends (or resume() is
 * called), subscribes again on a new connection with `after` = the last id it has.
 */
function resumingSubscriber(gw: GatewayProcess, token: string, after: string) {
  const ids: string[] = [];
  let resumes = 0;
  let current: Received<LiveEvent>;
  let client: Client;
  const subscribe = () => {
    client = wsClient(gw.url, token);
    clients.push(client);
    current = collect<LiveEvent>(client, EVENT_PUBLISHED, { after: ids.at(-1) ?? after });
    const mine = current;
    const watch = setInterval(() => {
      if (mine !== current) return clearInterval(watch);
      // Move what arrived into the subscriber's own list; an ended subscription is resumed.
      for (const item of mine.items.splice(0)) ids.push(item.id);
      if (mine.error || mine.completed) {
        clearInterval(watch);
        resume();
      }
    }, 20);
  };
  const resume = () => {
    for (const item of current.items.splice(0)) ids.push(item.id);
    current.stop();
    void client.dispose();
    resumes++;
    subscribe();
  };
  subscribe();
  return {
    ids,
    resumes: () => resumes,
    lastError: () => JSON.stringify(current.error ?? null),
    /** Drops the connection and subscribes again with `after`, as a client that lost its network would. */
    resume,
  };
}

describe.runIf(serversInstalled)("drill: Redis restarts during live subscriptions", () => {
  it("subscribers miss nothing, see nothing twice, and resume with after", async () => {
    const db = await createPostgresDatabase();
    dropDatabase = db.drop;
    const env = drillEnv(db.url, {
      REDIS_URL: redis.url,
      HOOKGATE_ROLE: "api",
      // Rate limits on (they live in Redis, with an in-memory fallback), high enough for the drill's traffic.
      HOOKGATE_RATE_LIMIT_PUBLISH: "1000000",
      HOOKGATE_RATE_LIMIT_MUTATIONS: "1000000",
      HOOKGATE_RATE_LIMIT_CONNECTIONS: "1000",
    });
    const a = await startGatewayProcess(env);
    gateways.push(a);
    const b = await startGatewayProcess(env);
    gateways.push(b);
    const logs = () => `gateway A:\n${a.process.output()}\ngateway B:\n${b.process.output()}`;
    // Ready once its Redis connections are up (just after start they may still be connecting).
    await eventually(async () => (await readyz(a.origin)) === 200 && (await readyz(b.origin)) === 200, 30_000, logs);

    const type = await createEventType(a);
    const base = (await a.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { base: true } } })).publishEvent.event.id;
    const subscribers = [0, 1, 2].map(() => resumingSubscriber(b, b.admin.token!, base));
    const least = () => Math.min(...subscribers.map((s) => s.ids.length));

    // Publishing on A, in batches of 10, until stopped.
    const load = publishUnderLoad(a.admin, type.name);
    const acked = load.acknowledged;
    const started = Date.now();
    const state = () => {
      const missing = countDeliveries(acked, new Map(subscribers[0]!.ids.map((id) => [id, 1]))).lostIds;
      return (
        `acked ${acked.length} (last ${acked.at(-1)}), received ${subscribers.map((s) => `${s.ids.length} (last ${s.ids.at(-1)})`).join(", ")}, ` +
        `subscriber 0 misses ${missing.length}: ${missing.slice(0, 20).join(",")}; refused ${load.refused()} ${load.lastRefusal()}\n${logs()}`
      );
    };
    await eventually(() => least() >= 200, 30_000, state);

    // Redis dies (SIGKILL: every connection drops at once).
    await redis.stop();
    const stoppedAt = Date.now();
    await eventually(async () => (await readyz(b.origin)) === 503, 30_000, state);
    const notReadyAfterMs = Date.now() - stoppedAt;
    const ackedAtStop = acked.length;
    const receivedAtStop = least();
    // During the outage: publishing goes on, subscribers keep receiving (from the store), and one
    // subscriber reconnects and resumes with `after`. At least 3 s, so the outage is not a blip.
    await eventually(() => least() >= receivedAtStop + 100, 30_000, state);
    subscribers[1]!.resume();
    await eventually(
      () => acked.length >= ackedAtStop + 200 && least() >= receivedAtStop + 200 && Date.now() - stoppedAt >= 3_000,
      30_000,
      state,
    );
    const outage = { ms: Date.now() - stoppedAt, acked: acked.length - ackedAtStop, received: least() - receivedAtStop };

    await redis.start();
    const restartedAt = Date.now();
    await eventually(async () => (await readyz(b.origin)) === 200 && (await readyz(a.origin)) === 200, 60_000, state);
    const readyAfterMs = Date.now() - restartedAt;
    const ackedAtRestart = acked.length;
    await eventually(() => acked.length >= ackedAtRestart + 200, 60_000, state);
    await load.stop();

    // Every subscriber ends with every acknowledged event, once each, in id order.
    await eventually(() => subscribers.every((s) => countDeliveries(acked, new Map(s.ids.map((id) => [id, 1]))).lost === 0), 60_000, state);
    const allReceivedAfterMs = Date.now() - restartedAt;
    const figures = subscribers.map((s) => {
      const counts = new Map<string, number>();
      for (const id of s.ids) counts.set(id, (counts.get(id) ?? 0) + 1);
      return countDeliveries(acked, counts);
    });
    reportDrill("redis-restart", {
      subscribers: subscribers.length,
      sent: acked.length,
      refused: load.refused(),
      delivered: figures.map((f) => f.delivered).join("/"),
      duplicates: figures.reduce((sum, f) => sum + f.duplicates, 0),
      lost: figures.reduce((sum, f) => sum + f.lost, 0),
      resumes: subscribers.map((s) => s.resumes()).join("/"),
      notReadyAfterMs,
      outageMs: outage.ms,
      sentDuringOutage: outage.acked,
      receivedDuringOutage: outage.received,
      readyAfterRestartMs: readyAfterMs,
      allReceivedAfterRestartMs: allReceivedAfterMs,
      seconds: ((Date.now() - started) / 1000).toFixed(1),
    });
    for (const [i, s] of subscribers.entries()) {
      expect(figures[i]!.lostIds, `subscriber ${i}`).toEqual([]);
      expect(figures[i]!.duplicates, `subscriber ${i}`).toBe(0);
      // In id order, and nothing but what was acknowledged (the base event came before `after`).
      const sorted = [...s.ids].sort((x, y) => Number(BigInt(x) - BigInt(y)));
      expect(s.ids, `subscriber ${i}`).toEqual(sorted);
      expect(new Set(s.ids)).toEqual(new Set(acked));
    }
    expect(subscribers[1]!.resumes()).toBeGreaterThanOrEqual(1);
    // Publishing does not need Redis: nothing was refused during the outage.
    expect(load.refused(), load.lastRefusal()).toBe(0);
    expect(a.process.alive() && b.process.alive(), logs()).toBe(true);
  }, 115_000);
});
