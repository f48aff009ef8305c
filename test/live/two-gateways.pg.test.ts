import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { PublishEventDocument } from "../generated/graphql.js";
import { readyz, startGatewayPair, type GatewayPair, type GatewayProcess } from "../support/drill.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { collect, EVENT_PUBLISHED, wsClient, type LiveEvent } from "../support/live.js";
import type { PrivateRedis } from "../support/private-servers.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { needsServerBinaries } from "../support/servers.js";

const serversInstalled = needsServerBinaries("test/live/two-gateways.pg.test.ts", ["redis"]);

/**
 * Two gateway processes on one PostgreSQL and one Redis (a private redis-server, so stopping it
 * disturbs nobody). The store poll is set to ten minutes, so an event that reaches the other
 * process within the test's seconds came through Redis.
 */
describe.runIf(serversInstalled)("live subscriptions across gateway processes (Redis)", () => {
  let pair: GatewayPair | undefined;
  let redis: PrivateRedis;
  let receiver: Receiver;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const clients: Client[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
    pair = await startGatewayPair({ HOOKGATE_LIVE_POLL_MS: "600000" });
    ({ a, b, redis } = pair);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await pair?.close();
    await receiver?.close();
  });

  it("an event published on A reaches a subscriber on B; with Redis down the API and webhook deliveries go on, and live delivery catches up when it is back", async () => {
    const type = await createEventType(a);
    const service = await createService(a);
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/two") });
    const publishOnA = (payload: unknown) =>
      a.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload } }).then((r) => r.publishEvent.event.id);

    const client = wsClient(b.url, b.admin.token);
    clients.push(client);
    const sub = collect<LiveEvent>(client, EVENT_PUBLISHED, { eventNames: [type.name] });
    // Live once B has subscribed the type's channel: publish on A until one arrives on B.
    const probes: string[] = [];
    const first = await eventually(async () => {
      probes.push(await publishOnA({ probe: true }));
      return sub.items[0];
    }, 20_000);
    expect(first.eventName).toBe(type.name);
    // Probes sent before B's subscription started are not for it; one sent after is.
    const marker = await publishOnA({ marker: true });
    await eventually(() => sub.items.some((e) => e.id === marker));
    const seenBefore = sub.items.length;

    await redis.stop();
    await eventually(async () => (await readyz(a.origin)) === 503 && (await readyz(b.origin)) === 503, 20_000);
    const duringOutage = [await publishOnA({ outage: 1 }), await publishOnA({ outage: 2 })];
    // The API answers and the dispatcher delivers while Redis is down.
    await eventually(() => duringOutage.every((id) => receiver.requests.some((r) => r.headers["webhook-id"] === id)), 20_000);

    await redis.start();
    await eventually(async () => (await readyz(a.origin)) === 200 && (await readyz(b.origin)) === 200, 30_000);
    // The next message through Redis makes B check the store and pass on what it missed, in order.
    const after = await eventually(async () => {
      const id = await publishOnA({ after: true });
      return sub.items.some((e) => e.id === id) ? id : undefined;
    }, 30_000);
    const got = sub.items.slice(seenBefore).map((e) => e.id);
    expect(got.slice(0, 2)).toEqual(duringOutage);
    expect(got).toContain(after);
    expect(new Set(sub.items.map((e) => e.id)).size).toBe(sub.items.length);
    const ids = sub.items.map((e) => BigInt(e.id));
    expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : 1)));
  }, 110_000);
});
