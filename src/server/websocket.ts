import type { Server } from "node:http";
import { CloseCode, type ExecutionResult } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { getOperationAST, GraphQLError } from "graphql";
import { WebSocketServer } from "ws";
import { ExpiredSessionError, InvalidTokenError, type Principal, type PrincipalResolver } from "../auth/principal.js";
import type { GatewayServices } from "../schema/context.js";
import { gatewayError } from "../errors.js";
import type { ClientAddress } from "./client-address.js";
import { rateLimitKey } from "../auth/rate-limits.js";
import type { SubscriptionSlots } from "./subscription-slots.js";
import { fanoutSubscribe, type FanoutTarget } from "./websocket-fanout.js";
import { maskGatewayError, type GatewayYoga, type WebsocketContext } from "./yoga.js";

/** What a connection carries from connection_init to each of its operations. */
interface ConnectionState {
  principal?: Principal;
  /** Stops watching the connection's token for revocation. */
  unwatch?: () => void;
  rateLimitKey?: string;
  subscriptions: number;
  /** Operation ids holding one of the token's HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN slots. */
  tokenSlots: Set<string>;
}

/**
 * Close code for a connection refused by HOOKGATE_RATE_LIMIT_CONNECTIONS: 1013 Try Again Later
 * (RFC 6455), which graphql-ws clients retry with their back-off. Not 4429: graphql-ws reserves
 * it for "too many initialisation requests" and its client treats it as fatal.
 */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** Queries and mutations over the socket run through yoga's enveloped execute, carried here. */
type EnvelopedArgs = { rootValue: { execute: (args: unknown) => unknown } };

/**
 * graphql-ws (subprotocol graphql-transport-ws) on the API's own port and path. The token comes
 * once, in connection_init ({ "authorization": "Bearer <token>" }); a missing or bad one is
 * refused with 4403 before any operation runs. Operations are parsed and validated by yoga's
 * envelop (the same schema, query limits and introspection switch as HTTP); subscriptions then
 * take the fan-out path (websocket-fanout.ts), with the same error masking. A subscription also
 * takes one of its token's slots (HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN, shared with SSE) until it
 * ends or its socket closes.
 */
export function attachWebsocketServer(
  server: Server,
  yoga: GatewayYoga,
  services: GatewayServices,
  deps: { principals: PrincipalResolver; slots: SubscriptionSlots; clientAddress: ClientAddress },
): { close(): Promise<void> } {
  const { principals, slots, clientAddress } = deps;
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: services.config.HOOKGATE_MAX_BODY_BYTES });
  const states = new WeakMap<object, ConnectionState>();
  const state = (extra: object): ConnectionState => {
    let s = states.get(extra);
    if (!s) states.set(extra, (s = { subscriptions: 0, tokenSlots: new Set() }));
    return s;
  };
  const { metrics, rateLimits, config, logger } = services;
  const targets = new WeakMap<object, FanoutTarget>();

  const cleanup = useServer(
    {
      execute: (args) => (args as unknown as EnvelopedArgs).rootValue.execute(args) as Promise<ExecutionResult>,
      // Results are rendered once per event for identical operations and written straight to the socket.
      subscribe: (args) => fanoutSubscribe(args, targets.get(args)!, (error) => maskGatewayError(services, error)),
      onConnect: async (ctx) => {
        // { authorization } as documented; GraphiQL-style clients nest their headers.
        const params = ctx.connectionParams ?? {};
        const headers = (typeof params.headers === "object" && params.headers ? params.headers : {}) as Record<string, unknown>;
        const raw = params.authorization ?? params.Authorization ?? headers.authorization ?? headers.Authorization;
        const authorization = typeof raw === "string" ? raw : undefined;
        const key = rateLimitKey(authorization, clientAddress(ctx.extra.request));
        try {
          await rateLimits.consume(key, "connection");
        } catch (error) {
          ctx.extra.socket.close(CLOSE_TRY_AGAIN_LATER, (error as Error).message.slice(0, 120));
          return false;
        }
        let principal: Principal | undefined;
        try {
          principal = await principals.resolve(authorization);
        } catch (error) {
          if (!(error instanceof InvalidTokenError)) throw error;
          // An expired session says so (the close reason), so a console can tell its user.
          if (error instanceof ExpiredSessionError) {
            ctx.extra.socket.close(CloseCode.Forbidden, "UNAUTHENTICATED: the session expired");
            return false;
          }
        }
        if (!principal) return false; // graphql-ws closes with 4403 Forbidden
        // A revoked token's connection is closed (4403), which ends its subscriptions too.
        const tokenId = principal.tokenId;
        const socket = ctx.extra.socket;
        const unwatch = tokenId === undefined ? undefined : services.tokens.watch(tokenId, (why) => socket.close(CloseCode.Forbidden, why === "expired" ? "session expired" : "token revoked"));
        Object.assign(state(ctx.extra), { principal, rateLimitKey: key, unwatch });
        metrics.websocketConnections.inc();
        return true;
      },
      onClose: (ctx) => {
        state(ctx.extra).unwatch?.();
        if (ctx.acknowledged) metrics.websocketConnections.dec();
        // Whatever did not end through onComplete (an operation that threw) gives its slot back here.
        const s = state(ctx.extra);
        for (const _ of s.tokenSlots) slots.give(s.rateLimitKey!);
        s.tokenSlots.clear();
      },
      onSubscribe: async (ctx, id, params) => {
        const s = state(ctx.extra);
        const max = config.HOOKGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION;
        if (max && s.subscriptions >= max) {
          return [
            gatewayError("RATE_LIMITED", `this connection already has ${max} subscriptions (HOOKGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION)`),
          ];
        }
        const websocket: WebsocketContext["websocket"] = { principal: s.principal!, rateLimitKey: s.rateLimitKey! };
        const { schema, execute, contextFactory, parse, validate } = yoga.getEnveloped({
          websocket,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        let document;
        try {
          document = parse(params.query);
        } catch (error) {
          return withoutHttp([error as GraphQLError]);
        }
        const errors = validate(schema, document);
        if (errors.length) return withoutHttp(errors);
        if (getOperationAST(document, params.operationName)?.operation === "subscription") {
          if (s.tokenSlots.has(id) || !slots.take(s.rateLimitKey!)) return [slots.refusal()];
          s.tokenSlots.add(id);
        }
        // The slot is taken before the await (concurrent subscribes must see it) and given back if
        // the operation never starts: graphql-ws calls onComplete only for one that did.
        s.subscriptions++;
        let contextValue: unknown;
        try {
          contextValue = await contextFactory();
        } catch (error) {
          s.subscriptions--;
          if (s.tokenSlots.delete(id)) slots.give(s.rateLimitKey!);
          throw error;
        }
        const args = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
          rootValue: { execute },
        };
        targets.set(args, {
          socket: ctx.extra.socket,
          id,
          operationKey: [s.rateLimitKey, params.operationName ?? "", params.query, JSON.stringify(params.variables ?? null)].join("\u0000"),
        });
        return args;
      },
      // Called once for every operation that got past onSubscribe, however it ends.
      onComplete: (ctx, id) => {
        const s = state(ctx.extra);
        s.subscriptions = Math.max(0, s.subscriptions - 1);
        if (s.tokenSlots.delete(id)) slots.give(s.rateLimitKey!);
      },
    },
    wss,
    // graphql-ws pings every 12 s; a peer that stops answering is closed.
    12_000,
  );
  wss.on("error", (error) => logger.error({ err: error }, "websocket server error"));

  return {
    async close() {
      for (const client of wss.clients) client.terminate();
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/**
 * yoga marks its parse and validation errors with extensions.http (the status HTTP answers with);
 * it means nothing on a socket, and HTTP and SSE clients never see it.
 */
function withoutHttp(errors: readonly GraphQLError[]): GraphQLError[] {
  return errors.map((error) => {
    if (!error.extensions?.http) return error;
    const { http: _http, ...extensions } = error.extensions;
    return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions });
  });
}
