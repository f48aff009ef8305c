// Long polling across gateway processes: a consumer waiting on gateway B is woken by a publish on
// gateway A, and by an acknowledgement on A, through Redis. The fallback interval is ten
// minutes, so a receive that returns within seconds was woken by the bus, not by a poll.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcknowledgeNotificationsDocument, PublishEventDocument, ReceiveNotificationsDocument } from "../generated/graphql.js";
import { startGatewayPair, type GatewayPair, type GatewayProcess } from "../support/drill.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { needsServerBinaries } from "../support/servers.js";

const serversInstalled = needsServerBinaries("test/pull/two-gateways.pg.test.ts", ["redis"]);

describe.runIf(serversInstalled)("pull queue long polling across gateway processes (Redis)", () => {
  let pair: GatewayPair | undefined;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    pair = await startGatewayPair({ HOOKGATE_LIVE_POLL_MS: "600000" });
    ({ a, b } = pair);
  }, 60_000);
  afterAll(async () => {
    await pair?.close();
  });

  it("a receive waiting on B returns when A publishes, and one waiting behind a batch when A acknowledges it", async () => {
    const type = await createEventType(a);
    const service = await createService(a);
    const { webhook } = await createWebhook(service.client, { eventIds: [type.id], url: null, deliveryMode: "PULL" });
    const onA = a.as(service.token);
    const onB = b.as(service.token);
    const receive = (client: typeof onA, waitSeconds: number) =>
      client.ok(ReceiveNotificationsDocument, { webhookId: webhook.id, max: 1, waitSeconds }).then((r) => r.receiveNotifications);

    const waiting = receive(onB, 30);
    // Time for B to subscribe the type's channel in Redis.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    let started = Date.now();
    await a.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 1 } } });
    const [first] = await waiting;
    expect(first!.payload).toEqual({ n: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);

    await a.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 2 } } });
    const behind = receive(onB, 30);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    started = Date.now();
    await onA.ok(AcknowledgeNotificationsDocument, { webhookId: webhook.id, receiptIds: [first!.receiptId] });
    const [second] = await behind;
    expect(second!.payload).toEqual({ n: 2 });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
