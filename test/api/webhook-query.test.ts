import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient } from "../support/client.js";
import { createCustomer, createEventType, createService, createWebhook, register } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

const OWNER_VIEW = `query($id: ID!) { webhook(id: $id) { id url service { id } eventTypes { name } } }`;
const CUSTOMER_VIEW = `query($id: ID!) { webhook(id: $id) { id service { id } isActive } }`;

/** webhook(id): one webhook with the visibility of `webhooks`; null for one the caller may not see. */
describe("webhook(id)", () => {
  let t: TestGateway;
  let owner: { id: string; client: GraphQLClient };
  let other: { id: string; client: GraphQLClient };
  let webhookId: string;
  let type: { id: string; name: string };

  beforeAll(async () => {
    t = await startTestGateway();
    type = await createEventType(t);
    owner = await createService(t);
    other = await createService(t);
    ({ webhook: { id: webhookId } } = await createWebhook(owner.client, { eventIds: [type.id], url: "https://receiver.example/one" }));
  });
  afterAll(async () => {
    await t?.close();
  });

  async function read(client: GraphQLClient, query: string, id: string) {
    const response = await client.raw(query, { id });
    expect(response.errors).toBeUndefined();
    return (response.data as { webhook: Record<string, unknown> | null }).webhook;
  }

  it("gives the admin and the owning service the webhook", async () => {
    const expected = { id: webhookId, url: "https://receiver.example/one", service: { id: owner.id }, eventTypes: [{ name: type.name }] };
    expect(await read(t.admin, OWNER_VIEW, webhookId)).toEqual(expected);
    expect(await read(owner.client, OWNER_VIEW, webhookId)).toEqual(expected);
  });

  it("is null for another service's webhook and for one that does not exist, alike", async () => {
    expect(await read(other.client, OWNER_VIEW, webhookId)).toBeNull();
    expect(await read(t.admin, OWNER_VIEW, "999999")).toBeNull();
  });

  it("gives a customer the webhook only once it is registered on it", async () => {
    const customer = await createCustomer(t);
    expect(await read(customer.client, CUSTOMER_VIEW, webhookId)).toBeNull();
    await register(customer.client, webhookId);
    expect(await read(customer.client, CUSTOMER_VIEW, webhookId)).toEqual({ id: webhookId, service: { id: owner.id }, isActive: true });
  });

  it("refuses a malformed id with BAD_USER_INPUT naming the argument", async () => {
    const response = await t.admin.raw(OWNER_VIEW, { id: "not-a-number" });
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "id" });
  });

  it("needs a token", async () => {
    const response = await t.as(undefined).raw(OWNER_VIEW, { id: webhookId });
    expect(response.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});
