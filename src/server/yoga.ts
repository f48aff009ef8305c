import type { IncomingMessage } from "node:http";
import { createYoga, type YogaServerInstance } from "graphql-yoga";
import { GraphQLError } from "graphql";
import type { Principal } from "../auth/principal.js";
import { buildSchema } from "../schema/index.js";
import type { GatewayContext, GatewayServices } from "../schema/context.js";
import { gatewayError } from "../errors.js";
import { isStoreUnavailable } from "../store/database.js";
import { authenticatedAs } from "./authenticate.js";
import { graphiqlOptions, renderOfflineGraphiQL } from "./graphiql.js";
import { graphqlSseStreams } from "./graphql-sse.js";
import { queryLimits } from "./query-limits.js";
import { disableIntrospection } from "./introspection.js";
import { operationRateLimit } from "./rate-limits.js";
import { requestLogger } from "./request-log.js";
import { boundResponseSize } from "./response-size.js";
import { sseSubscriptionLimits, type SubscriptionSlots } from "./subscription-slots.js";

/** What the websocket server hands yoga for each operation (see websocket.ts). */
export interface WebsocketContext {
  readonly websocket: { readonly principal: Principal; readonly rateLimitKey: string };
}

export type GatewayYoga = YogaServerInstance<Record<string, unknown>, GatewayContext>;

export function createGatewayYoga(services: GatewayServices, slots: SubscriptionSlots): GatewayYoga {
  const schema = buildSchema();
  return createYoga<Record<string, unknown>, GatewayContext>({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql: services.config.HOOKGATE_GRAPHIQL ? graphiqlOptions : false,
    renderGraphiQL: renderOfflineGraphiQL,
    landingPage: false,
    logging: false,
    // http.ts has read the body under HOOKGATE_MAX_BODY_BYTES before yoga sees it (and the REST
    // routes build theirs from a body read the same way): yoga's own limit would only pipe the
    // bytes through a stream again.
    maxRequestBodySize: false,
    plugins: [
      ...queryLimits(services.config),
      ...(services.config.HOOKGATE_INTROSPECTION ? [] : [disableIntrospection()]),
      operationRateLimit(),
      sseSubscriptionLimits(slots),
      boundResponseSize(schema),
      // graphql-sse's protocol (single connection mode too) at /graphql/stream.
      graphqlSseStreams(services),
    ],
    context: async (initial): Promise<GatewayContext> => {
      // A websocket operation: its connection was authenticated once, in connection_init.
      const socket = (initial as Partial<WebsocketContext>).websocket;
      const requestOrigin = originOf((initial as { req?: IncomingMessage }).req);
      if (socket) return { ...services, principal: socket.principal, rateLimitKey: socket.rateLimitKey, requestOrigin };
      // Over HTTP the token was checked before the request's body was read (authenticate.ts).
      const authenticated = authenticatedAs(initial.req);
      if (!authenticated) throw gatewayError("UNAUTHENTICATED", "this request needs Authorization: Bearer <token>");
      return {
        ...services,
        // Bound to this request's id when it came over HTTP.
        logger: requestLogger(services.logger),
        rateLimitKey: authenticated.rateLimitKey,
        principal: authenticated.principal,
        requestOrigin,
      };
    },
    maskedErrors: { maskError: (error, message) => maskGatewayError(services, error, message) },
  });
}

/** The origin a request was sent to, from its Host header (only a plain host[:port]). */
function originOf(req: IncomingMessage | undefined): string | undefined {
  const host = req?.headers.host;
  if (!host || !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) return undefined;
  const encrypted = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  return `${encrypted ? "https" : "http"}://${host}`;
}

/**
 * What a client may see of an error: our own rejections and GraphQL's parse/validation errors
 * as they are, the client's bad input as BAD_USER_INPUT, anything else as a generic
 * INTERNAL_SERVER_ERROR (logged in full). Also used for websocket subscriptions (websocket.ts).
 */
export function maskGatewayError(services: GatewayServices, error: unknown, message = "Unexpected error."): GraphQLError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  // Pothos reports bad connection arguments and cursors with its own error class.
  if (original instanceof Error && original.name === "PothosValidationError") {
    return gatewayError("BAD_USER_INPUT", original.message);
  }
  // A variable missing or null where the type says non-null: graphql-js reports it with no code.
  if (error instanceof GraphQLError && !error.extensions.code && !error.originalError && error.message.startsWith('Variable "$')) {
    return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code: "BAD_USER_INPUT" } });
  }
  // Our own rejections carry a code; GraphQL's parse and validation errors have no original error.
  if (error instanceof GraphQLError && (error.extensions.code || !error.originalError)) return error;
  if (original instanceof GraphQLError && original.extensions.code) return original;
  // graphql-js's own rejection of a variable's value (wrapped by the executor): the client's input.
  if (original instanceof GraphQLError && !original.originalError) {
    return new GraphQLError(original.message, { extensions: { code: "BAD_USER_INPUT" } });
  }
  if (isStoreUnavailable(original)) {
    requestLogger(services.logger).warn({ err: { message: (original as Error).message } }, "database unavailable");
    return gatewayError("SERVICE_UNAVAILABLE", "the database is unavailable; nothing was written; retry later");
  }
  requestLogger(services.logger).error({ err: original }, "unexpected error in a resolver");
  return new GraphQLError(message, { extensions: { code: "INTERNAL_SERVER_ERROR" } });
}
