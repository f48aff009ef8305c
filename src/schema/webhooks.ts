import type { Principal } from "../auth/principal.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { badInput, gatewayError } from "../errors.js";
import { parseEventIdFilter, requireId } from "../ids.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import { createWebhook, deleteWebhook, rotateWebhookSecret, updateWebhook, type WebhookRow } from "../webhooks/operations.js";
import type { HeaderInput } from "../webhooks/request-checks.js";
import { builder } from "./builder.js";
import { EventType } from "./event-types.js";
import { pageArgs, pageType, paginate } from "./pagination.js";

export const RequestMethod = builder.enumType("RequestMethod", {
  description: "The HTTP method of a webhook's calls.",
  values: {
    POST: { description: "POST (the default)." },
    PUT: { description: "PUT." },
    PATCH: { description: "PATCH." },
  } as const,
});
export const WebhookAuthType = builder.enumType("WebhookAuthType", {
  description: "How a webhook's calls authenticate to the receiver.",
  values: {
    NONE: { description: "No Authorization header (the signature still proves the sender)." },
    BASIC: { description: "HTTP Basic: Authorization: Basic base64(username:password)." },
    TOKEN: { description: "A token in Authorization: Basic X or Bearer X, as given." },
  } as const,
});
export const RetryPolicy = builder.enumType("RetryPolicy", {
  description:
    "EXPONENTIAL: immediately, then about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter. FIXED: every retryIntervalSeconds for retryWindowSeconds.",
  values: {
    EXPONENTIAL: { description: "Growing intervals over about 33 hours, 8 attempts in all." },
    FIXED: { description: "A fixed interval (retryIntervalSeconds) for a window (retryWindowSeconds)." },
  } as const,
});

export const DeliveryOrdering = builder.enumType("DeliveryOrdering", {
  description: "In what order a webhook's deliveries are sent (README, Ordering and rate limits).",
  values: {
    UNORDERED: { description: "As fast as they come, several at once, retries beside new ones (the default)." },
    FIFO: {
      description:
        "One at a time, in the order the events were queued (the live feed's order): while the head delivery is retrying the rest wait; fifoOnFailure says what a final failure does.",
    },
  } as const,
});
export const FifoFailureAction = builder.enumType("FifoFailureAction", {
  description: "What a FIFO webhook does when its head delivery fails finally.",
  values: {
    CONTINUE: { description: "The rest go on (the failed attempt's errorMessage says so; hookgate.delivery.failed tells the service). The default." },
    PAUSE: {
      description:
        "The webhook is disabled (paused, disabledReason says why) and the rest wait; retry the failed delivery or not, then set isActive: true to go on.",
    },
  } as const,
});
export const WebhookDeliveryMode = builder.enumType("WebhookDeliveryMode", {
  description: "How a webhook's deliveries reach its receiver. Chosen when the webhook is created.",
  values: {
    PUSH: { description: "The gateway calls the webhook's URL (the default)." },
    PULL: {
      description:
        "Nobody is called: a consumer takes the deliveries with receiveNotifications, in order, and acknowledges them with acknowledgeNotifications (README, Pull queue). The webhook has no URL.",
    },
  } as const,
});

const HttpHeader = builder.objectRef<HeaderInput>("HttpHeader").implement({
  description: "An HTTP header.",
  fields: (t) => ({
    name: t.exposeString("name", { description: "The header's name." }),
    value: t.exposeString("value", { description: "The header's value." }),
  }),
});

const WebhookAuth = builder.objectRef<{ type: "NONE" | "BASIC" | "TOKEN"; username: string | null }>("WebhookAuth").implement({
  description: "How the webhook's calls authenticate. Passwords and tokens are write-only.",
  fields: (t) => ({
    type: t.field({ type: WebhookAuthType, description: "Which kind of auth the calls carry.", resolve: (a) => a.type }),
    username: t.exposeString("username", { nullable: true, description: "The Basic username; null for other kinds." }),
  }),
});

/**
 * Fields only the webhook's owner (or the admin) may read: the URL (query strings often carry
 * tokens), headers, auth and delivery settings. A customer sees what a consumer needs: id,
 * service, event types, whether it is active or open to customers, and when it was created.
 */
const ownerOnly = (webhook: { serviceId: number }) => ({ admin: true, ownsService: webhook.serviceId });
const OWNER_ONLY = "Only the admin and the owning service may read it (FORBIDDEN for a customer token).";

export const Webhook = builder.prismaObject("Webhook", {
  description:
    "An HTTP endpoint of a service, subscribed to event types. A customer token reads only id, service, eventTypes, isActive, openToCustomers and createdAt.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The webhook's id." }),
    service: t.relation("service", { description: "The service that owns the webhook." }),
    url: t.exposeString("url", { authScopes: ownerOnly, description: `Where deliveries are sent; empty for a PULL webhook. ${OWNER_ONLY}` }),
    deliveryMode: t.expose("deliveryMode", {
      type: WebhookDeliveryMode,
      description: "PUSH: deliveries are sent to the URL. PULL: a consumer receives them (receiveNotifications).",
    }),
    requestMethod: t.expose("requestMethod", { type: RequestMethod, authScopes: ownerOnly, description: `The HTTP method of the calls. ${OWNER_ONLY}` }),
    requestHeaders: t.field({
      type: [HttpHeader],
      // Null (with a SECRET_UNREADABLE error naming the field) rather than failing the whole
      // webhook, or the whole list it is in, when the sealed headers do not open.
      nullable: true,
      description: `Extra headers sent with every call. Null, with a SECRET_UNREADABLE error, when they were sealed with another HOOKGATE_ENCRYPTION_KEY (set them again with updateWebhook). ${OWNER_ONLY}`,
      authScopes: ownerOnly,
      select: { requestHeadersSealed: true },
      resolve: (w, _args, ctx) => openHeaders(ctx.secrets, w.requestHeadersSealed),
    }),
    auth: t.field({
      type: WebhookAuth,
      description: `How the calls authenticate (never the password or token). ${OWNER_ONLY}`,
      authScopes: ownerOnly,
      select: { authType: true, authUsername: true },
      resolve: (w) => ({ type: w.authType, username: w.authUsername }),
    }),
    eventTypes: t.field({
      type: [EventType],
      description: "The event types the webhook is subscribed to.",
      select: { eventTypes: { select: { eventType: true }, orderBy: { eventTypeId: "asc" } } },
      resolve: (w) => w.eventTypes.map((e) => e.eventType),
    }),
    isActive: t.exposeBoolean("isActive", {
      description: "Whether events are routed and delivered to it; an inactive webhook's deliveries wait until it is active again.",
    }),
    openToCustomers: t.exposeBoolean("openToCustomers", {
      description:
        "Customers may register themselves on this webhook (registerWebhook). Registering on a closed webhook fails as on one that does not exist.",
    }),
    disabledReason: t.exposeString("disabledReason", {
      nullable: true,
      authScopes: ownerOnly,
      description: `Why the gateway disabled this webhook (repeated delivery failures), if it did. ${OWNER_ONLY}`,
    }),
    disabledAt: t.expose("disabledAt", { type: "DateTime", nullable: true, authScopes: ownerOnly, description: `When the gateway disabled it, if it did. ${OWNER_ONLY}` }),
    retryPolicy: t.expose("retryPolicy", { type: RetryPolicy, authScopes: ownerOnly, description: `The schedule of retries after a failed attempt. ${OWNER_ONLY}` }),
    retryIntervalSeconds: t.exposeInt("retryIntervalSeconds", { authScopes: ownerOnly, description: `FIXED: seconds between attempts. ${OWNER_ONLY}` }),
    retryWindowSeconds: t.exposeInt("retryWindowSeconds", { authScopes: ownerOnly, description: `FIXED: how long, from the first attempt, retries go on. ${OWNER_ONLY}` }),
    payloadFilter: t.exposeString("payloadFilter", {
      nullable: true,
      authScopes: ownerOnly,
      description: `The SQL/JSON path predicate an event's payload must satisfy to be routed here; null: every event of its types. ${OWNER_ONLY}`,
    }),
    ordering: t.expose("ordering", { type: DeliveryOrdering, authScopes: ownerOnly, description: `FIFO: one delivery at a time, in order. ${OWNER_ONLY}` }),
    fifoOnFailure: t.expose("fifoOnFailure", {
      type: FifoFailureAction,
      authScopes: ownerOnly,
      description: `FIFO: what a head delivery that fails finally does to the rest (ignored while UNORDERED). ${OWNER_ONLY}`,
    }),
    maxDeliveriesPerSecond: t.exposeFloat("maxDeliveriesPerSecond", {
      nullable: true,
      authScopes: ownerOnly,
      description: `Most deliveries (attempts, retries included) sent per second, across every dispatcher process; null: no limit. ${OWNER_ONLY}`,
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the webhook was created." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", authScopes: ownerOnly, description: `When the webhook was last changed. ${OWNER_ONLY}` }),
  }),
});

export const WebhookPage = pageType("WebhookList", Webhook);

function openHeaders(secrets: SecretBox, sealed: string): HeaderInput[] {
  try {
    return JSON.parse(secrets.open(sealed)) as HeaderInput[];
  } catch {
    throw gatewayError(
      "SECRET_UNREADABLE",
      "requestHeaders do not open with this process's HOOKGATE_ENCRYPTION_KEY (sealed with another key, or damaged); set them again with updateWebhook",
      { field: "requestHeaders" },
    );
  }
}

/** The webhooks a caller may list: all (admin), its own (service), those it is registered on (customer; of the minting service only, for a customer session). */
export function visibleWebhooks(p: Principal): Prisma.WebhookWhereInput {
  if (p.kind === "admin") return {};
  if (p.kind === "service") return { serviceId: p.serviceId };
  const registered = { registrations: { some: { customerId: p.customerId } } };
  // A customer session a service minted sees that service's webhooks only.
  return p.scopeServiceId === undefined ? registered : { ...registered, serviceId: p.scopeServiceId };
}


builder.queryField("webhook", (t) =>
  t.prismaField({
    type: "Webhook",
    nullable: true,
    description:
      "One webhook, if the caller can see it (the visibility of `webhooks`: the admin any, a service its own, a customer those it is registered on); null otherwise, whether or not it exists, so ids cannot be probed.",
    args: { id: t.arg.id({ required: true, description: "The webhook's id." }) },
    authScopes: { authenticated: true },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.webhook.findFirst({ ...query, where: { AND: [visibleWebhooks(ctx.principal!), { id: requireId("id", args.id) }] } }),
  }),
);

builder.queryField("webhooks", (t) =>
  t.field({
    type: WebhookPage,
    description: "Webhooks the caller can see, optionally of one service and subscribed to any of eventIds.",
    args: {
      serviceId: t.arg.id({ description: "Only this service's webhooks." }),
      eventIds: t.arg.idList({ description: 'Only webhooks subscribed to any of these event type ids; items may also be comma-separated ("1,2,3").' }),
      ...pageArgs(t.arg),
    },
    authScopes: (_root, args) =>
      args.serviceId ? { admin: true, ownsService: args.serviceId, customer: true } : { authenticated: true },
    resolve: (_root, args, ctx) => {
      const eventIds = parseEventIdFilter(args.eventIds);
      const where: Prisma.WebhookWhereInput = {
        AND: [
          visibleWebhooks(ctx.principal!),
          args.serviceId ? { serviceId: requireId("serviceId", args.serviceId) } : {},
          eventIds ? { eventTypes: { some: { eventTypeId: { in: eventIds } } } } : {},
        ],
      };
      return paginate(
        ctx,
        args,
        () => ctx.prisma.webhook.count({ where }),
        (skip, take) => ctx.prisma.webhook.findMany({ where, skip, take, orderBy: { id: "asc" } }),
      );
    },
  }),
);

const HttpHeaderInput = builder.inputType("HttpHeaderInput", {
  description: "An extra HTTP header for a webhook's calls.",
  fields: (t) => ({
    name: t.string({ required: true, description: "The header's name (a token; the gateway's own headers cannot be overridden)." }),
    value: t.string({ required: true, description: "The header's value; stored encrypted and shown only to the owner." }),
  }),
});

const BasicAuthInput = builder.inputType("BasicAuthInput", {
  description: "HTTP Basic credentials for a webhook's calls.",
  fields: (t) => ({
    username: t.string({ required: true, description: "The username (no colon)." }),
    password: t.string({ required: true, description: "The password; stored encrypted and never shown again." }),
  }),
});

const WebhookAuthInput = builder.inputType("WebhookAuthInput", {
  description:
    "At most one of basic and token; neither clears the auth.",
  fields: (t) => ({
    basic: t.field({ type: BasicAuthInput, description: "Send HTTP Basic credentials." }),
    token: t.string({ description: "Send this Authorization value: 'Basic X' as Basic, 'Bearer X' or a bare X as Bearer. Stored encrypted, never shown again." }),
  }),
});

const webhookSettingsFields = (t: PothosInputFieldBuilder) => ({
  eventIds: t.idList({ description: "Event type ids to subscribe to." }),
  eventNames: t.stringList({ description: "Event type names to subscribe to (with or instead of eventIds)." }),
  url: t.string({ description: "Where the calls go: an http(s) URL of a public address (unless private targets are allowed)." }),
  requestMethod: t.field({ type: RequestMethod, description: "The HTTP method of the calls (default POST)." }),
  requestHeaders: t.field({ type: [HttpHeaderInput], description: "Extra headers sent with every call." }),
  isActive: t.boolean({ description: "Whether events are routed and delivered to it (default true); true again resumes a disabled webhook." }),
  auth: t.field({ type: WebhookAuthInput, description: "How the calls authenticate to the receiver." }),
  openToCustomers: t.boolean({
    description:
      "Whether customers may register themselves on the webhook. New webhooks are closed (false) unless this says true; changing it leaves existing registrations in place.",
  }),
  retryPolicy: t.field({ type: RetryPolicy, description: "The schedule of retries (default EXPONENTIAL)." }),
  retryIntervalSeconds: t.int({ description: "FIXED: seconds between attempts (default 60)." }),
  retryWindowSeconds: t.int({ description: "FIXED: how long to keep retrying (default 86400, 24 h)." }),
  payloadFilter: t.string({
    description:
      'Route only events whose payload satisfies this SQL/JSON path predicate (PostgreSQL jsonpath), e.g. `$.amount > 100 && $.status == "paid"`; null removes it (every event of the subscribed types, as without one). At most 500 characters; like_regex, the any-depth accessor .**, variables and .datetime() are refused. See README, Payload filters.',
  }),

  ordering: t.field({
    type: DeliveryOrdering,
    description: "FIFO: deliveries one at a time, in the order the events were queued (default UNORDERED). Switching keeps the waiting deliveries, in event order.",
  }),
  fifoOnFailure: t.field({ type: FifoFailureAction, description: "FIFO: what a head delivery that fails finally does to the rest (default CONTINUE)." }),
  maxDeliveriesPerSecond: t.float({
    description:
      "Most deliveries sent per second (0.01 to 10000; attempts and retries alike), across every dispatcher process, with bursts of at most one second's worth; null removes the limit.",
  }),
});

type PothosInputFieldBuilder = Parameters<Parameters<typeof builder.inputType>[1]["fields"]>[0];

const CreateWebhookInput = builder.inputType("CreateWebhookInput", {
  description: "A new webhook.",
  fields: (t) => ({
    serviceId: t.id({ description: "The owning service. A service token may omit it (its own service); the admin must give it." }),
    ...webhookSettingsFields(t),
    url: t.string({
      description:
        "Where the calls go: an http(s) URL of a public address (unless private targets are allowed). Required for a PUSH webhook; a PULL webhook has none.",
    }),
    deliveryMode: t.field({
      type: WebhookDeliveryMode,
      description: "PUSH (the default): the gateway calls url. PULL: no URL; a consumer receives the deliveries. It cannot be changed later.",
    }),
  }),
});

const UpdateWebhookInput = builder.inputType("UpdateWebhookInput", {
  description:
    "Only the fields given change. eventIds/eventNames, when given, replace the subscriptions. A url with another origin (scheme, host or port) drops the stored auth and requestHeaders unless this same update gives them again.",
  fields: (t) => webhookSettingsFields(t),
});


const CreateWebhookPayload = builder.objectRef<{ webhook: WebhookRow; signingSecret: string }>("CreateWebhookPayload").implement({
  description: "The webhook, with its new signing secret.",
  fields: (t) => ({
    webhook: t.field({ type: Webhook, description: "The webhook.", resolve: (p) => p.webhook }),
    signingSecret: t.exposeString("signingSecret", {
      description: "Standard Webhooks secret (whsec_…) to verify the webhook-signature header. Shown only now.",
    }),
  }),
});

builder.mutationField("createWebhook", (t) =>
  t.field({
    type: CreateWebhookPayload,
    description: "Creates a webhook for a service: the admin (giving serviceId), or the service itself.",
    args: { input: t.arg({ type: CreateWebhookInput, required: true, description: "The webhook's settings." }) },
    // Without serviceId the admin passes the scope check and is told below to name the service.
    authScopes: (_root, { input }) => (input.serviceId ? { admin: true, ownsService: input.serviceId } : { admin: true, service: true }),
    resolve: async (_root, { input }, ctx) => {
      const p = ctx.principal!;
      if (!input.serviceId && p.kind !== "service") {
        throw badInput("input.serviceId", "an admin token must give serviceId (the service the webhook belongs to); a service token may omit it");
      }
      const serviceId = input.serviceId ? requireId("input.serviceId", input.serviceId) : p.kind === "service" ? p.serviceId : 0;
      return createWebhook(ctx, serviceId, input);
    },
  }),
);

builder.mutationField("updateWebhook", (t) =>
  t.prismaField({
    type: "Webhook",
    description: "Changes a webhook: the admin, or the owning service.",
    args: {
      webhookId: t.arg.id({ required: true, description: "The webhook to change." }),
      input: t.arg({ type: UpdateWebhookInput, required: true, description: "The settings to change; those not given stay." }),
    },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: (query, _root, args, ctx) => updateWebhook(ctx, requireId("webhookId", args.webhookId), args.input, query),
  }),
);


const DeleteWebhookPayload = builder.objectRef<{ deletedWebhookId: number }>("DeleteWebhookPayload").implement({
  description: "What was deleted.",
  fields: (t) => ({ deletedWebhookId: t.exposeID("deletedWebhookId", { description: "The id of the deleted webhook." }) }),
});

builder.mutationField("deleteWebhook", (t) =>
  t.field({
    type: DeleteWebhookPayload,
    description: "Deletes a webhook with its registrations, pending deliveries and logs: the admin, or the owning service.",
    args: { webhookId: t.arg.id({ required: true, description: "The webhook to delete." }) },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: async (_root, args, ctx) => {
      const id = requireId("webhookId", args.webhookId);
      await deleteWebhook(ctx, id);
      return { deletedWebhookId: id };
    },
  }),
);

builder.mutationField("rotateWebhookSecret", (t) =>
  t.field({
    type: CreateWebhookPayload,
    description:
      "Replaces the signing secret. For 24 hours both secrets sign (two signatures in webhook-signature). The new secret is shown only now.",
    args: { webhookId: t.arg.id({ required: true, description: "The webhook whose secret to replace." }) },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: (_root, args, ctx) => rotateWebhookSecret(ctx, requireId("webhookId", args.webhookId)),
  }),
);
