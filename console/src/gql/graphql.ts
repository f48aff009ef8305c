/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** HTTP Basic credentials for a webhook's calls. */
export type BasicAuthInput = {
  /** The password; stored encrypted and never shown again. */
  password: string;
  /** The username (no colon). */
  username: string;
};

/** A new customer. */
export type CreateCustomerInput = {
  /** The platform's own id for this customer (unique). */
  externalId?: string | null | undefined;
  /** A display name, up to 200 characters. */
  name?: string | null | undefined;
};

/** A new event type. */
export type CreateEventTypeInput = {
  /** What the event means, up to 2000 characters. */
  description?: string | null | undefined;
  /** A JSON Schema (draft 2020-12, at most 64 KiB) payloads must match; sampleData must match it too. */
  jsonSchema?: unknown;
  /** A unique name: a letter, then letters, digits, _ . : - (at most 128 characters); names starting with hookgate. are reserved. */
  name: string;
  /** A sample payload; defaults to {}. */
  sampleData?: unknown;
  /** Permissions a receiver needs, each 1 to 200 characters. */
  scopes?: Array<string> | null | undefined;
};

/** A new webhook. */
export type CreateWebhookInput = {
  /** How the calls authenticate to the receiver. */
  auth?: WebhookAuthInput | null | undefined;
  /** PUSH (the default): the gateway calls url. PULL: no URL; a consumer receives the deliveries. It cannot be changed later. */
  deliveryMode?: WebhookDeliveryMode | null | undefined;
  /** Event type ids to subscribe to. */
  eventIds?: Array<string> | null | undefined;
  /** Event type names to subscribe to (with or instead of eventIds). */
  eventNames?: Array<string> | null | undefined;
  /** FIFO: what a head delivery that fails finally does to the rest (default CONTINUE). */
  fifoOnFailure?: FifoFailureAction | null | undefined;
  /** Whether events are routed and delivered to it (default true); true again resumes a disabled webhook. */
  isActive?: boolean | null | undefined;
  /** Most deliveries sent per second (0.01 to 10000; attempts and retries alike), across every dispatcher process, with bursts of at most one second's worth; null removes the limit. */
  maxDeliveriesPerSecond?: number | null | undefined;
  /** Whether customers may register themselves on the webhook. New webhooks are closed (false) unless this says true; changing it leaves existing registrations in place. */
  openToCustomers?: boolean | null | undefined;
  /** FIFO: deliveries one at a time, in the order the events were queued (default UNORDERED). Switching keeps the waiting deliveries, in event order. */
  ordering?: DeliveryOrdering | null | undefined;
  /** Route only events whose payload satisfies this SQL/JSON path predicate (PostgreSQL jsonpath), e.g. `$.amount > 100 && $.status == "paid"`; null removes it (every event of the subscribed types, as without one). At most 500 characters; like_regex, the any-depth accessor .**, variables and .datetime() are refused. See README, Payload filters. */
  payloadFilter?: string | null | undefined;
  /** Extra headers sent with every call. */
  requestHeaders?: Array<HttpHeaderInput> | null | undefined;
  /** The HTTP method of the calls (default POST). */
  requestMethod?: RequestMethod | null | undefined;
  /** FIXED: seconds between attempts (default 60). */
  retryIntervalSeconds?: number | null | undefined;
  /** The schedule of retries (default EXPONENTIAL). */
  retryPolicy?: RetryPolicy | null | undefined;
  /** FIXED: how long to keep retrying (default 86400, 24 h). */
  retryWindowSeconds?: number | null | undefined;
  /** The owning service. A service token may omit it (its own service); the admin must give it. */
  serviceId?: string | null | undefined;
  /** Where the calls go: an http(s) URL of a public address (unless private targets are allowed). Required for a PUSH webhook; a PULL webhook has none. */
  url?: string | null | undefined;
};

/** A new webhook service. */
export type CreateWebhookServiceInput = {
  /** What the service is for, up to 2000 characters. */
  description?: string | null | undefined;
  /** A short name for people, 1 to 200 characters. */
  title: string;
};

/** In what order a webhook's deliveries are sent (README, Ordering and rate limits). */
export type DeliveryOrdering =
  /** One at a time, in the order the events were queued (the live feed's order): while the head delivery is retrying the rest wait; fifoOnFailure says what a final failure does. */
  | 'FIFO'
  /** As fast as they come, several at once, retries beside new ones (the default). */
  | 'UNORDERED';

/** Where a delivery stands. */
export type DeliveryStatus =
  /** The retry schedule is spent (or the receiver answered 410 Gone); no more attempts unless retried by hand. */
  | 'FAILED'
  /** Not tried yet. */
  | 'PENDING'
  /** Failed; another attempt is scheduled (nextAttemptAt). */
  | 'RETRYING'
  /** A 2xx came back. */
  | 'SUCCEEDED';

/** What a FIFO webhook does when its head delivery fails finally. */
export type FifoFailureAction =
  /** The rest go on (the failed attempt's errorMessage says so; hookgate.delivery.failed tells the service). The default. */
  | 'CONTINUE'
  /** The webhook is disabled (paused, disabledReason says why) and the rest wait; retry the failed delivery or not, then set isActive: true to go on. */
  | 'PAUSE';

/** An extra HTTP header for a webhook's calls. */
export type HttpHeaderInput = {
  /** The header's name (a token; the gateway's own headers cannot be overridden). */
  name: string;
  /** The header's value; stored encrypted and shown only to the owner. */
  value: string;
};

/** What kind of principal a token belongs to. */
export type PrincipalKind =
  /** The operator of the installation: may do everything. */
  | 'ADMIN'
  /** An end user: registers on webhooks and reads its own events. */
  | 'CUSTOMER'
  /** A webhook service: manages its own webhooks, their customers and logs. */
  | 'SERVICE';

/** Exactly one of eventName and eventTypeId; at most one of customerId and customerExternalId; exactly one of payload and payloadJson. */
export type PublishEventInput = {
  /** The customer by the platform's own id. */
  customerExternalId?: string | null | undefined;
  /** The customer the event is about; without one it goes to every subscribed webhook. */
  customerId?: string | null | undefined;
  /** The event type, by name. */
  eventName?: string | null | undefined;
  /** The event type, by id. */
  eventTypeId?: string | null | undefined;
  /** Publishing the same key again returns the first event and writes nothing. */
  idempotencyKey?: string | null | undefined;
  /** Delivered as `data`; any JSON value but null. Exactly one of payload and payloadJson. */
  payload?: unknown;
  /** The payload as JSON text, stored and delivered as `data` byte for byte (numbers beyond a double's precision, signed payloads); any JSON value but null. Exactly one of payload and payloadJson. */
  payloadJson?: string | null | undefined;
};

/** The HTTP method of a webhook's calls. */
export type RequestMethod =
  /** PATCH. */
  | 'PATCH'
  /** POST (the default). */
  | 'POST'
  /** PUT. */
  | 'PUT';

/** EXPONENTIAL: immediately, then about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter. FIXED: every retryIntervalSeconds for retryWindowSeconds. */
export type RetryPolicy =
  /** Growing intervals over about 33 hours, 8 attempts in all. */
  | 'EXPONENTIAL'
  /** A fixed interval (retryIntervalSeconds) for a window (retryWindowSeconds). */
  | 'FIXED';

/** The settings to change; those not given stay. The name cannot change (events keep the name they were published under). */
export type UpdateEventTypeInput = {
  /** What the event means, up to 2000 characters. */
  description?: string | null | undefined;
  /** A new JSON Schema (draft 2020-12); null removes it. Refused when the sample data does not match it. Applies to events published from now on; stored events are not checked again. */
  jsonSchema?: unknown;
  /** A sample payload (must match the schema, if there is one). */
  sampleData?: unknown;
  /** Permissions a receiver needs; replaces the list. */
  scopes?: Array<string> | null | undefined;
};

/** Only the fields given change. eventIds/eventNames, when given, replace the subscriptions. A url with another origin (scheme, host or port) drops the stored auth and requestHeaders unless this same update gives them again. */
export type UpdateWebhookInput = {
  /** How the calls authenticate to the receiver. */
  auth?: WebhookAuthInput | null | undefined;
  /** Event type ids to subscribe to. */
  eventIds?: Array<string> | null | undefined;
  /** Event type names to subscribe to (with or instead of eventIds). */
  eventNames?: Array<string> | null | undefined;
  /** FIFO: what a head delivery that fails finally does to the rest (default CONTINUE). */
  fifoOnFailure?: FifoFailureAction | null | undefined;
  /** Whether events are routed and delivered to it (default true); true again resumes a disabled webhook. */
  isActive?: boolean | null | undefined;
  /** Most deliveries sent per second (0.01 to 10000; attempts and retries alike), across every dispatcher process, with bursts of at most one second's worth; null removes the limit. */
  maxDeliveriesPerSecond?: number | null | undefined;
  /** Whether customers may register themselves on the webhook. New webhooks are closed (false) unless this says true; changing it leaves existing registrations in place. */
  openToCustomers?: boolean | null | undefined;
  /** FIFO: deliveries one at a time, in the order the events were queued (default UNORDERED). Switching keeps the waiting deliveries, in event order. */
  ordering?: DeliveryOrdering | null | undefined;
  /** Route only events whose payload satisfies this SQL/JSON path predicate (PostgreSQL jsonpath), e.g. `$.amount > 100 && $.status == "paid"`; null removes it (every event of the subscribed types, as without one). At most 500 characters; like_regex, the any-depth accessor .**, variables and .datetime() are refused. See README, Payload filters. */
  payloadFilter?: string | null | undefined;
  /** Extra headers sent with every call. */
  requestHeaders?: Array<HttpHeaderInput> | null | undefined;
  /** The HTTP method of the calls (default POST). */
  requestMethod?: RequestMethod | null | undefined;
  /** FIXED: seconds between attempts (default 60). */
  retryIntervalSeconds?: number | null | undefined;
  /** The schedule of retries (default EXPONENTIAL). */
  retryPolicy?: RetryPolicy | null | undefined;
  /** FIXED: how long to keep retrying (default 86400, 24 h). */
  retryWindowSeconds?: number | null | undefined;
  /** Where the calls go: an http(s) URL of a public address (unless private targets are allowed). */
  url?: string | null | undefined;
};

/** At most one of basic and token; neither clears the auth. */
export type WebhookAuthInput = {
  /** Send HTTP Basic credentials. */
  basic?: BasicAuthInput | null | undefined;
  /** Send this Authorization value: 'Basic X' as Basic, 'Bearer X' or a bare X as Bearer. Stored encrypted, never shown again. */
  token?: string | null | undefined;
};

/** How a webhook's calls authenticate to the receiver. */
export type WebhookAuthType =
  /** HTTP Basic: Authorization: Basic base64(username:password). */
  | 'BASIC'
  /** No Authorization header (the signature still proves the sender). */
  | 'NONE'
  /** A token in Authorization: Basic X or Bearer X, as given. */
  | 'TOKEN';

/** How a webhook's deliveries reach its receiver. Chosen when the webhook is created. */
export type WebhookDeliveryMode =
  /** Nobody is called: a consumer takes the deliveries with receiveNotifications, in order, and acknowledges them with acknowledgeNotifications (README, Pull queue). The webhook has no URL. */
  | 'PULL'
  /** The gateway calls the webhook's URL (the default). */
  | 'PUSH';

export type ServicesQueryVariables = Exact<{
  page?: number | null | undefined;
  perPage?: number | null | undefined;
}>;


export type ServicesQuery = { webhookServices: { totalCount: number, page: number, totalPage: number, data: Array<{ id: string, title: string, description: string, createdAt: string }> } };

export type CreateServiceMutationVariables = Exact<{
  input: CreateWebhookServiceInput;
}>;


export type CreateServiceMutation = { createWebhookService: { token: string, service: { id: string, title: string, description: string, createdAt: string } } };

export type EventTypeFieldsFragment = { id: string, name: string, description: string, sampleData: unknown, scopes: Array<string>, createdAt: string };

export type EventTypesQueryVariables = Exact<{
  page?: number | null | undefined;
  perPage?: number | null | undefined;
}>;


export type EventTypesQuery = { webhookEvents: { totalCount: number, page: number, totalPage: number, data: Array<{ id: string, name: string, description: string, sampleData: unknown, scopes: Array<string>, createdAt: string }> } };

export type CreateEventTypeMutationVariables = Exact<{
  input: CreateEventTypeInput;
}>;


export type CreateEventTypeMutation = { createEventType: { id: string, name: string, description: string, sampleData: unknown, scopes: Array<string>, createdAt: string } };

export type CreateCustomerMutationVariables = Exact<{
  input: CreateCustomerInput;
}>;


export type CreateCustomerMutation = { createCustomer: { token: string, customer: { id: string, name: string, externalId: string | null, createdAt: string } } };

export type PublishEventMutationVariables = Exact<{
  input: PublishEventInput;
}>;


export type PublishEventMutation = { publishEvent: { deliveryCount: number, duplicate: boolean, event: { id: string, eventName: string, createdAt: string } } };

export type UpdateEventTypeMutationVariables = Exact<{
  eventTypeId: string;
  input: UpdateEventTypeInput;
}>;


export type UpdateEventTypeMutation = { updateEventType: { id: string, name: string, description: string, sampleData: unknown, scopes: Array<string>, createdAt: string } };

export type RegisteredWebhooksQueryVariables = Exact<{
  page?: number | null | undefined;
  perPage?: number | null | undefined;
}>;


export type RegisteredWebhooksQuery = { registeredWebhooks: { totalCount: number, data: Array<{ id: string, url: string, service: { id: string, title: string }, eventTypes: Array<{ id: string, name: string }> }> } };

export type AvailableWebhooksQueryVariables = Exact<{
  serviceId?: string | null | undefined;
  page?: number | null | undefined;
  perPage?: number | null | undefined;
}>;


export type AvailableWebhooksQuery = { webhooks: { totalCount: number, data: Array<{ id: string, url: string, isActive: boolean, service: { id: string, title: string }, eventTypes: Array<{ id: string, name: string }> }> } };

export type RegisterMutationVariables = Exact<{
  webhookId: string;
}>;


export type RegisterMutation = { registerWebhook: { webhook: { id: string } } };

export type UnregisterMutationVariables = Exact<{
  webhookId: string;
  customerId: string;
}>;


export type UnregisterMutation = { unregisterWebhook: { webhookId: string } };

export type ConsoleAttemptFragment = { id: string, attemptNumber: number, startedAt: string, durationMs: number, requestUrl: string, requestMethod: string, requestHeaders: unknown, requestBody: string, responseStatus: number | null, responseHeaders: unknown, responseBody: string | null, errorClass: string | null, errorMessage: string | null, succeeded: boolean };

export type ConsoleDeliveryFragment = { id: string, status: DeliveryStatus, attemptCount: number, nextAttemptAt: string | null, lastAttemptAt: string | null, createdAt: string, event: { id: string, eventName: string, createdAt: string }, attempts: Array<{ id: string, attemptNumber: number, startedAt: string, durationMs: number, requestUrl: string, requestMethod: string, requestHeaders: unknown, requestBody: string, responseStatus: number | null, responseHeaders: unknown, responseBody: string | null, errorClass: string | null, errorMessage: string | null, succeeded: boolean }> };

export type DeliveriesQueryVariables = Exact<{
  webhookId: string;
  status?: DeliveryStatus | null | undefined;
  since?: string | null | undefined;
  until?: string | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type DeliveriesQuery = { webhookLogs: { edges: Array<{ cursor: string, node: { id: string, status: DeliveryStatus, attemptCount: number, nextAttemptAt: string | null, lastAttemptAt: string | null, createdAt: string, event: { id: string, eventName: string, createdAt: string }, attempts: Array<{ id: string, attemptNumber: number, startedAt: string, durationMs: number, requestUrl: string, requestMethod: string, requestHeaders: unknown, requestBody: string, responseStatus: number | null, responseHeaders: unknown, responseBody: string | null, errorClass: string | null, errorMessage: string | null, succeeded: boolean }> } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type RetryMutationVariables = Exact<{
  deliveryId: string;
}>;


export type RetryMutation = { retryDelivery: { id: string, status: DeliveryStatus, attemptCount: number, nextAttemptAt: string | null, lastAttemptAt: string | null, createdAt: string, event: { id: string, eventName: string, createdAt: string }, attempts: Array<{ id: string, attemptNumber: number, startedAt: string, durationMs: number, requestUrl: string, requestMethod: string, requestHeaders: unknown, requestBody: string, responseStatus: number | null, responseHeaders: unknown, responseBody: string | null, errorClass: string | null, errorMessage: string | null, succeeded: boolean }> } };

export type ReplayMutationVariables = Exact<{
  webhookId: string;
  since: string;
  onlyFailed?: boolean | null | undefined;
}>;


export type ReplayMutation = { replayWebhook: { queued: number } };

export type AttemptTailSubscriptionVariables = Exact<{
  webhookId: string;
  after?: string | null | undefined;
}>;


export type AttemptTailSubscription = { deliveryAttempted: { cursor: string | null, id: string, attemptNumber: number, startedAt: string, durationMs: number, requestUrl: string, requestMethod: string, requestHeaders: unknown, requestBody: string, responseStatus: number | null, responseHeaders: unknown, responseBody: string | null, errorClass: string | null, errorMessage: string | null, succeeded: boolean } };

export type ReplayPreviewQueryVariables = Exact<{
  webhookId: string;
  since: string;
  onlyFailed?: boolean | null | undefined;
}>;


export type ReplayPreviewQuery = { replayPreview: { count: number, limit: number } };

export type ConsoleEventFragment = { id: string, eventName: string, createdAt: string, payload: unknown, customer: { id: string, name: string } | null };

export type RecentEventsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  customerId?: string | null | undefined;
}>;


export type RecentEventsQuery = { events: { edges: Array<{ node: { id: string, eventName: string, createdAt: string, payload: unknown, customer: { id: string, name: string } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type EventTailSubscriptionVariables = Exact<{
  after?: string | null | undefined;
  webhookId?: string | null | undefined;
  serviceId?: string | null | undefined;
}>;


export type EventTailSubscription = { eventPublished: { id: string, eventName: string, createdAt: string, payload: unknown, customer: { id: string, name: string } | null } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { kind: PrincipalKind, expiresAt: string | null, expiresInSeconds: number | null, service: { id: string, title: string } | null, customer: { id: string, name: string, externalId: string | null } | null, scopeService: { id: string, title: string } | null } };

export type ConsoleWebhookFragment = { id: string, url: string, requestMethod: RequestMethod, isActive: boolean, disabledAt: string | null, disabledReason: string | null, retryPolicy: RetryPolicy, retryIntervalSeconds: number, retryWindowSeconds: number, ordering: DeliveryOrdering, fifoOnFailure: FifoFailureAction, maxDeliveriesPerSecond: number | null, createdAt: string, updatedAt: string, service: { id: string, title: string }, eventTypes: Array<{ id: string, name: string }> };

export type WebhookListQueryVariables = Exact<{
  serviceId?: string | null | undefined;
  page?: number | null | undefined;
  perPage?: number | null | undefined;
}>;


export type WebhookListQuery = { webhooks: { totalCount: number, page: number, totalPage: number, data: Array<{ id: string, url: string, requestMethod: RequestMethod, isActive: boolean, disabledAt: string | null, disabledReason: string | null, retryPolicy: RetryPolicy, retryIntervalSeconds: number, retryWindowSeconds: number, ordering: DeliveryOrdering, fifoOnFailure: FifoFailureAction, maxDeliveriesPerSecond: number | null, createdAt: string, updatedAt: string, service: { id: string, title: string }, eventTypes: Array<{ id: string, name: string }> }> } };

export type WebhookSettingsQueryVariables = Exact<{
  id: string;
}>;


export type WebhookSettingsQuery = { webhook: { id: string, url: string, requestMethod: RequestMethod, isActive: boolean, disabledAt: string | null, disabledReason: string | null, retryPolicy: RetryPolicy, retryIntervalSeconds: number, retryWindowSeconds: number, ordering: DeliveryOrdering, fifoOnFailure: FifoFailureAction, maxDeliveriesPerSecond: number | null, createdAt: string, updatedAt: string, requestHeaders: Array<{ name: string, value: string }> | null, auth: { type: WebhookAuthType, username: string | null }, service: { id: string, title: string }, eventTypes: Array<{ id: string, name: string }> } | null };

export type CreateConsoleWebhookMutationVariables = Exact<{
  input: CreateWebhookInput;
}>;


export type CreateConsoleWebhookMutation = { createWebhook: { signingSecret: string, webhook: { id: string, url: string, requestMethod: RequestMethod, isActive: boolean, disabledAt: string | null, disabledReason: string | null, retryPolicy: RetryPolicy, retryIntervalSeconds: number, retryWindowSeconds: number, ordering: DeliveryOrdering, fifoOnFailure: FifoFailureAction, maxDeliveriesPerSecond: number | null, createdAt: string, updatedAt: string, service: { id: string, title: string }, eventTypes: Array<{ id: string, name: string }> } } };

export type UpdateConsoleWebhookMutationVariables = Exact<{
  webhookId: string;
  input: UpdateWebhookInput;
}>;


export type UpdateConsoleWebhookMutation = { updateWebhook: { id: string, url: string, requestMethod: RequestMethod, isActive: boolean, disabledAt: string | null, disabledReason: string | null, retryPolicy: RetryPolicy, retryIntervalSeconds: number, retryWindowSeconds: number, ordering: DeliveryOrdering, fifoOnFailure: FifoFailureAction, maxDeliveriesPerSecond: number | null, createdAt: string, updatedAt: string, service: { id: string, title: string }, eventTypes: Array<{ id: string, name: string }> } };

export type RotateSecretMutationVariables = Exact<{
  webhookId: string;
}>;


export type RotateSecretMutation = { rotateWebhookSecret: { signingSecret: string, webhook: { id: string } } };

export type SendTestMutationVariables = Exact<{
  webhookId: string;
  eventName?: string | null | undefined;
}>;


export type SendTestMutation = { sendTestEvent: { id: string, status: DeliveryStatus } };

export type StatsQueryVariables = Exact<{
  webhookIds: Array<string> | string;
  hours?: number | null | undefined;
  bucketMinutes?: number | null | undefined;
}>;


export type StatsQuery = { webhookStats: { since: string, until: string, bucketSeconds: number, webhooks: Array<{ webhookId: string, attempts: number, succeeded: number, successRate: number | null, buckets: Array<{ start: string, attempts: number, succeeded: number }> }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const EventTypeFieldsFragmentDoc = new TypedDocumentString(`
    fragment EventTypeFields on EventType {
  id
  name
  description
  sampleData
  scopes
  createdAt
}
    `, {"fragmentName":"EventTypeFields"}) as unknown as TypedDocumentString<EventTypeFieldsFragment, unknown>;
export const ConsoleAttemptFragmentDoc = new TypedDocumentString(`
    fragment ConsoleAttempt on DeliveryAttempt {
  id
  attemptNumber
  startedAt
  durationMs
  requestUrl
  requestMethod
  requestHeaders
  requestBody
  responseStatus
  responseHeaders
  responseBody
  errorClass
  errorMessage
  succeeded
}
    `, {"fragmentName":"ConsoleAttempt"}) as unknown as TypedDocumentString<ConsoleAttemptFragment, unknown>;
export const ConsoleDeliveryFragmentDoc = new TypedDocumentString(`
    fragment ConsoleDelivery on Delivery {
  id
  status
  attemptCount
  nextAttemptAt
  lastAttemptAt
  createdAt
  event {
    id
    eventName
    createdAt
  }
  attempts {
    ...ConsoleAttempt
  }
}
    fragment ConsoleAttempt on DeliveryAttempt {
  id
  attemptNumber
  startedAt
  durationMs
  requestUrl
  requestMethod
  requestHeaders
  requestBody
  responseStatus
  responseHeaders
  responseBody
  errorClass
  errorMessage
  succeeded
}`, {"fragmentName":"ConsoleDelivery"}) as unknown as TypedDocumentString<ConsoleDeliveryFragment, unknown>;
export const ConsoleEventFragmentDoc = new TypedDocumentString(`
    fragment ConsoleEvent on Event {
  id
  eventName
  createdAt
  payload
  customer {
    id
    name
  }
}
    `, {"fragmentName":"ConsoleEvent"}) as unknown as TypedDocumentString<ConsoleEventFragment, unknown>;
export const ConsoleWebhookFragmentDoc = new TypedDocumentString(`
    fragment ConsoleWebhook on Webhook {
  id
  url
  requestMethod
  isActive
  disabledAt
  disabledReason
  retryPolicy
  retryIntervalSeconds
  retryWindowSeconds
  ordering
  fifoOnFailure
  maxDeliveriesPerSecond
  createdAt
  updatedAt
  service {
    id
    title
  }
  eventTypes {
    id
    name
  }
}
    `, {"fragmentName":"ConsoleWebhook"}) as unknown as TypedDocumentString<ConsoleWebhookFragment, unknown>;
export const ServicesDocument = new TypedDocumentString(`
    query Services($page: Int, $perPage: Int) {
  webhookServices(page: $page, perPage: $perPage) {
    data {
      id
      title
      description
      createdAt
    }
    totalCount
    page
    totalPage
  }
}
    `) as unknown as TypedDocumentString<ServicesQuery, ServicesQueryVariables>;
export const CreateServiceDocument = new TypedDocumentString(`
    mutation CreateService($input: CreateWebhookServiceInput!) {
  createWebhookService(input: $input) {
    token
    service {
      id
      title
      description
      createdAt
    }
  }
}
    `) as unknown as TypedDocumentString<CreateServiceMutation, CreateServiceMutationVariables>;
export const EventTypesDocument = new TypedDocumentString(`
    query EventTypes($page: Int, $perPage: Int) {
  webhookEvents(page: $page, perPage: $perPage) {
    data {
      ...EventTypeFields
    }
    totalCount
    page
    totalPage
  }
}
    fragment EventTypeFields on EventType {
  id
  name
  description
  sampleData
  scopes
  createdAt
}`) as unknown as TypedDocumentString<EventTypesQuery, EventTypesQueryVariables>;
export const CreateEventTypeDocument = new TypedDocumentString(`
    mutation CreateEventType($input: CreateEventTypeInput!) {
  createEventType(input: $input) {
    ...EventTypeFields
  }
}
    fragment EventTypeFields on EventType {
  id
  name
  description
  sampleData
  scopes
  createdAt
}`) as unknown as TypedDocumentString<CreateEventTypeMutation, CreateEventTypeMutationVariables>;
export const CreateCustomerDocument = new TypedDocumentString(`
    mutation CreateCustomer($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    token
    customer {
      id
      name
      externalId
      createdAt
    }
  }
}
    `) as unknown as TypedDocumentString<CreateCustomerMutation, CreateCustomerMutationVariables>;
export const PublishEventDocument = new TypedDocumentString(`
    mutation PublishEvent($input: PublishEventInput!) {
  publishEvent(input: $input) {
    deliveryCount
    duplicate
    event {
      id
      eventName
      createdAt
    }
  }
}
    `) as unknown as TypedDocumentString<PublishEventMutation, PublishEventMutationVariables>;
export const UpdateEventTypeDocument = new TypedDocumentString(`
    mutation UpdateEventType($eventTypeId: ID!, $input: UpdateEventTypeInput!) {
  updateEventType(eventTypeId: $eventTypeId, input: $input) {
    ...EventTypeFields
  }
}
    fragment EventTypeFields on EventType {
  id
  name
  description
  sampleData
  scopes
  createdAt
}`) as unknown as TypedDocumentString<UpdateEventTypeMutation, UpdateEventTypeMutationVariables>;
export const RegisteredWebhooksDocument = new TypedDocumentString(`
    query RegisteredWebhooks($page: Int, $perPage: Int) {
  registeredWebhooks(page: $page, perPage: $perPage) {
    data {
      id
      url
      service {
        id
        title
      }
      eventTypes {
        id
        name
      }
    }
    totalCount
  }
}
    `) as unknown as TypedDocumentString<RegisteredWebhooksQuery, RegisteredWebhooksQueryVariables>;
export const AvailableWebhooksDocument = new TypedDocumentString(`
    query AvailableWebhooks($serviceId: ID, $page: Int, $perPage: Int) {
  webhooks(serviceId: $serviceId, page: $page, perPage: $perPage) {
    data {
      id
      url
      isActive
      service {
        id
        title
      }
      eventTypes {
        id
        name
      }
    }
    totalCount
  }
}
    `) as unknown as TypedDocumentString<AvailableWebhooksQuery, AvailableWebhooksQueryVariables>;
export const RegisterDocument = new TypedDocumentString(`
    mutation Register($webhookId: ID!) {
  registerWebhook(input: {webhookId: $webhookId}) {
    webhook {
      id
    }
  }
}
    `) as unknown as TypedDocumentString<RegisterMutation, RegisterMutationVariables>;
export const UnregisterDocument = new TypedDocumentString(`
    mutation Unregister($webhookId: ID!, $customerId: ID!) {
  unregisterWebhook(input: {webhookId: $webhookId, customerId: $customerId}) {
    webhookId
  }
}
    `) as unknown as TypedDocumentString<UnregisterMutation, UnregisterMutationVariables>;
export const DeliveriesDocument = new TypedDocumentString(`
    query Deliveries($webhookId: ID!, $status: DeliveryStatus, $since: DateTime, $until: DateTime, $first: Int, $after: String) {
  webhookLogs(
    webhookId: $webhookId
    status: $status
    since: $since
    until: $until
    first: $first
    after: $after
  ) {
    edges {
      cursor
      node {
        ...ConsoleDelivery
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment ConsoleAttempt on DeliveryAttempt {
  id
  attemptNumber
  startedAt
  durationMs
  requestUrl
  requestMethod
  requestHeaders
  requestBody
  responseStatus
  responseHeaders
  responseBody
  errorClass
  errorMessage
  succeeded
}
fragment ConsoleDelivery on Delivery {
  id
  status
  attemptCount
  nextAttemptAt
  lastAttemptAt
  createdAt
  event {
    id
    eventName
    createdAt
  }
  attempts {
    ...ConsoleAttempt
  }
}`) as unknown as TypedDocumentString<DeliveriesQuery, DeliveriesQueryVariables>;
export const RetryDocument = new TypedDocumentString(`
    mutation Retry($deliveryId: ID!) {
  retryDelivery(deliveryId: $deliveryId) {
    ...ConsoleDelivery
  }
}
    fragment ConsoleAttempt on DeliveryAttempt {
  id
  attemptNumber
  startedAt
  durationMs
  requestUrl
  requestMethod
  requestHeaders
  requestBody
  responseStatus
  responseHeaders
  responseBody
  errorClass
  errorMessage
  succeeded
}
fragment ConsoleDelivery on Delivery {
  id
  status
  attemptCount
  nextAttemptAt
  lastAttemptAt
  createdAt
  event {
    id
    eventName
    createdAt
  }
  attempts {
    ...ConsoleAttempt
  }
}`) as unknown as TypedDocumentString<RetryMutation, RetryMutationVariables>;
export const ReplayDocument = new TypedDocumentString(`
    mutation Replay($webhookId: ID!, $since: DateTime!, $onlyFailed: Boolean) {
  replayWebhook(webhookId: $webhookId, since: $since, onlyFailed: $onlyFailed) {
    queued
  }
}
    `) as unknown as TypedDocumentString<ReplayMutation, ReplayMutationVariables>;
export const AttemptTailDocument = new TypedDocumentString(`
    subscription AttemptTail($webhookId: ID!, $after: String) {
  deliveryAttempted(webhookId: $webhookId, after: $after) {
    ...ConsoleAttempt
    cursor
  }
}
    fragment ConsoleAttempt on DeliveryAttempt {
  id
  attemptNumber
  startedAt
  durationMs
  requestUrl
  requestMethod
  requestHeaders
  requestBody
  responseStatus
  responseHeaders
  responseBody
  errorClass
  errorMessage
  succeeded
}`) as unknown as TypedDocumentString<AttemptTailSubscription, AttemptTailSubscriptionVariables>;
export const ReplayPreviewDocument = new TypedDocumentString(`
    query ReplayPreview($webhookId: ID!, $since: DateTime!, $onlyFailed: Boolean) {
  replayPreview(webhookId: $webhookId, since: $since, onlyFailed: $onlyFailed) {
    count
    limit
  }
}
    `) as unknown as TypedDocumentString<ReplayPreviewQuery, ReplayPreviewQueryVariables>;
export const RecentEventsDocument = new TypedDocumentString(`
    query RecentEvents($first: Int, $after: String, $customerId: ID) {
  events(first: $first, after: $after, customerId: $customerId) {
    edges {
      node {
        ...ConsoleEvent
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment ConsoleEvent on Event {
  id
  eventName
  createdAt
  payload
  customer {
    id
    name
  }
}`) as unknown as TypedDocumentString<RecentEventsQuery, RecentEventsQueryVariables>;
export const EventTailDocument = new TypedDocumentString(`
    subscription EventTail($after: ID, $webhookId: ID, $serviceId: ID) {
  eventPublished(after: $after, webhookId: $webhookId, serviceId: $serviceId) {
    ...ConsoleEvent
  }
}
    fragment ConsoleEvent on Event {
  id
  eventName
  createdAt
  payload
  customer {
    id
    name
  }
}`) as unknown as TypedDocumentString<EventTailSubscription, EventTailSubscriptionVariables>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    kind
    service {
      id
      title
    }
    customer {
      id
      name
      externalId
    }
    expiresAt
    expiresInSeconds
    scopeService {
      id
      title
    }
  }
}
    `) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const WebhookListDocument = new TypedDocumentString(`
    query WebhookList($serviceId: ID, $page: Int, $perPage: Int) {
  webhooks(serviceId: $serviceId, page: $page, perPage: $perPage) {
    data {
      ...ConsoleWebhook
    }
    totalCount
    page
    totalPage
  }
}
    fragment ConsoleWebhook on Webhook {
  id
  url
  requestMethod
  isActive
  disabledAt
  disabledReason
  retryPolicy
  retryIntervalSeconds
  retryWindowSeconds
  ordering
  fifoOnFailure
  maxDeliveriesPerSecond
  createdAt
  updatedAt
  service {
    id
    title
  }
  eventTypes {
    id
    name
  }
}`) as unknown as TypedDocumentString<WebhookListQuery, WebhookListQueryVariables>;
export const WebhookSettingsDocument = new TypedDocumentString(`
    query WebhookSettings($id: ID!) {
  webhook(id: $id) {
    ...ConsoleWebhook
    requestHeaders {
      name
      value
    }
    auth {
      type
      username
    }
  }
}
    fragment ConsoleWebhook on Webhook {
  id
  url
  requestMethod
  isActive
  disabledAt
  disabledReason
  retryPolicy
  retryIntervalSeconds
  retryWindowSeconds
  ordering
  fifoOnFailure
  maxDeliveriesPerSecond
  createdAt
  updatedAt
  service {
    id
    title
  }
  eventTypes {
    id
    name
  }
}`) as unknown as TypedDocumentString<WebhookSettingsQuery, WebhookSettingsQueryVariables>;
export const CreateConsoleWebhookDocument = new TypedDocumentString(`
    mutation CreateConsoleWebhook($input: CreateWebhookInput!) {
  createWebhook(input: $input) {
    signingSecret
    webhook {
      ...ConsoleWebhook
    }
  }
}
    fragment ConsoleWebhook on Webhook {
  id
  url
  requestMethod
  isActive
  disabledAt
  disabledReason
  retryPolicy
  retryIntervalSeconds
  retryWindowSeconds
  ordering
  fifoOnFailure
  maxDeliveriesPerSecond
  createdAt
  updatedAt
  service {
    id
    title
  }
  eventTypes {
    id
    name
  }
}`) as unknown as TypedDocumentString<CreateConsoleWebhookMutation, CreateConsoleWebhookMutationVariables>;
export const UpdateConsoleWebhookDocument = new TypedDocumentString(`
    mutation UpdateConsoleWebhook($webhookId: ID!, $input: UpdateWebhookInput!) {
  updateWebhook(webhookId: $webhookId, input: $input) {
    ...ConsoleWebhook
  }
}
    fragment ConsoleWebhook on Webhook {
  id
  url
  requestMethod
  isActive
  disabledAt
  disabledReason
  retryPolicy
  retryIntervalSeconds
  retryWindowSeconds
  ordering
  fifoOnFailure
  maxDeliveriesPerSecond
  createdAt
  updatedAt
  service {
    id
    title
  }
  eventTypes {
    id
    name
  }
}`) as unknown as TypedDocumentString<UpdateConsoleWebhookMutation, UpdateConsoleWebhookMutationVariables>;
export const RotateSecretDocument = new TypedDocumentString(`
    mutation RotateSecret($webhookId: ID!) {
  rotateWebhookSecret(webhookId: $webhookId) {
    signingSecret
    webhook {
      id
    }
  }
}
    `) as unknown as TypedDocumentString<RotateSecretMutation, RotateSecretMutationVariables>;
export const SendTestDocument = new TypedDocumentString(`
    mutation SendTest($webhookId: ID!, $eventName: String) {
  sendTestEvent(webhookId: $webhookId, eventName: $eventName) {
    id
    status
  }
}
    `) as unknown as TypedDocumentString<SendTestMutation, SendTestMutationVariables>;
export const StatsDocument = new TypedDocumentString(`
    query Stats($webhookIds: [ID!]!, $hours: Int, $bucketMinutes: Int) {
  webhookStats(
    webhookIds: $webhookIds
    hours: $hours
    bucketMinutes: $bucketMinutes
  ) {
    since
    until
    bucketSeconds
    webhooks {
      webhookId
      attempts
      succeeded
      successRate
      buckets {
        start
        attempts
        succeeded
      }
    }
  }
}
    `) as unknown as TypedDocumentString<StatsQuery, StatsQueryVariables>;