// The pull queue through GraphQL over real HTTP: a PULL webhook's deliveries are received in
// order, one batch at a time, acknowledged (SUCCEEDED, an attempt logged), handed out again
// after the visibility timeout (a manual clock), kept across a gateway restart, never sent by
// the dispatcher, and a long poll returns as soon as an event arrives.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { startGateway, type Gateway } from "../../src/server/gateway.js";
import { createLogger } from "../../src/log.js";
import {
  AcknowledgeNotificationsDocument,
  CreateWebhookDocument,
  PublishEventsDocument,
  PullWebhookLogDocument,
  ReceiveNotificationsDocument,
  RetryDeliveryDocument,
  UpdateWebhookDocument,
} from "../generated/graphql.js";
import { GraphQLClient } from "../support/client.js";
import { createEventType, createService, createWebhook, type GatewayClients } from "../support/fixtures.js";
import { startTestGateway, tableResolver, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { storeKind } from "../support/store.js";
import { sample } from "../support/http.js";

const VISIBILITY_SECONDS = 30;
const clock = new ManualClock(new Date("2026-11-30T12:00:00Z"));
let t: TestGateway;
let receiver: Receiver;
/** The gateway serving now (a restart replaces it); t.store stays. */
let gateway: Gateway;
let admin: GraphQLClient;
/** Clients of the gateway serving now. */
let g: GatewayClients;

beforeAll(async () => {
  t = await startTestGateway({ clock, env: { HOOKGATE_PULL_VISIBILITY_SECONDS: String(VISIBILITY_SECONDS), HOOKGATE_LIVE_POLL_MS: "15000" } });
  gateway = t.gateway;
  admin = t.admin;
  g = { admin, as: t.as };
  receiver = await startReceiver(() => ({ status: 204 }));
});
afterAll(async () => {
  await gateway?.close();
  await t?.store.close();
  await receiver?.close();
});

/** A service with a PULL webhook on a new event type. */
async function pullWebhook() {
  const type = await createEventType(g);
  const service = await createService(g);
  const { webhook } = await createWebhook(service.client, { eventIds: [type.id], url: null, deliveryMode: "PULL" });
  return { type, service, webhookId: webhook.id };
}

async function publish(eventName: string, from: number, count: number) {
  const events = Array.from({ length: count }, (_, i) => ({ eventName, payload: { n: from + i } }));
  await admin.ok(PublishEventsDocument, { input: { events } });
}

function receive(client: GraphQLClient, webhookId: string, max = 1, waitSeconds = 0) {
  return client.ok(ReceiveNotificationsDocument, { webhookId, max, waitSeconds }).then((r) => r.receiveNotifications);
}

function ack(client: GraphQLClient, webhookId: string, receiptIds: string[]) {
  return client.ok(AcknowledgeNotificationsDocument, { webhookId, receiptIds }).then((r) => r.acknowledgeNotifications.acknowledgedReceiptIds);
}

describe(`pull queue (${storeKind()})`, () => {
  it("hands out every event in publish order, one batch at a time, and an acknowledged one is SUCCEEDED with a PULL attempt", async () => {
    const { type, service, webhookId } = await pullWebhook();
    for (let i = 0; i < 60; i += 6) await publish(type.name, i, 6);

    const first = await receive(service.client, webhookId, 5);
    expect(first.map((n) => (n.payload as { n: number }).n)).toEqual([0, 1, 2, 3, 4]);
    expect(JSON.parse(first[0]!.body)).toMatchObject({ id: first[0]!.eventId, type: type.name, data: { n: 0 } });
    // The batch is out: nobody gets the next one until it is acknowledged.
    expect(await receive(service.client, webhookId, 5)).toEqual([]);
    expect(await receive(admin, webhookId, 5)).toEqual([]);
    expect(await ack(service.client, webhookId, first.map((n) => n.receiptId))).toEqual(first.map((n) => n.receiptId));
    // Twice is a no-op.
    expect(await ack(service.client, webhookId, [first[0]!.receiptId])).toEqual([]);

    const seen = first.map((n) => (n.payload as { n: number }).n);
    for (;;) {
      const batch = await receive(service.client, webhookId, 7);
      if (!batch.length) break;
      seen.push(...batch.map((n) => (n.payload as { n: number }).n));
      await ack(service.client, webhookId, batch.map((n) => n.receiptId));
    }
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => i));

    const { webhookLogs } = await service.client.ok(PullWebhookLogDocument, { webhookId });
    expect(webhookLogs.edges).toHaveLength(60);
    for (const { node } of webhookLogs.edges) {
      expect(node.status).toBe("SUCCEEDED");
      expect(node.attemptCount).toBe(1);
      expect(node.attempts).toEqual([expect.objectContaining({ requestMethod: "PULL", requestUrl: "", succeeded: true })]);
    }
  });

  it("two consumers polling at once never hold the same delivery, and together receive each once, in order", async () => {
    const { type, service, webhookId } = await pullWebhook();
    await publish(type.name, 0, 40);
    const consumers = [service.client, g.as(service.token), admin];
    const got: { consumer: number; n: number; receipt: string }[] = [];
    let holders = 0;
    let maxHolders = 0;
    await Promise.all(
      consumers.map(async (client, consumer) => {
        for (let empty = 0; empty < 20; ) {
          const batch = await receive(client, webhookId, 3);
          if (!batch.length) {
            empty++;
            continue;
          }
          holders++;
          maxHolders = Math.max(maxHolders, holders);
          for (const n of batch) got.push({ consumer, n: (n.payload as { n: number }).n, receipt: n.receiptId });
          await new Promise((resolve) => setTimeout(resolve, 5));
          holders--;
          expect(await ack(client, webhookId, batch.map((n) => n.receiptId))).toHaveLength(batch.length);
        }
      }),
    );
    expect(maxHolders).toBe(1);
    expect(got.map((g) => g.n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(new Set(got.map((g) => g.receipt)).size).toBe(40);
  });

  it("an unacknowledged batch comes back after the visibility timeout with new receipts; the old receipt no longer acknowledges", async () => {
    const { type, service, webhookId } = await pullWebhook();
    await publish(type.name, 0, 3);
    const first = await receive(service.client, webhookId, 2);
    expect(first).toHaveLength(2);
    clock.advance((VISIBILITY_SECONDS - 1) * 1000);
    expect(await receive(service.client, webhookId, 2)).toEqual([]);
    clock.advance(2_000);
    const again = await receive(service.client, webhookId, 3);
    // The same deliveries first (they are the oldest), then the next, all with new receipts.
    expect(again.map((n) => n.deliveryId)).toEqual([...first.map((n) => n.deliveryId), again[2]!.deliveryId]);
    expect(again.map((n) => (n.payload as { n: number }).n)).toEqual([0, 1, 2]);
    for (const [i, n] of first.entries()) expect(again[i]!.receiptId).not.toBe(n.receiptId);
    expect(await ack(service.client, webhookId, first.map((n) => n.receiptId))).toEqual([]);
    expect(await ack(service.client, webhookId, again.map((n) => n.receiptId))).toHaveLength(3);
  });

  it("the dispatcher never sends a PULL webhook's deliveries, also after a retry or a re-enable", async () => {
    const { type, service, webhookId } = await pullWebhook();
    // A PUSH webhook on the same type: once it has everything, the dispatcher had its chance.
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/push") });
    await publish(type.name, 0, 3);
    await eventually(() => receiver.requests.filter((r) => r.path === "/push").length === 3);
    const { webhookLogs } = await service.client.ok(PullWebhookLogDocument, { webhookId });
    expect(webhookLogs.edges.map((e) => [e.node.status, e.node.attempts.length])).toEqual([
      ["PENDING", 0],
      ["PENDING", 0],
      ["PENDING", 0],
    ]);
    // Neither makes them due for the dispatcher.
    const retried = await service.client.request(RetryDeliveryDocument, { deliveryId: webhookLogs.edges[0]!.node.id });
    expect(retried.errors?.[0]?.extensions?.code).not.toBe("INTERNAL_SERVER_ERROR");
    await service.client.ok(UpdateWebhookDocument, { webhookId, input: { isActive: false } });
    await service.client.ok(UpdateWebhookDocument, { webhookId, input: { isActive: true } });
    await publish(type.name, 3, 1);
    await eventually(() => receiver.requests.filter((r) => r.path === "/push").length === 4);
    const rows = await t.store.database.sql.query<{ due: number }>(
      `SELECT count(*)::int AS due FROM delivery_queue WHERE webhook_id = $1 AND due_at IS NOT NULL`,
      [Number(webhookId)],
    );
    expect(rows[0]!.due).toBe(0);
    const all = await receive(service.client, webhookId, 10);
    expect(all.map((n) => (n.payload as { n: number }).n)).toEqual([0, 1, 2, 3]);
    expect(all.every((n) => !n.body.includes("/push"))).toBe(true);
    await ack(service.client, webhookId, all.map((n) => n.receiptId));
  });

  it("with a FIFO webhook beside it on the same type, a PULL webhook's deliveries still wait for its consumer, and the FIFO one's go in order", async () => {
    // The queuing trigger has one branch for installations with FIFO or PULL webhooks: both
    // kinds at once must keep both rules (a FIFO-only trigger gave PULL rows a due time).
    const { type, service, webhookId } = await pullWebhook();
    const fifo = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/fifo"), ordering: "FIFO" });
    await publish(type.name, 0, 3);
    await eventually(() => receiver.requests.filter((r) => r.path === "/fifo").length === 3);
    const order = receiver.requests.filter((r) => r.path === "/fifo").map((r) => (JSON.parse(r.body) as { data: { n: number } }).data.n);
    expect(order).toEqual([0, 1, 2]);
    const rows = await t.store.database.sql.query<{ due: number; placed: number }>(
      `SELECT count(*) FILTER (WHERE due_at IS NOT NULL)::int AS due, count(tx_id)::int AS placed FROM delivery_queue WHERE webhook_id = $1`,
      [Number(webhookId)],
    );
    expect(rows[0]).toEqual({ due: 0, placed: 3 });
    const all = await receive(service.client, webhookId, 10);
    expect(all.map((n) => (n.payload as { n: number }).n)).toEqual([0, 1, 2]);
    await ack(service.client, webhookId, all.map((n) => n.receiptId));
    await service.client.ok(UpdateWebhookDocument, { webhookId: fifo.webhook.id, input: { isActive: false } });
  });

  it("refuses FIFO ordering and a rate limit on a PULL webhook, naming the field", async () => {
    const type = await createEventType(g);
    const service = await createService(g);
    const pull = { eventIds: [type.id], url: null, deliveryMode: "PULL" as const };
    expect(await service.client.fail(CreateWebhookDocument, { input: { ...pull, ordering: "FIFO" } })).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.ordering",
    });
    const { webhook } = await createWebhook(service.client, pull);
    expect(await service.client.fail(UpdateWebhookDocument, { webhookId: webhook.id, input: { maxDeliveriesPerSecond: 5 } })).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.maxDeliveriesPerSecond",
    });
  });

  it("a long poll returns as soon as an event is published", async () => {
    const { type, service, webhookId } = await pullWebhook();
    const started = Date.now();
    const waiting = receive(service.client, webhookId, 5, 20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await publish(type.name, 0, 1);
    const got = await waiting;
    const took = Date.now() - started;
    expect(got.map((n) => (n.payload as { n: number }).n)).toEqual([0]);
    // Far below the 20 s wait and the 15 s fallback interval: the publish woke it.
    expect(took).toBeLessThan(5_000);
    // An empty long poll waits its time, then answers an empty list.
    await ack(service.client, webhookId, got.map((n) => n.receiptId));
    const before = Date.now();
    expect(await receive(service.client, webhookId, 1, 1)).toEqual([]);
    expect(Date.now() - before).toBeGreaterThanOrEqual(900);
  });

  it("a long poll waiting behind an outstanding batch returns when that batch is acknowledged", async () => {
    const { type, service, webhookId } = await pullWebhook();
    await publish(type.name, 0, 2);
    const [first] = await receive(service.client, webhookId, 1);
    const waiting = receive(admin, webhookId, 1, 20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await ack(service.client, webhookId, [first!.receiptId]);
    const [second] = await waiting;
    expect((second!.payload as { n: number }).n).toBe(1);
    // The acknowledgement woke it (the fallback interval is 15 s).
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("nothing is lost across a gateway restart: held and waiting deliveries are there after it", async () => {
    const { type, service, webhookId } = await pullWebhook();
    await publish(type.name, 0, 5);
    const held = await receive(service.client, webhookId, 2);
    expect(held).toHaveLength(2);
    await gateway.close();
    gateway = await startGateway({
      config: t.config,
      database: t.store.database,
      logger: createLogger("silent"),
      resolver: tableResolver(),
      clock,
    });
    const client = new GraphQLClient(gateway.url!, service.token);
    // Still out after the restart; back once its lease ends.
    expect(await receive(client, webhookId, 5)).toEqual([]);
    clock.advance((VISIBILITY_SECONDS + 1) * 1000);
    const all = await receive(client, webhookId, 5);
    expect(all.map((n) => (n.payload as { n: number }).n)).toEqual([0, 1, 2, 3, 4]);
    expect(await ack(client, webhookId, all.map((n) => n.receiptId))).toHaveLength(5);
    admin = new GraphQLClient(gateway.url!, t.admin.token);
    g = { admin, as: (token) => new GraphQLClient(gateway.url!, token) };
  });

  it("refuses bad input with a code naming the field, and keeps other services out", async () => {
    const { service, webhookId } = await pullWebhook();
    const other = await createService(g);
    const fail = (client: GraphQLClient, vars: { webhookId: string; max?: number; waitSeconds?: number }) =>
      client.fail(ReceiveNotificationsDocument, vars);
    expect(await fail(service.client, { webhookId, max: 0 })).toMatchObject({ code: "BAD_USER_INPUT", field: "max" });
    expect(await fail(service.client, { webhookId, max: 101 })).toMatchObject({ code: "BAD_USER_INPUT", field: "max" });
    expect(await fail(service.client, { webhookId, waitSeconds: 61 })).toMatchObject({ code: "BAD_USER_INPUT", field: "waitSeconds" });
    expect(await fail(admin, { webhookId: "x" })).toMatchObject({ code: "BAD_USER_INPUT", field: "webhookId" });
    expect((await fail(other.client, { webhookId })).code).toBe("FORBIDDEN");
    expect(await service.client.fail(AcknowledgeNotificationsDocument, { webhookId, receiptIds: ["1", "abc"] })).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "receiptIds[1]",
    });
    expect((await other.client.fail(AcknowledgeNotificationsDocument, { webhookId, receiptIds: ["1"] })).code).toBe("FORBIDDEN");
    const type = await createEventType(g);
    const push = await createWebhook(service.client, { eventIds: [type.id], url: "https://receiver.example/hook" });
    expect(await fail(service.client, { webhookId: push.webhook.id })).toMatchObject({ code: "BAD_USER_INPUT", field: "webhookId" });
    expect(await service.client.fail(UpdateWebhookDocument, { webhookId, input: { url: "https://receiver.example/x" } })).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.url",
    });
  });

  it("shows in /metrics: the depth and what is out (all PULL webhooks), and counts what is handed out and acknowledged", async () => {
    const scrape = async () => {
      const text = (await gateway.services.metrics.render()).body;
      return {
        depth: sample(text, "hookgate_pull_queue_depth")!,
        out: sample(text, "hookgate_pull_queue_out")!,
        handedOut: sample(text, "hookgate_pull_notifications_total", { kind: "handed_out" }) ?? 0,
        acknowledged: sample(text, "hookgate_pull_notifications_total", { kind: "acknowledged" }) ?? 0,
      };
    };
    const { type, service, webhookId } = await pullWebhook();
    const before = await scrape();
    await publish(type.name, 0, 3);
    const published = await scrape();
    expect(published.depth - before.depth).toBe(3);
    expect(published.out - before.out).toBe(0);

    const batch = await receive(service.client, webhookId, 2);
    const received = await scrape();
    expect(received.depth - before.depth).toBe(3);
    expect(received.out - before.out).toBe(2);
    expect(received.handedOut - before.handedOut).toBe(2);

    await ack(service.client, webhookId, batch.map((n) => n.receiptId));
    const acknowledged = await scrape();
    expect(acknowledged.depth - before.depth).toBe(1);
    expect(acknowledged.out - before.out).toBe(0);
    expect(acknowledged.acknowledged - before.acknowledged).toBe(2);
  });
});
