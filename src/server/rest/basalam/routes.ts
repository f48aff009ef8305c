import { z } from "zod";
import { bearerAuth } from "../auth.js";
import { defineRoute, type RestRoute } from "../route.js";
import { webhookLogRoute } from "./logs.js";
import { registrationRoutes } from "./registrations.js";
import {
  gid,
  headerList,
  listOf,
  PAGE_FIELDS,
  EVENT_TYPE_FIELDS,
  eventResource,
  webhookFields,
  webhookResource,
  type GqlEventType,
  type GqlPage,
  type GqlWebhook,
} from "./resources.js";
import {
  basalamErrors,
  CreateServiceRequest,
  CreateWebhookRequest,
  DeleteWebhookResponse,
  EventListResource,
  Paging,
  ServiceListResource,
  ServiceResource,
  UpdateWebhookRequest,
  WebhookListResource,
  WebhookResource,
} from "./schemas.js";

// Basalam's webhook API (its OpenAPI document's paths), each route one GraphQL operation of
// Hookgate's: the services, the webhooks and the event catalog here; logs.ts and
// registrations.ts the rest. README "Coming from Basalam" says how the two models differ.

const common = { tags: ["basalam"], auth: bearerAuth, errors: basalamErrors } as const;

/** Request headers are one string in Basalam: Hookgate's per-header problems point at it. */
const fieldLocation = (field: string) => (field.startsWith("input.requestHeaders") ? ["body", "request_headers"] : undefined);

const SERVICE_FIELDS = "id title description createdAt";
interface GqlService {
  id: string;
  title: string;
  description: string;
  createdAt: string;
}
const serviceResource = (s: GqlService) => ({
  id: Number(s.id),
  title: s.title,
  description: s.description,
  // Hookgate has no verification and no inactive services: every service is both.
  is_verified: true,
  is_active: true,
  created_at: s.createdAt,
});

const webhookId = z.object({ webhook_id: z.coerce.number().int() });

/**
 * The service routes at one path: Basalam's document and PHP SDK use /v1/webhooks/services, its
 * Python SDK /v1/services (the operation ids say the same); both are served.
 */
const serviceRoutes = (path: string, suffix: string): RestRoute[] => [
  defineRoute({
    ...common,
    method: "GET",
    path,
    operationId: `get_services_v1_services_get${suffix}`,
    summary: "Get Services (getWebhookServices): all for the admin, its own for a service token",
    query: z.object(Paging),
    responses: { 200: { description: "Successful Response", schema: ServiceListResource } },
    async handler({ query, graphql }) {
      const { webhookServices } = await graphql<{ webhookServices: GqlPage<GqlService> }>(
        `query($page: Int, $perPage: Int) { webhookServices(page: $page, perPage: $perPage) { data { ${SERVICE_FIELDS} } ${PAGE_FIELDS} } }`,
        { page: query.page, perPage: query.per_page },
      );
      return { status: 200, body: listOf(webhookServices, serviceResource) };
    },
  }),
  defineRoute({
    ...common,
    method: "POST",
    path,
    operationId: `create_service_v1_services_post${suffix}`,
    summary: "Create Service (createWebhookService): admin token; the answer carries the service's token, once",
    body: CreateServiceRequest,
    responses: { 200: { description: "Successful Response", schema: ServiceResource } },
    async handler({ body, graphql }) {
      const { createWebhookService } = await graphql<{ createWebhookService: { token: string; service: GqlService } }>(
        `mutation($input: CreateWebhookServiceInput!) { createWebhookService(input: $input) { token service { ${SERVICE_FIELDS} } } }`,
        { input: { title: body.title, description: body.description } },
      );
      return { status: 200, body: { ...serviceResource(createWebhookService.service), token: createWebhookService.token } };
    },
  }),
];

const services: RestRoute[] = [...serviceRoutes("/v1/webhooks/services", ""), ...serviceRoutes("/v1/services", "_python_sdk")];

const webhooks: RestRoute[] = [
  defineRoute({
    ...common,
    method: "GET",
    path: "/v1/webhooks",
    operationId: "get_webhooks_v1_webhooks_get",
    summary: "Get Webhooks (getWebhooks): those the caller can see, of one service and subscribed to any of event_ids",
    query: z.object({
      service_id: z.coerce.number().int().optional(),
      event_ids: z.string().optional().describe('Event type ids, comma-separated: "1,2,3"'),
      ...Paging,
    }),
    responses: { 200: { description: "Successful Response", schema: WebhookListResource } },
    async handler({ query, caller, graphql }) {
      const { webhooks } = await graphql<{ webhooks: GqlPage<GqlWebhook> }>(
        `query($serviceId: ID, $eventIds: [ID!], $page: Int, $perPage: Int) {
          webhooks(serviceId: $serviceId, eventIds: $eventIds, page: $page, perPage: $perPage) { data { ${webhookFields(caller)} } ${PAGE_FIELDS} } }`,
        { serviceId: gid(query.service_id), eventIds: query.event_ids ? [query.event_ids] : undefined, page: query.page, perPage: query.per_page },
      );
      return { status: 200, body: listOf(webhooks, webhookResource) };
    },
  }),
  defineRoute({
    ...common,
    method: "POST",
    path: "/v1/webhooks",
    operationId: "create_webhook_v1_webhooks_post",
    summary:
      "Create Webhook (createWebhook): a service token, or the admin naming service_id. Open to customers' registrations, as in Basalam; register_me changes nothing (the webhook is the calling service's)",
    body: CreateWebhookRequest,
    fieldLocation,
    responses: { 200: { description: "Successful Response", schema: WebhookResource } },
    async handler({ body, caller, graphql }) {
      // register_me (Basalam: also register the calling user) is taken and changes nothing: the
      // caller is the service that owns the webhook; customers register themselves.
      const { createWebhook } = await graphql<{ createWebhook: { signingSecret: string; webhook: GqlWebhook } }>(
        `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { signingSecret webhook { ${webhookFields(caller)} } } }`,
        {
          input: {
            serviceId: gid(body.service_id),
            eventIds: body.event_ids.map(String),
            requestHeaders: headerList(body.request_headers),
            requestMethod: body.request_method,
            url: body.url,
            isActive: body.is_active ?? true,
            // Basalam has no closed webhooks: any customer may register on one.
            openToCustomers: true,
          },
        },
      );
      return { status: 200, body: { ...webhookResource(createWebhook.webhook), signing_secret: createWebhook.signingSecret } };
    },
  }),
  defineRoute({
    ...common,
    method: "PATCH",
    path: "/v1/webhooks/{webhook_id}",
    operationId: "update_webhook_v1_webhooks__webhook_id__patch",
    summary: "Update Webhook (updateWebhook): the admin or the owning service; fields left out or null stay",
    params: webhookId,
    body: UpdateWebhookRequest,
    fieldLocation,
    responses: { 200: { description: "Successful Response", schema: WebhookResource } },
    async handler({ params, body, caller, graphql }) {
      const { updateWebhook } = await graphql<{ updateWebhook: GqlWebhook }>(
        `mutation($webhookId: ID!, $input: UpdateWebhookInput!) { updateWebhook(webhookId: $webhookId, input: $input) { ${webhookFields(caller)} } }`,
        {
          webhookId: String(params.webhook_id),
          input: {
            eventIds: body.event_ids?.map(String) ?? undefined,
            requestHeaders: headerList(body.request_headers),
            requestMethod: body.request_method ?? undefined,
            url: body.url ?? undefined,
            isActive: body.is_active ?? undefined,
          },
        },
      );
      return { status: 200, body: webhookResource(updateWebhook) };
    },
  }),
  defineRoute({
    ...common,
    method: "DELETE",
    path: "/v1/webhooks/{webhook_id}",
    operationId: "delete_webhook_v1_webhooks__webhook_id__delete",
    summary: "Delete Webhook (deleteWebhook): the admin or the owning service; its registrations, pending deliveries and logs go with it",
    params: webhookId,
    responses: { 200: { description: "Successful Response", schema: DeleteWebhookResponse } },
    async handler({ params, graphql }) {
      await graphql(`mutation($webhookId: ID!) { deleteWebhook(webhookId: $webhookId) { deletedWebhookId } }`, { webhookId: String(params.webhook_id) });
      return { status: 200, body: { id: params.webhook_id, deleted_at: new Date().toISOString() } };
    },
  }),
  defineRoute({
    ...common,
    method: "GET",
    path: "/v1/webhooks/events",
    operationId: "get_webhooks_events_v1_webhooks_events_get",
    summary: "Get Webhook Events (getWebhookEvents): the event catalog, any token",
    query: z.object(Paging),
    responses: { 200: { description: "Successful Response", schema: EventListResource } },
    async handler({ query, graphql }) {
      const { webhookEvents } = await graphql<{ webhookEvents: GqlPage<GqlEventType> }>(
        `query($page: Int, $perPage: Int) { webhookEvents(page: $page, perPage: $perPage) { data { ${EVENT_TYPE_FIELDS} } ${PAGE_FIELDS} } }`,
        { page: query.page, perPage: query.per_page },
      );
      return { status: 200, body: listOf(webhookEvents, eventResource) };
    },
  }),
];

export const basalamRoutes: readonly RestRoute[] = [...services, ...webhooks, webhookLogRoute, ...registrationRoutes];
