import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventsDocument, WebhookLogsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { startReceiver, type Receiver } from "../support/receiver.js";

// webhookLogs reads a page of deliveries and their attempts; Prisma loads the attempts in a
// second statement. Without one snapshot for both, an attempt recorded between the two showed
// beside its delivery's old status and count (PENDING, attemptCount 0, one attempt). The
// dispatcher records attempt and delivery in one statement, so one snapshot never shows that.
describe("webhookLogs shows a delivery and its attempts as of one moment", () => {
  let t: TestGateway;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 204 }));
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("never pairs a delivery's status and count with attempts recorded after it was read", async () => {
    const type = await createEventType(t);
    const service = await createService(t);
    const hook = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/ok") });
    let publishing = true;
    const publisher = (async () => {
      for (let round = 0; publishing && round < 400; round++) {
        const input = Array.from({ length: 10 }, (_, i) => ({ eventName: type.name, payload: { round, i } }));
        await t.admin.ok(PublishEventsDocument, { input: { events: input } });
      }
    })();
    const skewed: string[] = [];
    try {
      for (let read = 0; read < 60 && skewed.length === 0; read++) {
        const { webhookLogs } = await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id, first: 40 });
        for (const { node } of webhookLogs.edges) {
          if (node.attempts.length !== node.attemptCount || (node.status === "PENDING" && node.attempts.length > 0)) {
            skewed.push(`delivery ${node.id}: ${node.status}, attemptCount ${node.attemptCount}, ${node.attempts.length} attempts`);
          }
        }
      }
    } finally {
      publishing = false;
      await publisher;
    }
    expect(skewed).toEqual([]);
    expect(receiver.requests.length).toBeGreaterThan(0);
  });
});
