import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateEventTypeWithSchemaDocument,
  EventsDocument,
  PublishEventDocument,
  PublishEventsDocument,
  UpdateEventTypeDocument,
} from "../generated/graphql.js";
import { createService } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

// The SMS gateway's "sms" payload, as the README's example declares it.
const smsSchema = {
  type: "object",
  required: ["id", "timestamp", "rid", "sim", "device", "phone", "message"],
  properties: {
    id: { type: "integer" },
    timestamp: { type: "integer", description: "unix seconds" },
    rid: { type: "integer" },
    sim: { type: "integer" },
    device: { type: "integer" },
    phone: { type: "string", minLength: 1 },
    message: { type: "string" },
  },
  additionalProperties: false,
};
const sms = { id: 1, timestamp: 1700000000, rid: 1, sim: 1, device: 1, phone: "+390000000", message: "hello" };

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t?.close();
});

let counter = 0;
const name = () => `schema_${process.pid}_${++counter}`;
const storedCount = async (eventName: string) =>
  (await t.admin.ok(EventsDocument, { eventNames: [eventName], first: 100 })).events.edges.length;

describe("event type schemas", () => {
  it("refuses a schema that is not draft 2020-12, and a sampleData that does not match it, naming the field", async () => {
    const bad = await t.admin.request(CreateEventTypeWithSchemaDocument, { input: { name: name(), jsonSchema: { type: "nope" } } });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.jsonSchema" });
    expect(bad.errors?.[0]?.message).toContain("not a valid JSON Schema");

    const notObject = await t.admin.request(CreateEventTypeWithSchemaDocument, { input: { name: name(), jsonSchema: [1] } });
    expect(notObject.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.jsonSchema" });

    const sample = await t.admin.request(CreateEventTypeWithSchemaDocument, {
      input: { name: name(), jsonSchema: smsSchema, sampleData: { ...sms, phone: 7 } },
    });
    expect(sample.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.sampleData" });
    expect(sample.errors?.[0]?.message).toContain('"/phone"');

    // Without a sampleData, the default {} must match too: the error says to give one.
    const noSample = await t.admin.request(CreateEventTypeWithSchemaDocument, { input: { name: name(), jsonSchema: smsSchema } });
    expect(noSample.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.jsonSchema" });
    expect(noSample.errors?.[0]?.message).toContain("sampleData");
  });

  it("publishEvent and publishEvents refuse a payload that does not match, naming the path, and store nothing", async () => {
    const type = (await t.admin.ok(CreateEventTypeWithSchemaDocument, { input: { name: name(), jsonSchema: smsSchema, sampleData: sms } }))
      .createEventType;
    expect(type.jsonSchema).toEqual(smsSchema);
    await createService(t);

    const ok = await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { ...sms, id: 2 } } });
    expect(ok.publishEvent.duplicate).toBe(false);

    const missing = await t.admin.request(PublishEventDocument, { input: { eventName: type.name, payload: { ...sms, phone: undefined } } });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.payload" });
    expect(missing.errors?.[0]?.message).toMatch(/schema at "\/": must have required property 'phone'/);

    const wrongType = await t.admin.request(PublishEventDocument, { input: { eventName: type.name, payload: { ...sms, sim: "one" } } });
    expect(wrongType.errors?.[0]?.message).toContain('"/sim": must be integer');

    const extra = await t.admin.request(PublishEventDocument, { input: { eventName: type.name, payload: { ...sms, secret: "x" } } });
    expect(extra.errors?.[0]?.message).toContain('must NOT have additional properties ("secret")');

    const batch = await t.admin.request(PublishEventsDocument, {
      input: { events: [{ eventName: type.name, payload: sms }, { eventName: type.name, payload: { ...sms, message: 5 } }] },
    });
    expect(batch.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.events[1].payload" });
    expect(await storedCount(type.name)).toBe(1);
  });

  it("a schema change is refused while the sample does not match it, applies to new publishes, and null removes it", async () => {
    const type = (await t.admin.ok(CreateEventTypeWithSchemaDocument, { input: { name: name(), jsonSchema: smsSchema, sampleData: sms } }))
      .createEventType;
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: sms } });

    const v2 = { ...smsSchema, required: [...smsSchema.required, "operator"], properties: { ...smsSchema.properties, operator: { type: "string" } } };
    const refused = await t.admin.request(UpdateEventTypeDocument, { eventTypeId: type.id, input: { jsonSchema: v2 } });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.jsonSchema" });

    const updated = await t.admin.ok(UpdateEventTypeDocument, {
      eventTypeId: type.id,
      input: { jsonSchema: v2, sampleData: { ...sms, operator: "TIM" }, description: "An SMS received" },
    });
    expect(updated.updateEventType).toMatchObject({ jsonSchema: v2, description: "An SMS received", sampleData: { ...sms, operator: "TIM" } });

    // The publisher compiled v1 on the first publish; it must now apply v2.
    const old = await t.admin.request(PublishEventDocument, { input: { eventName: type.name, payload: sms } });
    expect(old.errors?.[0]?.message).toContain("must have required property 'operator'");
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { ...sms, operator: "WIND" } } });

    // A sample that breaks the schema is refused on its own too.
    const badSample = await t.admin.request(UpdateEventTypeDocument, { eventTypeId: type.id, input: { sampleData: { any: 1 } } });
    expect(badSample.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.sampleData" });

    const cleared = await t.admin.ok(UpdateEventTypeDocument, { eventTypeId: type.id, input: { jsonSchema: null } });
    expect(cleared.updateEventType.jsonSchema).toBeNull();
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { anything: true } } });
    expect(await storedCount(type.name)).toBe(3);
  });

  it("only the admin changes event types", async () => {
    const type = (await t.admin.ok(CreateEventTypeWithSchemaDocument, { input: { name: name() } })).createEventType;
    const service = await createService(t);
    const denied = await service.client.request(UpdateEventTypeDocument, { eventTypeId: type.id, input: { description: "x" } });
    expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const missing = await t.admin.request(UpdateEventTypeDocument, { eventTypeId: "999999", input: { description: "x" } });
    expect(missing.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });
});
