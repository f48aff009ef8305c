// Rate limits with REDIS_URL: counted in Redis, so every gateway sharing it shares the
// allowance; with Redis unreachable each process counts in memory and the API keeps working.
// Needs a Redis (HOOKGATE_TEST_REDIS_URL, else REDIS_URL, else 127.0.0.1:6379; CI has one): without
// one, outside CI, the file says so in one line and skips (test/support/servers.ts).
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { sample } from "../support/http.js";
import { eventually } from "../support/receiver.js";
import { needsRedis, testRedisUrl } from "../support/servers.js";

const REDIS_URL = testRedisUrl();
const redisUp = await needsRedis("test/server/rate-limits-redis.test.ts");
// This run's own keys: runs in parallel (or left over from a crash) never share counters.
const PREFIX = `hookgate-test:${process.pid}:${randomBytes(4).toString("hex")}:`;

let redis: Redis;
beforeAll(async () => {
  if (!redisUp) return;
  redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`these tests need Redis at ${REDIS_URL} (set HOOKGATE_TEST_REDIS_URL to use another): ${(error as Error).message}`);
  }
});
afterAll(async () => {
  if (redis?.status === "ready") {
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
});

const mutation = (title: string) => `mutation { createWebhookService(input: { title: "${title}" }) { token } }`;
const codes = (result: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => result.errors?.map((e) => e.extensions?.code);

describe.runIf(redisUp)("two gateways on one Redis", () => {
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    a = await startTestGateway({ HOOKGATE_ROLE: "api", REDIS_URL, HOOKGATE_REDIS_KEY_PREFIX: PREFIX, HOOKGATE_RATE_LIMIT_MUTATIONS: "3" });
    // The same admin token on both, as one deployment behind a load balancer would have.
    b = await startTestGateway({
      HOOKGATE_ROLE: "api",
      REDIS_URL,
      HOOKGATE_REDIS_KEY_PREFIX: PREFIX,
      HOOKGATE_RATE_LIMIT_MUTATIONS: "3",
      HOOKGATE_ADMIN_TOKEN: a.config.HOOKGATE_ADMIN_TOKEN!,
    });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("share one allowance per token: 2 on one gateway and 1 on the other use it up", async () => {
    expect((await a.admin.raw(mutation("a1"))).errors).toBeUndefined();
    expect((await a.admin.raw(mutation("a2"))).errors).toBeUndefined();
    // b's own admin client has a token of its own; this is a's token, which b accepts too.
    const sameTokenOnB = b.as(a.config.HOOKGATE_ADMIN_TOKEN);
    expect((await sameTokenOnB.raw(mutation("b1"))).errors).toBeUndefined();
    const refused = await sameTokenOnB.raw(mutation("b2"));
    expect(refused.status).toBe(429);
    expect(codes(refused)).toEqual(["RATE_LIMITED"]);
    expect(codes(await a.admin.raw(mutation("a3")))).toEqual(["RATE_LIMITED"]);
    // The counter lives in Redis under this run's prefix, keyed by a hash of the token, never the token.
    const keys = await redis.keys(`${PREFIX}*`);
    expect(keys.some((k) => k.startsWith(`${PREFIX}rl:mutation`))).toBe(true);
    for (const key of keys) expect(key).not.toContain(a.config.HOOKGATE_ADMIN_TOKEN!);
  });

  it("reports Redis as up in /metrics", async () => {
    const text = await (await fetch(`${new URL(a.gateway.url!).origin}/metrics`)).text();
    expect(sample(text, "hookgate_redis_up")).toBe(1);
  });
});

describe.runIf(redisUp)("Redis unreachable", () => {
  let t: TestGateway;
  beforeAll(async () => {
    // A port nothing listens on: every Redis command fails at once.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    t = await startTestGateway({
      HOOKGATE_ROLE: "api",
      REDIS_URL: `redis://127.0.0.1:${port}`,
      HOOKGATE_REDIS_KEY_PREFIX: PREFIX,
      HOOKGATE_RATE_LIMIT_MUTATIONS: "2",
    });
  });
  afterAll(async () => t?.close());

  it("the API keeps working and the limits still hold, counted in this process's memory", async () => {
    expect((await t.admin.raw(mutation("m1"))).errors).toBeUndefined();
    expect((await t.admin.raw(mutation("m2"))).errors).toBeUndefined();
    expect(codes(await t.admin.raw(mutation("m3")))).toEqual(["RATE_LIMITED"]);
    expect((await t.admin.raw("{ me { kind } }")).data).toEqual({ me: { kind: "ADMIN" } });
  });

  it("/metrics says Redis is down and /readyz is not ready", async () => {
    const origin = new URL(t.gateway.url!).origin;
    expect(sample(await (await fetch(`${origin}/metrics`)).text(), "hookgate_redis_up")).toBe(0);
    expect((await fetch(`${origin}/readyz`)).status).toBe(503);
  });
});

describe("Redis that stops answering (a black hole on a live connection)", () => {
  let t: TestGateway;
  let proxy: Server;
  let blackHole = false;
  const sockets = new Set<import("node:net").Socket>();
  beforeAll(async () => {
    // A real TCP proxy to the real Redis; switched to a black hole it keeps every connection
    // open and passes nothing either way, as a stopped Redis or a half-open network path does.
    const target = new URL(REDIS_URL);
    proxy = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      sockets.add(client).add(upstream);
      client.on("data", (d) => void (blackHole || upstream.write(d)));
      upstream.on("data", (d) => void (blackHole || client.write(d)));
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const { port } = proxy.address() as { port: number };
    t = await startTestGateway({
      HOOKGATE_ROLE: "api",
      REDIS_URL: `redis://127.0.0.1:${port}`,
      HOOKGATE_REDIS_KEY_PREFIX: PREFIX,
      HOOKGATE_RATE_LIMIT_MUTATIONS: "2",
      HOOKGATE_REDIS_COMMAND_TIMEOUT_MS: "300",
    });
    await eventually(() => t.gateway.services.redis!.isReady() || undefined, 10_000);
  });
  afterAll(async () => {
    await t?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => proxy?.close(resolve));
  });

  it("a rate-limited request completes promptly, counted in memory, instead of waiting for an answer", async () => {
    expect((await t.admin.raw(mutation("bh1"))).errors).toBeUndefined(); // counted in Redis
    blackHole = true;
    const started = Date.now();
    // The connection is still up ("ready"); only the answers never come.
    expect(t.gateway.services.redis!.isReady()).toBe(true);
    // Bounded here so that, without the fix, the test fails instead of waiting for ever.
    const within = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 5 s")), 5_000))]);
    // This process's memory starts its own count (2 a minute), as when Redis is down.
    expect((await within(t.admin.raw(mutation("bh2")))).errors).toBeUndefined();
    expect((await within(t.admin.raw(mutation("bh3")))).errors).toBeUndefined();
    expect(codes(await within(t.admin.raw(mutation("bh4"))))).toEqual(["RATE_LIMITED"]);
    // Three commands timed out (300 ms each); without the timeout the first never returns.
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
