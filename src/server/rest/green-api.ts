import { z } from "zod";
import { pathTokenAuth } from "./auth.js";
import { plainErrors } from "./dialect.js";
import { RestGraphQLError } from "./graphql.js";
import { defineRoute, type GraphQLRunner, type Location, type RestRoute } from "./route.js";

// Green API's webhook settings and notification queue, under the paths its clients call
// (@green-api/whatsapp-api-client: {host}/waInstance{idInstance}/{method}/{apiTokenInstance}).
// An instance is one Hookgate webhook: idInstance is the webhook's id, apiTokenInstance a
// Hookgate token of its service (or the admin's), redacted from every log line. The switches
// (incomingWebhook, …) subscribe the webhook to the event types named after Green API's
// notification types; a PUSH webhook is the instance's webhookUrl, a PULL webhook is its
// notification queue (README, "Coming from Green API"). Every handler is GraphQL as the caller.

const auth = pathTokenAuth("apiTokenInstance");

/** Green API's per-kind switches, and the event types (Green API's typeWebhook names) each one turns on. */
export const GREEN_API_SWITCHES = {
  incomingWebhook: ["incomingMessageReceived"],
  outgoingWebhook: ["outgoingMessageStatus"],
  stateWebhook: ["stateInstanceChanged"],
  deviceWebhook: ["deviceInfo"],
} as const satisfies Record<string, readonly string[]>;
type Switch = keyof typeof GREEN_API_SWITCHES;
const SWITCH_NAMES = Object.keys(GREEN_API_SWITCHES) as Switch[];

const YesNo = z.enum(["yes", "no"]);

const InstanceParams = z.object({
  idInstance: z.string().regex(/^\d{1,10}$/, "must be the instance's (webhook's) id").describe("The Hookgate webhook that is the instance"),
  apiTokenInstance: z.string().min(1).describe("A Hookgate API token of the webhook's service (or the admin's); never logged"),
});

const Settings = z
  .object({
    wid: z.string(),
    countryInstance: z.string(),
    typeAccount: z.string(),
    webhookUrl: z.string().describe('The webhook\'s URL; "" for a PULL webhook (its notifications are received with receiveNotification)'),
    webhookUrlToken: z.string().describe('Always "": the token is write-only'),
    delaySendMessagesMilliseconds: z.number().int(),
    markIncomingMessagesReaded: YesNo,
    markIncomingMessagesReadedOnReply: YesNo,
    sharedSession: YesNo,
    outgoingWebhook: YesNo,
    outgoingMessageWebhook: YesNo,
    outgoingAPIMessageWebhook: YesNo,
    incomingWebhook: YesNo,
    deviceWebhook: YesNo,
    statusInstanceWebhook: YesNo,
    stateWebhook: YesNo,
    enableMessagesHistory: YesNo,
    keepOnlineStatus: YesNo,
    pollMessageWebhook: YesNo,
    incomingBlockWebhook: YesNo,
    incomingCallWebhook: YesNo,
    editedMessageWebhook: YesNo,
    deletedMessageWebhook: YesNo,
  })
  .meta({ id: "GreenApiSettings" });

const SetSettings = z
  .looseObject({
    webhookUrl: z.string().optional().describe('Where a PUSH webhook\'s calls go; "" (or absent) leaves a PULL webhook as it is'),
    webhookUrlToken: z.string().optional().describe('Sent as Authorization ("Basic X" as Basic, "Bearer X" or a bare X as Bearer); "" removes it'),
    incomingWebhook: YesNo.optional(),
    outgoingWebhook: YesNo.optional(),
    stateWebhook: YesNo.optional(),
    deviceWebhook: YesNo.optional(),
  })
  .describe("Settings Hookgate does not map (countryInstance, delaySendMessagesMilliseconds, …) are accepted and ignored")
  .meta({ id: "GreenApiSetSettings" });

const Notification = z
  .object({
    receiptId: z.number().int().describe("Acknowledge with deleteNotification; a new one each time the notification is handed out"),
    body: z.unknown().describe("The event's payload as published (Green API's notification: typeWebhook, instanceData, timestamp, …)"),
  })
  .meta({ id: "GreenApiNotification" });

const WEBHOOK_FIELDS = "id url deliveryMode eventTypes { name }";
interface Instance {
  id: string;
  url: string;
  deliveryMode: "PUSH" | "PULL";
  eventTypes: { name: string }[];
}

async function readInstance(graphql: GraphQLRunner, id: string): Promise<Instance> {
  const { webhook } = await graphql<{ webhook: Instance | null }>(`query($id: ID!) { webhook(id: $id) { ${WEBHOOK_FIELDS} } }`, { id });
  // null: no such webhook, or one the caller may not see (GraphQL does not tell them apart).
  if (!webhook) throw new RestGraphQLError([{ message: `webhook ${id} does not exist`, extensions: { code: "NOT_FOUND" } }]);
  return webhook;
}

const on = (instance: Instance, name: Switch) =>
  GREEN_API_SWITCHES[name].every((type) => instance.eventTypes.some((e) => e.name === type)) ? "yes" : "no";

function settingsOf(instance: Instance): z.infer<typeof Settings> {
  const no = "no" as const;
  return {
    wid: "",
    countryInstance: "",
    typeAccount: "",
    webhookUrl: instance.url,
    webhookUrlToken: "",
    delaySendMessagesMilliseconds: 0,
    markIncomingMessagesReaded: no,
    markIncomingMessagesReadedOnReply: no,
    sharedSession: no,
    outgoingWebhook: on(instance, "outgoingWebhook"),
    outgoingMessageWebhook: no,
    outgoingAPIMessageWebhook: no,
    incomingWebhook: on(instance, "incomingWebhook"),
    deviceWebhook: on(instance, "deviceWebhook"),
    statusInstanceWebhook: no,
    stateWebhook: on(instance, "stateWebhook"),
    enableMessagesHistory: no,
    keepOnlineStatus: no,
    pollMessageWebhook: no,
    incomingBlockWebhook: no,
    incomingCallWebhook: no,
    editedMessageWebhook: no,
    deletedMessageWebhook: no,
  };
}

/** The event types the webhook subscribes to after the switches given: the others it has stay. */
function subscriptionsAfter(instance: Instance, body: Partial<Record<Switch, "yes" | "no">>): string[] | undefined {
  if (!SWITCH_NAMES.some((name) => body[name] !== undefined)) return undefined;
  const names = new Set(instance.eventTypes.map((e) => e.name));
  for (const name of SWITCH_NAMES) {
    const value = body[name];
    if (value === undefined) continue;
    for (const type of GREEN_API_SWITCHES[name]) value === "yes" ? names.add(type) : names.delete(type);
  }
  return [...names];
}

/** Hookgate's fields under Green API's names. */
function fieldLocation(field: string): Location | undefined {
  if (field === "webhookId") return ["path", "idInstance"];
  if (field === "input.url") return ["body", "webhookUrl"];
  if (field.startsWith("input.auth")) return ["body", "webhookUrlToken"];
  if (field.startsWith("input.event")) return ["body"];
  if (field === "waitSeconds") return ["query", "receiveTimeout"];
  if (field.startsWith("receiptIds")) return ["path", "receiptId"];
  return undefined;
}

const common = { tags: ["green-api"], auth, errors: plainErrors, fieldLocation } as const;

export const greenApiRoutes: readonly RestRoute[] = [
  defineRoute({
    ...common,
    method: "GET",
    path: "/waInstance{idInstance}/getSettings/{apiTokenInstance}",
    operationId: "green_api_get_settings",
    summary: "The instance's (webhook's) settings, as Green API's getSettings answers them",
    params: InstanceParams,
    responses: { 200: { description: "The settings; those Hookgate does not map have neutral values", schema: Settings } },
    async handler({ params, graphql }) {
      return { status: 200, body: settingsOf(await readInstance(graphql, params.idInstance)) };
    },
  }),
  defineRoute({
    ...common,
    method: "POST",
    path: "/waInstance{idInstance}/setSettings/{apiTokenInstance}",
    operationId: "green_api_set_settings",
    summary: "Changes the instance's webhook: webhookUrl, webhookUrlToken and the switches",
    params: InstanceParams,
    body: SetSettings,
    responses: { 200: { description: "Saved", schema: z.object({ saveSettings: z.boolean() }).meta({ id: "GreenApiSetSettingsResult" }) } },
    async handler({ params, body, graphql }) {
      const instance = await readInstance(graphql, params.idInstance);
      const eventNames = subscriptionsAfter(instance, body);
      // "" is Green API's "no URL": for a PULL webhook that is what it is; a PUSH webhook keeps a URL.
      const url = body.webhookUrl === undefined || (body.webhookUrl === "" && instance.deliveryMode === "PULL") ? undefined : body.webhookUrl;
      const token = body.webhookUrlToken;
      const input = {
        ...(url !== undefined ? { url } : {}),
        ...(token !== undefined ? { auth: token === "" ? null : { token } } : {}),
        ...(eventNames ? { eventNames } : {}),
      };
      if (Object.keys(input).length) {
        await graphql(`mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(webhookId: $id, input: $input) { id } }`, {
          id: params.idInstance,
          input,
        });
      }
      return { status: 200, body: { saveSettings: true } };
    },
  }),
  defineRoute({
    ...common,
    method: "GET",
    path: "/waInstance{idInstance}/receiveNotification/{apiTokenInstance}",
    operationId: "green_api_receive_notification",
    summary: "The oldest notification not yet deleted (PULL webhooks), or null after receiveTimeout seconds",
    description:
      "One notification at a time, in order: until it is deleted (or its visibility timeout ends and it is handed out again with a new receiptId), the next is not handed out.",
    params: InstanceParams,
    query: z.object({
      receiveTimeout: z.coerce.number().int().min(0).max(60).default(5).describe("Seconds to wait for a notification (default 5, as Green API's)"),
    }),
    responses: { 200: { description: "A notification, or null", schema: Notification.nullable() } },
    async handler({ params, query, graphql }) {
      const { receiveNotifications } = await graphql<{ receiveNotifications: { receiptId: string; payload: unknown }[] }>(
        `mutation($id: ID!, $wait: Int) { receiveNotifications(webhookId: $id, max: 1, waitSeconds: $wait) { receiptId payload } }`,
        { id: params.idInstance, wait: query.receiveTimeout },
      );
      const [first] = receiveNotifications;
      return { status: 200, body: first ? { receiptId: Number(first.receiptId), body: first.payload } : null };
    },
  }),
  defineRoute({
    ...common,
    method: "DELETE",
    path: "/waInstance{idInstance}/deleteNotification/{apiTokenInstance}/{receiptId}",
    operationId: "green_api_delete_notification",
    summary: "Acknowledges a received notification: it is delivered, and the next one can be received",
    params: InstanceParams.extend({ receiptId: z.string().regex(/^\d{1,15}$/, "must be a receiptId from receiveNotification") }),
    responses: {
      200: {
        description: "result: false when the receipt was unknown, already deleted, or stale (handed out again since)",
        schema: z.object({ result: z.boolean() }).meta({ id: "GreenApiDeleteNotificationResult" }),
      },
    },
    async handler({ params, graphql }) {
      const { acknowledgeNotifications } = await graphql<{ acknowledgeNotifications: { acknowledgedReceiptIds: string[] } }>(
        `mutation($id: ID!, $receipts: [ID!]!) { acknowledgeNotifications(webhookId: $id, receiptIds: $receipts) { acknowledgedReceiptIds } }`,
        { id: params.idInstance, receipts: [params.receiptId] },
      );
      return { status: 200, body: { result: acknowledgeNotifications.acknowledgedReceiptIds.length > 0 } };
    },
  }),
];
