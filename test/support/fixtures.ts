import {
  CreateCustomerDocument,
  CreateEventTypeDocument,
  CreateWebhookDocument,
  CreateWebhookServiceDocument,
  RegisterWebhookDocument,
  type CreateWebhookInput,
} from "../generated/graphql.js";
import type { GraphQLClient } from "./client.js";
import type { TestGateway } from "./gateway.js";

/** What the fixtures need of a gateway: an admin client and a way to make clients (a TestGateway, or a gateway process). */
export type GatewayClients = Pick<TestGateway, "admin" | "as">;

let counter = 0;
const unique = (prefix: string) => `${prefix}_${process.pid}_${++counter}`;

export async function createService(t: GatewayClients, title = unique("service")) {
  const { createWebhookService } = await t.admin.ok(CreateWebhookServiceDocument, { input: { title } });
  return { id: createWebhookService.service.id, token: createWebhookService.token, client: t.as(createWebhookService.token) };
}

export async function createEventType(t: GatewayClients, name = unique("EVENT"), sampleData: unknown = { sample: true }) {
  const { createEventType } = await t.admin.ok(CreateEventTypeDocument, { input: { name, sampleData, scopes: ["customer.chat.read"] } });
  return createEventType;
}

export async function createCustomer(t: GatewayClients, externalId = unique("customer")) {
  const { createCustomer } = await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId } });
  return { id: createCustomer.customer.id, externalId, token: createCustomer.token, client: t.as(createCustomer.token) };
}

export async function createWebhook(owner: GraphQLClient, input: Partial<CreateWebhookInput> & { eventIds: string[] }) {
  const { createWebhook } = await owner.ok(CreateWebhookDocument, {
    // Open to customers unless a test says otherwise: most tests register customers on it.
    input: { url: "https://receiver.example/hook", openToCustomers: true, ...input },
  });
  return createWebhook;
}

export async function register(customer: GraphQLClient, webhookId: string) {
  return customer.ok(RegisterWebhookDocument, { input: { webhookId } });
}
