import { z } from "zod";
import { bearerAuth } from "../auth.js";
import { defineRoute, type GraphQLRunner } from "../route.js";
import { basalamErrors, Paging, WebhookLogListResource } from "./schemas.js";

// GET /v1/webhooks/{webhook_id}/logs: a webhook's deliveries, newest first, one log entry per
// delivery showing its latest attempt's request and response (webhookLogs in GraphQL). Hookgate
// pages deliveries by cursor, so total_count and total_page are null, and page N walks N-1 pages
// of ids to find its start.

interface GqlAttempt {
  requestUrl: string;
  requestMethod: string;
  requestHeaders: unknown;
  requestBody: string;
  responseStatus: number | null;
  responseHeaders: unknown;
  responseBody: string | null;
  responseBodyEncoding: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  startedAt: string;
  durationMs: number;
}

interface GqlDelivery {
  id: string;
  status: string;
  attemptCount: number;
  createdAt: string;
  event: { id: string; eventName: string; payload: unknown; customer: { id: string } | null };
  attempts: GqlAttempt[];
}

const DELIVERY_FIELDS = `id status attemptCount createdAt event { id eventName payload customer { id } }
  attempts { requestUrl requestMethod requestHeaders requestBody responseStatus responseHeaders responseBody responseBodyEncoding errorClass errorMessage startedAt durationMs }`;

/** The cursor after which page `page` starts (undefined for the first page, null past the end). */
async function pageStart(graphql: GraphQLRunner, webhookId: string, page: number, perPage: number): Promise<string | undefined | null> {
  let after: string | undefined;
  for (let p = 1; p < page; p++) {
    const { webhookLogs } = await graphql<{ webhookLogs: { pageInfo: { endCursor: string | null; hasNextPage: boolean } } }>(
      `query($webhookId: ID!, $first: Int, $after: String) { webhookLogs(webhookId: $webhookId, first: $first, after: $after) { pageInfo { endCursor hasNextPage } } }`,
      { webhookId, first: perPage, after },
    );
    if (!webhookLogs.pageInfo.hasNextPage || !webhookLogs.pageInfo.endCursor) return null;
    after = webhookLogs.pageInfo.endCursor;
  }
  return after;
}

function logResource(d: GqlDelivery) {
  const last = d.attempts.at(-1);
  return {
    id: Number(d.id),
    user_id: d.event.customer ? Number(d.event.customer.id) : 0,
    status_code: last?.responseStatus ?? 0,
    request: last
      ? { url: last.requestUrl, method: last.requestMethod, headers: last.requestHeaders, body: last.requestBody }
      : { event_id: Number(d.event.id), event_name: d.event.eventName, payload: d.event.payload },
    response: last
      ? {
          status: last.responseStatus,
          headers: last.responseHeaders,
          body: last.responseBody,
          body_encoding: last.responseBodyEncoding,
          error_class: last.errorClass,
          error_message: last.errorMessage,
          started_at: last.startedAt,
          duration_ms: last.durationMs,
        }
      : null,
    created_at: d.createdAt,
    status: d.status,
    attempt_count: d.attemptCount,
  };
}

export const webhookLogRoute = defineRoute({
  tags: ["basalam"],
  auth: bearerAuth,
  errors: basalamErrors,
  method: "GET",
  path: "/v1/webhooks/{webhook_id}/logs",
  operationId: "webhook_logs_v1_webhooks__webhook_id__logs_get",
  summary: "Webhook Logs (getWebhookLogs): the admin or the owning service; one entry per delivery, newest first, with its latest attempt",
  params: z.object({ webhook_id: z.coerce.number().int() }),
  // Pages are walked here (webhookLogs pages by cursor), so page's lower bound is checked here too.
  query: z.object({ ...Paging, page: z.coerce.number().int().min(1).default(1) }),
  fieldLocation: (field) => (field === "first" ? ["query", "per_page"] : undefined),
  responses: { 200: { description: "Successful Response", schema: WebhookLogListResource } },
  async handler({ params, query, graphql }) {
    const webhookId = String(params.webhook_id);
    const after = await pageStart(graphql, webhookId, query.page, query.per_page);
    const deliveries =
      after === null
        ? []
        : (
            await graphql<{ webhookLogs: { edges: { node: GqlDelivery }[] } }>(
              `query($webhookId: ID!, $first: Int, $after: String) { webhookLogs(webhookId: $webhookId, first: $first, after: $after) { edges { node { ${DELIVERY_FIELDS} } } } }`,
              { webhookId, first: query.per_page, after },
            )
          ).webhookLogs.edges.map((e) => e.node);
    const data = deliveries.map(logResource);
    return { status: 200, body: { data, result_count: data.length, total_count: null, total_page: null, page: query.page, per_page: query.per_page } };
  },
});
