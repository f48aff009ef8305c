import { z } from "zod";
import { basicTokenAuth } from "./auth.js";
import { plainErrors } from "./dialect.js";
import { defineRoute, type Location, type RestRoute } from "./route.js";

// Thulium's webhook API (POST/GET /api/webhooks, DELETE /api/webhooks/{id}), called with HTTP
// Basic as Thulium's API is: the password is a Hookgate service token (README "Coming from
// Thulium"). actions are event type names; http_auth_user/http_auth_password become the
// webhook's Basic auth, sealed like every webhook secret and never answered back.

const auth = basicTokenAuth("Thulium's API auth: any user name, and a Hookgate service token as the password.");

const ThuliumWebhook = z
  .object({
    id: z.number().int(),
    actions: z.array(z.string()).describe("The event type names the webhook subscribes to"),
    subscription_url: z.string(),
    http_auth_user: z.string().describe('The Basic user the calls carry; "" for none'),
    http_auth_password: z.string().describe('Always "": the password is write-only'),
    signing_secret: z.string().optional().describe("Hookgate: the Standard Webhooks signing secret, only in the answer to its creation"),
  })
  .meta({ id: "ThuliumWebhook" });

const CreateThuliumWebhook = z
  .object({
    actions: z.array(z.string()).min(1).describe("Event type names, e.g. CHAT_CONVERSATION_CREATED"),
    subscription_url: z.string(),
    http_auth_user: z.string().optional(),
    http_auth_password: z.string().optional(),
  })
  .meta({ id: "CreateThuliumWebhook" });

const FIELDS = "id url eventTypes { name } auth { type username }";
interface GqlWebhook {
  id: string;
  url: string;
  eventTypes: { name: string }[];
  auth: { type: string; username: string | null };
}

const thuliumWebhook = (w: GqlWebhook) => ({
  id: Number(w.id),
  actions: w.eventTypes.map((e) => e.name),
  subscription_url: w.url,
  http_auth_user: w.auth.username ?? "",
  http_auth_password: "",
});

/** Hookgate's input fields under Thulium's names. */
function fieldLocation(field: string): Location | undefined {
  if (field.startsWith("input.eventNames")) return ["body", "actions"];
  if (field === "input.url") return ["body", "subscription_url"];
  if (field === "input.auth.basic.username") return ["body", "http_auth_user"];
  if (field.startsWith("input.auth")) return ["body", "http_auth_password"];
  return undefined;
}

const common = { tags: ["thulium"], auth, errors: plainErrors, fieldLocation } as const;

export const thuliumRoutes: readonly RestRoute[] = [
  defineRoute({
    ...common,
    method: "POST",
    path: "/api/webhooks",
    operationId: "thulium_create_webhook",
    summary: "Adds a webhook (Thulium's POST webhooks), for the service whose token is the Basic password",
    body: CreateThuliumWebhook,
    responses: { 200: { description: "The webhook", schema: ThuliumWebhook } },
    async handler({ body, graphql }) {
      const user = body.http_auth_user ?? "";
      const password = body.http_auth_password ?? "";
      const { createWebhook } = await graphql<{ createWebhook: { signingSecret: string; webhook: GqlWebhook } }>(
        `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { signingSecret webhook { ${FIELDS} } } }`,
        {
          input: {
            eventNames: body.actions,
            url: body.subscription_url,
            // Thulium answers "" for no auth; either one given asks for Basic (createWebhook checks both).
            ...(user || password ? { auth: { basic: { username: user, password } } } : {}),
          },
        },
      );
      return { status: 200, body: { ...thuliumWebhook(createWebhook.webhook), signing_secret: createWebhook.signingSecret } };
    },
  }),
  defineRoute({
    ...common,
    method: "GET",
    path: "/api/webhooks",
    operationId: "thulium_list_webhooks",
    summary: "The service's webhooks, all of them, oldest first",
    responses: { 200: { description: "The webhooks", schema: z.array(ThuliumWebhook) } },
    async handler({ graphql, config }) {
      const all: GqlWebhook[] = [];
      const perPage = config.HOOKGATE_MAX_PAGE_SIZE;
      for (let page = 1; ; page++) {
        const { webhooks } = await graphql<{ webhooks: { data: GqlWebhook[]; totalPage: number } }>(
          `query($page: Int, $perPage: Int) { webhooks(page: $page, perPage: $perPage) { data { ${FIELDS} } totalPage } }`,
          { page, perPage },
        );
        all.push(...webhooks.data);
        if (page >= webhooks.totalPage) break;
      }
      return { status: 200, body: all.map(thuliumWebhook) };
    },
  }),
  defineRoute({
    ...common,
    method: "DELETE",
    path: "/api/webhooks/{id}",
    operationId: "thulium_delete_webhook",
    summary: "Deletes a webhook of the service, with its pending deliveries and logs",
    params: z.object({ id: z.coerce.number().int() }),
    responses: { 200: { description: "The id of the deleted webhook", schema: z.object({ id: z.number().int() }) } },
    async handler({ params, graphql }) {
      await graphql(`mutation($webhookId: ID!) { deleteWebhook(webhookId: $webhookId) { deletedWebhookId } }`, { webhookId: String(params.id) });
      return { status: 200, body: { id: params.id } };
    },
  }),
];
