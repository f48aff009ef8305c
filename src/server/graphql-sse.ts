import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult } from "graphql";
import { createHandler } from "graphql-sse/lib/use/fetch";
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
 * and operations run through yoga's envelop with the same context, query limits, rate limits and
 * subscription cap (sseSubscriptionLimits) as on /graphql. A reservation counts against
 * HOOKGATE_RATE_LIMIT_CONNECTIONS, as a websocket connection does, and belongs to the token that
 * made it: its stream token is bound to the reserving token's rate-limit key, so the stream token
 * alone (without that bearer token) neither opens the stream nor adds operations to it.
 * Reservations live in this process's memory: a load balancer must send every request of one
 * stream to the same gateway process. One not opened within HOOKGATE_SSE_RESERVATION_TIMEOUT_MS
 * is dropped with whatever operations it holds (and their subscription slots).
 *
 * The glue is @graphql-yoga/plugin-graphql-sse's, with what it gets wrong put right: a syntax
 * error there is an HTTP 500 carrying a stack trace, an invalid document (or a result without
 * `data`, such as a rate limit's refusal) a 400 "Unable to detect operation AST" that drops the
 * errors. Here they are 400 with the GraphQL errors and their codes, and a refusal is a result.
 */
export function graphqlSseStreams(services: GatewayServices): Plugin<GatewayContext> {
  const serverContexts = new WeakMap<Request, { req?: IncomingMessage }>();
  let handler: (request: Request) => Promise<Response>;
  /** Reserved streams not opened yet, with the timer that drops them. */
  const unopened = new Map<string, NodeJS.Timeout>();
  /** The requests this module makes itself to drop a stream. */
  const own = new WeakSet<Request>();
  const drop = async (token: string, url: string) => {
    unopened.delete(token);
    // graphql-sse keeps its streams to itself: open the stream and hang up, which disposes it.
    const hangUp = new AbortController();
    const request = new Request(url, { headers: { accept: "text/event-stream", [TOKEN_HEADER]: token }, signal: hangUp.signal });
    own.add(request);
    await handler(request);
    hangUp.abort();
  };
  const authenticate = async (req: Parameters<typeof streamToken>[2] & { raw: Request }) => {
    if (own.has(req.raw)) return req.headers.get(TOKEN_HEADER);
    const token = await streamToken(services, serverContexts.get(req.raw)?.req, req);
    if (typeof token !== "string") return token;
    if (req.method === "PUT") {
      const url = req.url;
      const expire = () => drop(token, url).catch((err: unknown) => services.logger.warn({ err }, "dropping an unopened SSE stream failed"));
      unopened.set(token, setTimeout(expire, services.config.HOOKGATE_SSE_RESERVATION_TIMEOUT_MS).unref());
    } else if (req.method === "GET") {
      clearTimeout(unopened.get(token));
      unopened.delete(token);
    }
    return token;
  };
  return {
    onYogaInit({ yoga }) {
      handler = createHandler(
        {
          authenticate,
          async onSubscribe(req, params) {
            const enveloped = yoga.getEnveloped({ ...serverContexts.get(req.raw), request: req.raw, params });
            let document: DocumentNode;
            try {
              document = enveloped.parse(params.query);
            } catch (error) {
              if (!(error instanceof GraphQLError)) throw error;
              return answer(400, "Bad Request", withCode([error], "GRAPHQL_PARSE_FAILED"));
            }
            const invalid = enveloped.validate(enveloped.schema, document);
            if (invalid.length) return answer(400, "Bad Request", withCode(invalid, "GRAPHQL_VALIDATION_FAILED"));
            const args = {
              schema: enveloped.schema,
              document,
              contextValue: await enveloped.contextFactory(),
              variableValues: params.variables,
              operationName: params.operationName,
            };
            const subscription = getOperationAST(document, params.operationName)?.operation === "subscription";
            const result = (await (subscription ? enveloped.subscribe(args) : enveloped.execute(args))) as ExecutionResult | AsyncIterable<ExecutionResult>;
            if (Symbol.asyncIterator in result) return result;
            // A refusal before execution: graphql-sse takes an object without `data` for execution
            // arguments of its own; yoga's note of the HTTP status is not for the client.
            const errors = result.errors?.map((e) => (e instanceof GraphQLError ? forClient(e) : e));
            return { data: null, ...result, ...(errors ? { errors } : {}) } as ExecutionResult;
          },
        },
        yoga.fetchAPI,
      ) as (request: Request) => Promise<Response>;
    },
    onRequest({ request, serverContext, endResponse }) {
      if (new URL(request.url).pathname !== GRAPHQL_SSE_PATH) return undefined;
      serverContexts.set(request, serverContext as { req?: IncomingMessage });
      return handler(request).then(endResponse);
    },
  };
}

/**
 * graphql-sse's `authenticate`: the stream token a request names (none: distinct connections
 * mode), a new one for a reservation (PUT), or the refusal.
 */
async function streamToken(
  services: GatewayServices,
  node: IncomingMessage | undefined,
  req: { method: string; url: string; headers: { get(name: string): string | null | undefined } },
) {
  const key = authenticatedAs(node)?.rateLimitKey;
  // authenticateRequest has answered every request without a valid token already.
  if (!key) return answer(401, "Unauthorized", [{ message: "this request needs Authorization: Bearer <token>", extensions: { code: "UNAUTHENTICATED" } }]);
  const given = req.headers.get(TOKEN_HEADER) ?? new URL(req.url, "http://localhost/").searchParams.get("token");
  if (req.method === "PUT") {
    try {
      await services.rateLimits.consume(key, "connection");
    } catch (error) {
      const retryAfterSeconds = (error as { extensions?: { retryAfterSeconds?: number } }).extensions?.retryAfterSeconds;
      if (retryAfterSeconds === undefined) throw error;
      const refusal = { message: (error as Error).message, extensions: { code: "RATE_LIMITED", retryAfterSeconds } };
      return answer(429, "Too Many Requests", [refusal], { "retry-after": String(retryAfterSeconds) });
    }
    const id = randomUUID();
    return `${id}.${bind(id, key)}`;
  }
  if (!given) return undefined; // distinct connections mode
  const [id, binding] = given.split(".");
  // Someone else's (or a made-up) stream token: as unknown as a stream that does not exist.
  if (!id || binding !== bind(id, key)) return answer(404, "Not Found", [{ message: "Stream not found" }]);
  return given;
}

/** GraphQL's own errors, with the code yoga gives them on /graphql where they have none. */
function withCode(errors: readonly GraphQLError[], code: string): object[] {
  return errors.map((e) => forClient(e, code));
}

/** An error as a client sees it: without yoga's note of the HTTP status (`extensions.http`). */
function forClient(error: GraphQLError, code?: string): object {
  const { http: _status, ...extensions } = error.extensions;
  return { ...error.toJSON(), extensions: { ...(code ? { code } : {}), ...extensions } };
}

/** An HTTP answer with GraphQL errors, as graphql-sse's handler takes one. */
function answer(
  status: number,
  statusText: string,
  errors: object[],
  headers: Record<string, string> = {},
): [string, { status: number; statusText: string; headers: Record<string, string> }] {
  return [JSON.stringify({ errors }), { status, statusText, headers: { "content-type": "application/json; charset=utf-8", ...headers } }];
}

/** Ties a stream token to the token that reserved it. */
function bind(id: string, key: string): string {
  return createHash("sha256").update(`${id}\n${key}`).digest("base64url").slice(0, 22);
}
