import type { Server } from "node:http";
import { CloseCode, type ExecutionResult } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import type { GraphQLError } from "graphql";
import { WebSocketServer } from "ws";
import { InvalidTokenError, type Principal, type PrincipalResolver } from "../auth/principal.js";
import type { GatewayServices } from "../schema/context.js";
import { gatewayError } from "../schema/errors.js";
import { rateLimitKey } from "./rate-limits.js";
import { fanoutSubscribe, type FanoutTarget } from "./websocket-fanout.js";
import { maskGatewayError, type GatewayYoga, type WebsocketContext } from "./yoga.js";

/** What a connection carries from connection_init to each of its operations. */
interface ConnectionState {
  principal?: Principal;
  /** Stops watching the connection's token for revocation. */
  unwatch?: () => void;
  rateLimitKey?: string;
  subscriptions: number;
}

/** Queries and mutations over the socket run through yoga's enveloped execute, carried here. */
type EnvelopedArgs = { rootValue: { execute: (args: unknown) => unknown } };

/**
 * graphql-ws (subprotocol graphql-transport-ws) on the API's own port and path. The token comes
 * once, in connection_init ({ "authorization": "Bearer <token>" }); a missing or bad one is
 * refused with 4403 before any operation runs. Operations are parsed and validated by yoga's
 * envelop (the same schema, query limits and introspection switch as HTTP); subscriptions then
 * take the fan-out path (websocket-fanout.ts), with the same error masking.
 */
export function attachWebsocketServer(
  server: Server,
  yoga: GatewayYoga,
  services: GatewayServices,
  principals: PrincipalResolver,
): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: services.config.HOOKGATE_MAX_BODY_BYTES });
  const states = new WeakMap<object, ConnectionState>();
  const state = (extra: object): ConnectionState => {
    let s = states.get(extra);
    if (!s) states.set(extra, (s = { subscriptions: 0 }));
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
        const key = rateLimitKey(authorization, ctx.extra.request.socket.remoteAddress);
        try {
          await rateLimits.consume(key, "connection");
        } catch (error) {
          ctx.extra.socket.close(CloseCode.TooManyInitialisationRequests, (error as Error).message.slice(0, 120));
          return false;
        }
        let principal: Principal | undefined;
        try {
          principal = await principals.resolve(authorization);
        } catch (error) {
          if (!(error instanceof InvalidTokenError)) throw error;
        }
        if (!principal) return false; // graphql-ws closes with 4403 Forbidden
        // A revoked token's connection is closed (4403), which ends its subscriptions too.
        const tokenId = principal.kind === "admin" ? undefined : principal.tokenId;
        const socket = ctx.extra.socket;
        const unwatch = tokenId === undefined ? undefined : services.tokens.watch(tokenId, () => socket.close(CloseCode.Forbidden, "token revoked"));
        Object.assign(state(ctx.extra), { principal, rateLimitKey: key, unwatch });
        metrics.websocketConnections.inc();
        return true;
      },
      onClose: (ctx) => {
        state(ctx.extra).unwatch?.();
        if (ctx.acknowledged) metrics.websocketConnections.dec();
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
          return [error as GraphQLError];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors;
        // The slot is taken before the await (concurrent subscribes must see it) and given back if
        // the operation never starts: graphql-ws calls onComplete only for one that did.
        s.subscriptions++;
        let contextValue: unknown;
        try {
          contextValue = await contextFactory();
        } catch (error) {
          s.subscriptions--;
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
      onComplete: (ctx) => {
        const s = state(ctx.extra);
        s.subscriptions = Math.max(0, s.subscriptions - 1);
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
