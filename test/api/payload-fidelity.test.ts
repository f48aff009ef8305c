import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

/** What a webhook receives as `data` is the payload as the gateway received it, not jsonb's re-serialisation. */
describe("payload fidelity", () => {
  let t: TestGateway;
  let receiver: Receiver;
  beforeAll(async () => {
    t = await startTestGateway();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id payloadJson } } }`;
  const dataOf = (body: string) => body.slice(body.indexOf('"data":') + 7, -1);

  it("payloadJson is stored and delivered byte for byte; payload keeps the key order it was given", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/fidelity") });
    const text = '{"z": 1,  "a": 12345678901234567890123, "n": 1e21, "s": "\\u00e9"}';
    const exact = (await t.admin.raw(PUBLISH, { input: { eventName: type.name, payloadJson: text } })) as {
      data: { publishEvent: { event: { id: string; payloadJson: string } } };
    };
    const exactId = exact.data.publishEvent.event.id;
    expect(exact.data.publishEvent.event.payloadJson).toBe(text);
    const valued = (await t.admin.raw(`mutation($n: String!) { publishEvent(input: { eventName: $n, payload: { z: 1, a: 2, m: { y: true, b: null } } }) { event { id payloadJson } } }`, { n: type.name })) as {
      data: { publishEvent: { event: { id: string; payloadJson: string } } };
    };
    const valuedId = valued.data.publishEvent.event.id;
    expect(valued.data.publishEvent.event.payloadJson).toBe('{"z":1,"a":2,"m":{"y":true,"b":null}}');
    const bodyOf = (id: string) => receiver.requests.find((r) => r.path === "/fidelity" && r.headers["webhook-id"] === id)?.body;
    await eventually(() => bodyOf(exactId) && bodyOf(valuedId));
    expect(dataOf(bodyOf(exactId)!)).toBe(text);
    expect(dataOf(bodyOf(valuedId)!)).toBe('{"z":1,"a":2,"m":{"y":true,"b":null}}');
  });

  it.each([
    ["not JSON", "{nope", "input.payloadJson"],
    ["null", "null", "input.payloadJson"],
  ])("payloadJson %s -> BAD_USER_INPUT naming it", async (_what, payloadJson, field) => {
    const type = await createEventType(t);
    const result = (await t.admin.raw(PUBLISH, { input: { eventName: type.name, payloadJson } })) as { errors?: { extensions: { code: string; field: string } }[] };
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
  });

  it("both payload and payloadJson, or neither -> BAD_USER_INPUT", async () => {
    const type = await createEventType(t);
    for (const input of [{ eventName: type.name, payload: { a: 1 }, payloadJson: "{}" }, { eventName: type.name }]) {
      const result = (await t.admin.raw(PUBLISH, { input })) as { errors?: { extensions: { code: string; field: string } }[] };
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.payload" });
    }
  });
});
