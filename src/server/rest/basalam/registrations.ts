import { z } from "zod";
import { bearerAuth } from "../auth.js";
import { defineRoute, type RestCaller, type RestRoute } from "../route.js";
import { eventResource, listOf, PAGE_FIELDS, webhookFields, type GqlPage, type GqlWebhook } from "./resources.js";
import {
  basalamErrors,
  ClientListResource,
  ClientResource,
  Paging,
  RegisterClientRequest,
  UnRegisterClientRequest,
  UnRegisterClientResponse,
  WebhookRegisteredOnListResource,
} from "./schemas.js";

// Basalam's customers ("clients") on webhooks: a service lists a webhook's customers, a customer
// registers, unregisters and lists its webhooks. A registration is one customer on one webhook, so
// a ClientResource's id is the customer's.

const common = { tags: ["basalam"], auth: bearerAuth, errors: basalamErrors } as const;

/** The calling customer's id, when the caller is a customer. */
const customerIdOf = (caller: RestCaller | undefined): number | undefined =>
  caller?.principal.kind === "customer" ? caller.principal.customerId : undefined;

export const registrationRoutes: readonly RestRoute[] = [
  defineRoute({
    ...common,
    method: "GET",
    path: "/v1/webhooks/customers",
    operationId: "get_webhook_customers_v1_webhooks_customers_get",
    summary: "Get Webhook Customers (getWebhookCustomers): the customers registered on a webhook; the admin or the owning service",
    query: z.object({ ...Paging, webhook_id: z.coerce.number().int().describe("Required in Hookgate: customers are listed per webhook") }),
    responses: { 200: { description: "Successful Response", schema: ClientListResource } },
    async handler({ query, graphql }) {
      const { webhookCustomers } = await graphql<{ webhookCustomers: GqlPage<{ id: string }> }>(
        `query($webhookId: ID!, $page: Int, $perPage: Int) { webhookCustomers(webhookId: $webhookId, page: $page, perPage: $perPage) { data { id } ${PAGE_FIELDS} } }`,
        { webhookId: String(query.webhook_id), page: query.page, perPage: query.per_page },
      );
      return {
        status: 200,
        body: listOf(webhookCustomers, (c) => ({ id: Number(c.id), customer_id: Number(c.id), webhook_id: query.webhook_id, created_at: null, updated_at: null })),
      };
    },
  }),
  defineRoute({
    ...common,
    tags: ["basalam", "basalam customer"],
    method: "POST",
    path: "/v1/customers/webhooks",
    operationId: "customer_register_on_webhook_v1_customers_webhooks_post",
    summary: "Customer Register On Webhook (registerWebhook): a customer token registers itself; registering twice is harmless",
    body: RegisterClientRequest,
    responses: { 200: { description: "Successful Response", schema: ClientResource } },
    async handler({ body, graphql }) {
      const { registerWebhook } = await graphql<{ registerWebhook: { createdAt: string; customer: { id: string }; webhook: { id: string } } }>(
        `mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { createdAt customer { id } webhook { id } } }`,
        { input: { webhookId: String(body.webhook_id) } },
      );
      const customerId = Number(registerWebhook.customer.id);
      return {
        status: 200,
        body: { id: customerId, customer_id: customerId, webhook_id: Number(registerWebhook.webhook.id), created_at: registerWebhook.createdAt, updated_at: registerWebhook.createdAt },
      };
    },
  }),
  defineRoute({
    ...common,
    tags: ["basalam", "basalam customer"],
    method: "DELETE",
    path: "/v1/customers/webhooks",
    operationId: "customer_unregister_from_webhook_v1_customers_webhooks_delete",
    summary: "Customer Unregister From Webhook (unregisterWebhook): the customer itself (customer_id may be left out), the owning service or the admin",
    body: UnRegisterClientRequest,
    responses: { 200: { description: "Successful Response", schema: UnRegisterClientResponse } },
    async handler({ body, caller, graphql }) {
      const customerId = body.customer_id ?? customerIdOf(caller);
      if (customerId === undefined) {
        return { status: 422, body: { detail: [{ loc: ["body", "customer_id"], msg: "required unless the token is the customer's own", type: "missing" }] } };
      }
      const { unregisterWebhook } = await graphql<{ unregisterWebhook: { webhookId: string; customerId: string } }>(
        `mutation($input: UnregisterWebhookInput!) { unregisterWebhook(input: $input) { webhookId customerId } }`,
        { input: { webhookId: String(body.webhook_id), customerId: String(customerId) } },
      );
      return {
        status: 200,
        body: { webhook_id: Number(unregisterWebhook.webhookId), customer_id: Number(unregisterWebhook.customerId), deleted_at: new Date().toISOString() },
      };
    },
  }),
  defineRoute({
    ...common,
    tags: ["basalam", "basalam customer"],
    method: "GET",
    path: "/v1/customers/webhooks",
    operationId: "customer_webhooks_registered_on_v1_customers_webhooks_get",
    summary: "Customer Webhooks Registered On (getRegisteredWebhooks): a customer token's webhooks, optionally of one service",
    query: z.object({ ...Paging, service_id: z.coerce.number().int().optional() }),
    responses: { 200: { description: "Successful Response", schema: WebhookRegisteredOnListResource } },
    async handler({ query, caller, graphql }) {
      const { registeredWebhooks } = await graphql<{ registeredWebhooks: GqlPage<GqlWebhook> }>(
        `query($serviceId: ID, $page: Int, $perPage: Int) {
          registeredWebhooks(serviceId: $serviceId, page: $page, perPage: $perPage) { data { ${webhookFields(caller)} } ${PAGE_FIELDS} } }`,
        { serviceId: query.service_id === undefined ? undefined : String(query.service_id), page: query.page, perPage: query.per_page },
      );
      const customerId = customerIdOf(caller) ?? 0;
      return {
        status: 200,
        body: listOf(registeredWebhooks, (w) => ({
          id: Number(w.id),
          service_id: Number(w.service.id),
          customer_id: customerId,
          events: w.eventTypes.map(eventResource),
          is_active: w.isActive,
          registered_at: null,
        })),
      };
    },
  }),
];

