// Two installations (each its own PostgreSQL database: its own event ids, types and webhooks, all starting
// at 1) on one Redis, told apart by HOOKGATE_REDIS_KEY_PREFIX. Needs a Redis on 127.0.0.1:6379
// (CI has one); without it this file fails, it never skips.
import { randomBytes } from "node:crypto";
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, EVENT_PUBLISHED, wsClient, type LiveEvent } from "../support/live.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

const REDIS_URL = process.env.HOOKGATE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const run = `${process.pid}-${randomBytes(4).toString("hex")}`;

const ATTEMPTS = `subscription($w: ID!) { deliveryAttempted(webhookId: $w) { id attemptNumber requestUrl requestBody succeeded } }`;

interface LiveAttempt {
  readonly id: string;
  readonly requestUrl: string;
  readonly requestBody: string;
  readonly succeeded: boolean;
}

describe("two installations on one Redis with different HOOKGATE_REDIS_KEY_PREFIX", () => {
  let a: TestGateway;
  let b: TestGateway;
  let receiverA: Receiver;
  let receiverB: Receiver;
  const clients: Client[] = [];

  beforeAll(async () => {
    receiverA = await startReceiver();
    receiverB = await startReceiver();
    // The store poll is ten minutes: within the test's seconds, live events come through Redis.
    const env = (prefix: string) => ({ env: { REDIS_URL, HOOKGATE_REDIS_KEY_PREFIX: prefix, HOOKGATE_LIVE_POLL_MS: "600000" } });
    a = await startTestGateway(env(`hgtest-a-${run}:`));
    b = await startTestGateway(env(`hgtest-b-${run}:`));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await a?.close();
    await b?.close();
    await receiverA?.close();
    await receiverB?.close();
  });

  it("B's subscribers get every event of B and none of A's; B's service never sees A's attempts", async () => {
    // The same shape on both: event type 1, service 1, webhook 1.
    const setUp = async (t: TestGateway, receiver: Receiver) => {
      const type = await createEventType(t, "ORDER_CREATED");
      const service = await createService(t, "shop");
      const { webhook } = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/hook") });
      return { type, service, webhook };
    };
    const onA = await setUp(a, receiverA);
    const onB = await setUp(b, receiverB);
    expect([onA.type.id, onA.webhook.id]).toEqual([onB.type.id, onB.webhook.id]);
    const publish = (t: TestGateway, payload: Record<string, unknown>) =>
      t.admin.ok(PublishEventDocument, { input: { eventName: "ORDER_CREATED", payload } }).then((r) => r.publishEvent.event.id);

    const events = collect<LiveEvent>(track(wsClient(b.gateway.url!, b.admin.token)), EVENT_PUBLISHED, { eventNames: ["ORDER_CREATED"] });
    const attempts = collect<LiveAttempt>(track(wsClient(b.gateway.url!, onB.service.token)), ATTEMPTS, { w: onB.webhook.id }, "deliveryAttempted");
    // Both subscriptions are live once a probe published on B has reached both.
    await eventually(async () => {
      await publish(b, { from: "B", probe: true });
      return events.items.length > 0 && attempts.items.length > 0;
    }, 20_000);

    // A: a burst, all delivered by A (and its attempts recorded) before B publishes again.
    const fromA: string[] = [];
    for (let i = 0; i < 20; i++) fromA.push(await publish(a, { from: "A", n: i }));
    await eventually(() => receiverA.requests.length >= fromA.length, 20_000);
    // B: its ids are lower than A's latest; A's messages must not have moved B's feed past them.
    const fromB: string[] = [];
    for (let i = 0; i < 3; i++) fromB.push(await publish(b, { from: "B", n: i }));

    const isB = (body: string, n: number) => {
      const { data } = JSON.parse(body) as { data: { from?: string; n?: number } };
      return data.from === "B" && data.n === n;
    };
    await eventually(() => fromB.every((id) => events.items.some((e) => e.id === id)), 20_000, () => JSON.stringify(events.items));
    await eventually(() => [0, 1, 2].every((n) => attempts.items.some((x) => isB(x.requestBody, n))), 20_000, () => JSON.stringify(attempts.items));

    const payloads = events.items.map((e) => e.payload as { from: string; n?: number; probe?: boolean });
    expect(payloads.filter((p) => p.from !== "B"), "A's events reached B's subscriber").toEqual([]);
    expect(payloads.filter((p) => !p.probe).map((p) => p.n)).toEqual([0, 1, 2]);
    expect(events.items.filter((e) => !(e.payload as { probe?: boolean }).probe).map((e) => e.id)).toEqual(fromB);
    expect(attempts.items.filter((x) => x.requestUrl !== receiverB.url("/hook")), "A's attempts reached B's service").toEqual([]);
    expect(attempts.items.filter((x) => (JSON.parse(x.requestBody) as { data: { from?: string } }).data.from !== "B")).toEqual([]);
    expect(attempts.items.every((x) => x.succeeded)).toBe(true);
  }, 90_000);

  function track(client: Client): Client {
    clients.push(client);
    return client;
  }
});
