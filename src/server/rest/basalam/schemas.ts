import { z } from "zod";
import type { ErrorDialect } from "../route.js";

// Basalam's webhook API, as its OpenAPI document (basalam/python-sdk, openapi_data/webhook.json)
// declares it: the same resource names and snake_case fields, so responses validate against it
// and a client generated from it works unchanged. Fields Hookgate adds (a token shown once, the
// signing secret, a delivery's status) are extra properties, which Basalam's schemas allow.

const id = z.number().int();
const nullableInt = z.number().int().nullable();
const dateTime = z.iso.datetime({ offset: true }).nullable();

/** A page of a list, Basalam's way (data, result_count, total_count, total_page, page, per_page). */
function list<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      data: z.array(item),
      result_count: nullableInt,
      total_count: nullableInt,
      total_page: nullableInt,
      page: nullableInt,
      per_page: nullableInt,
    })
    .meta({ id: name });
}

export const ServiceResource = z
  .object({
    id,
    title: z.string(),
    description: z.string(),
    is_verified: z.boolean(),
    is_active: z.boolean(),
    created_at: dateTime,
    token: z.string().optional().describe("Hookgate: the service's API token, only in the answer to its creation (shown once)"),
  })
  .meta({ id: "ServiceResource" });
export const ServiceListResource = list(ServiceResource, "ServiceListResource");

export const CreateServiceRequest = z
  .object({ title: z.string().min(3).max(100), description: z.string() })
  .meta({ id: "CreateServiceRequest" });

export const EventResource = z
  .object({
    id,
    name: z.string(),
    description: z.string(),
    sample_data: z.record(z.string(), z.unknown()).nullable(),
    scopes: z.string().nullable().describe("The event type's scopes, space-separated"),
  })
  .meta({ id: "EventResource" });
export const EventListResource = list(EventResource, "EventListResource");

export const WebhookResource = z
  .object({
    id,
    service_id: id,
    events: z.array(EventResource),
    request_headers: z.record(z.string(), z.string()).nullable().describe("Extra headers by name (null for a customer token)"),
    request_method: z.string().nullable(),
    url: z.string().nullable().describe("null for a customer token, which may not read it"),
    is_active: z.boolean(),
    created_at: dateTime,
    updated_at: dateTime,
    signing_secret: z.string().optional().describe("Hookgate: the Standard Webhooks signing secret, only in the answer to its creation"),
  })
  .meta({ id: "WebhookResource" });
export const WebhookListResource = list(WebhookResource, "WebhookListResource");

const requestMethod = z.enum(["POST", "PUT", "PATCH"]);
const url = z.string().min(1).max(2083);
const requestHeaders = z.string().nullish().describe('Extra headers as "Name: value", one per line');

export const CreateWebhookRequest = z
  .object({
    service_id: z.number().int().positive().nullish().describe("The owning service; a service token may omit it"),
    event_ids: z.array(z.number().int()).min(1),
    request_headers: requestHeaders,
    request_method: requestMethod,
    url,
    is_active: z.boolean().nullish(),
    register_me: z.boolean().nullish().describe("Taken and ignored: the webhook belongs to the calling service, which is no customer"),
  })
  .meta({ id: "CreateWebhookRequest" });

export const UpdateWebhookRequest = z
  .object({
    event_ids: z.array(z.number().int()).min(1).nullish(),
    request_headers: requestHeaders,
    request_method: requestMethod.nullish(),
    url: url.nullish(),
    is_active: z.boolean().nullish(),
  })
  .meta({ id: "UpdateWebhookRequest" });

export const DeleteWebhookResponse = z.object({ id, deleted_at: dateTime }).meta({ id: "DeleteWebhookResponse" });

export const ClientResource = z
  .object({ id: id.describe("The customer's id (a registration is one customer on one webhook)"), customer_id: id, webhook_id: id, created_at: dateTime, updated_at: dateTime })
  .meta({ id: "ClientResource" });
export const ClientListResource = list(ClientResource, "ClientListResource");

export const WebhookLogResource = z
  .object({
    id: id.describe("The delivery's id"),
    user_id: id.describe("The customer the event is about; 0 for none"),
    status_code: id.describe("The last attempt's HTTP status; 0 before any answer"),
    request: z.unknown(),
    response: z.unknown(),
    created_at: dateTime,
    status: z.string().describe("Hookgate: PENDING, RETRYING, SUCCEEDED or FAILED"),
    attempt_count: z.number().int().describe("Hookgate: attempts made so far"),
  })
  .meta({ id: "WebhookLogResource" });
export const WebhookLogListResource = list(WebhookLogResource, "WebhookLogListResource");

export const RegisterClientRequest = z.object({ webhook_id: z.number().int().positive() }).meta({ id: "RegisterClientRequest" });
export const UnRegisterClientRequest = z
  .object({ webhook_id: z.number().int().positive(), customer_id: z.number().int().positive().nullish() })
  .meta({ id: "UnRegisterClientRequest" });
export const UnRegisterClientResponse = z
  .object({ webhook_id: id, customer_id: id, deleted_at: dateTime })
  .meta({ id: "UnRegisterClientResponse" });

export const WebhookRegisteredOnResource = z
  .object({
    id,
    service_id: id,
    customer_id: id,
    events: z.array(EventResource),
    is_active: z.boolean(),
    registered_at: dateTime,
  })
  .meta({ id: "WebhookRegisteredOnResource" });
export const WebhookRegisteredOnListResource = list(WebhookRegisteredOnResource, "WebhookRegisteredOnListResource");

const ValidationError = z
  .object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() })
  .meta({ id: "ValidationError" });
const HTTPValidationError = z.object({ detail: z.array(ValidationError) }).meta({ id: "HTTPValidationError" });
const HTTPError = z
  .object({ detail: z.string(), code: z.string().describe("Hookgate's stable error code") })
  .meta({ id: "HTTPError" });

/** FastAPI's refusals, as Basalam answers: 422 with every problem's loc, else {"detail": message}. */
export const basalamErrors: ErrorDialect = {
  badInputStatus: 422,
  body: (p) => (p.issues.length ? { detail: p.issues } : { detail: p.message, code: p.code }),
  responses: {
    422: { description: "Validation Error", schema: HTTPValidationError },
    default: { description: "A refusal: 401, 403, 404, 409, 429, …", schema: HTTPError },
  },
};

/** page and per_page, as Basalam's list routes take them (their bounds are GraphQL's: page, perPage). */
export const Paging = {
  page: z.coerce.number().int().default(1),
  per_page: z.coerce.number().int().default(10),
};
