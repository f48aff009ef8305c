import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { useGraphQLSSE } from "@graphql-yoga/plugin-graphql-sse";
import type { Plugin } from "graphql-yoga";
import type { GatewayContext, GatewayServices } from "../schema/context.js";
import { authenticatedAs } from "./authenticate.js";

/** Where graphql-sse's protocol is served, both of its modes (/graphql keeps yoga's own SSE). */
export const GRAPHQL_SSE_PATH = "/graphql/stream";

const TOKEN_HEADER = "x-graphql-event-stream-token";

/**
 * The GraphQL over SSE protocol (graphql-sse) at GRAPHQL_SSE_PATH, "single connection mode"
 * included: PUT reserves a stream, GET opens it, POST runs operations on it, DELETE ends one.
 * Every one of those requests passed authenticateRequest like any other (401 without a token),
 * operations run through yoga's envelop with the same context, query limits, rate limits and
 * subscription cap (sseSubscriptionLimits) as on /graphql. A reservation counts against
 * HOOKGATE_RATE_LIMIT_CONNECTIONS, as a websocket connection does, and belongs to the token that
 * made it: its stream token is bound to the reserving token's rate-limit key, so the stream token
 * alone (without that bearer token) neither opens the stream nor adds operations to it.
 * Reservations live in this process's memory: a load balancer must send every request of one
 * stream to the same gateway process.
 */
export function graphqlSseStreams(services: GatewayServices): Plugin<GatewayContext>[] {
  // The node request behind each fetch Request, for the key authenticateRequest found.
  const nodeRequests = new WeakMap<Request, IncomingMessage>();
  const remember: Plugin<GatewayContext> = {
    onRequest({ request, serverContext }) {
      const req = (serverContext as { req?: IncomingMessage } | undefined)?.req;
      if (req) nodeRequests.set(request, req);
    },
  };
  const streams = useGraphQLSSE({
    endpoint: GRAPHQL_SSE_PATH,
    async authenticate(req) {
      const key = authenticatedAs(nodeRequests.get(req.raw))?.rateLimitKey;
      // authenticateRequest has answered every request without a valid token already.
      if (!key) return answer(401, "Unauthorized", "this request needs Authorization: Bearer <token>", { code: "UNAUTHENTICATED" });
      const given = req.headers.get(TOKEN_HEADER) ?? new URL(req.url, "http://localhost/").searchParams.get("token");
      if (req.method === "PUT") {
        try {
          await services.rateLimits.consume(key, "connection");
        } catch (error) {
          const ext = (error as { extensions?: { retryAfterSeconds?: number } }).extensions;
          if (ext?.retryAfterSeconds === undefined) throw error;
          const retryAfterSeconds = ext.retryAfterSeconds;
          return answer(429, "Too Many Requests", (error as Error).message, { code: "RATE_LIMITED", retryAfterSeconds }, { "retry-after": String(retryAfterSeconds) });
        }
        const id = randomUUID();
        return `${id}.${bind(id, key)}`;
      }
      if (!given) return undefined; // distinct connection mode
      const [id, binding] = given.split(".");
      // Someone else's (or a made-up) stream token: as unknown as a stream that does not exist.
      if (!id || binding !== bind(id, key)) {
        return answer(404, "Not Found", "Stream not found");
      }
      return given;
    },
  }) as Plugin<GatewayContext>;
  return [remember, streams];
}

/** A GraphQL-shaped refusal, as graphql-sse's handler answers. */
function answer(
  status: number,
  statusText: string,
  message: string,
  extensions?: Record<string, unknown>,
  headers: Record<string, string> = {},
): [string, { status: number; statusText: string; headers: Record<string, string> }] {
  const body = JSON.stringify({ errors: [{ message, ...(extensions ? { extensions } : {}) }] });
  return [body, { status, statusText, headers: { "content-type": "application/json; charset=utf-8", ...headers } }];
}

/** Ties a stream token to the token that reserved it. */
function bind(id: string, key: string): string {
  return createHash("sha256").update(`${id}\n${key}`).digest("base64url").slice(0, 22);
}
