// A FIFO webhook's line moves when its head is recorded, not when the dispatcher next polls. The
// record statement makes the next delivery due; before, nothing woke an idle dispatcher for it,
// so a FIFO webhook got one delivery per HOOKGATE_POLL_MS (2 a second by default).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

describe("a FIFO webhook's line moves without waiting for the poll", () => {
  let t: TestGateway;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 204 }));
    // A poll far beyond the test's length: only wake-ups can move the line.
    t = await startTestGateway({ HOOKGATE_POLL_MS: "3600000" });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("sends the whole line, in order, one after another", async () => {
    const type = await createEventType(t);
    const service = await createService(t);
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/ledger"), ordering: "FIFO" });
    const events = 6;
    await t.admin.raw(`mutation($input: PublishEventsInput!) { publishEvents(input: $input) { results { deliveryCount } } }`, {
      input: { events: Array.from({ length: events }, (_, i) => ({ eventName: type.name, payload: { i } })) },
    });
    await eventually(() => expect(receiver.requests.length).toBe(events), 30_000);
    expect(receiver.requests.map((r) => (JSON.parse(r.body) as { data: { i: number } }).data.i)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
