import { getOperationAST, type GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { GatewayContext } from "../schema/context.js";
import { gatewayError } from "../schema/errors.js";
import { contextRateLimitKey } from "./rate-limits.js";

/**
 * HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN: the live subscriptions each token (its rate-limit key)
 * holds open in this process, websocket and SSE together. Counted per process because what it
 * protects, the process's memory, is per process. take() and give() are synchronous, so
 * concurrent subscribes cannot both take the last slot.
 */
export interface SubscriptionSlots {
  /** Takes one of the key's slots; false when it has none left (or the cap is 0: always true). */
  take(key: string): boolean;
  give(key: string): void;
  /** The refusal a client gets when take() said no. */
  refusal(): GraphQLError;
}

export function createSubscriptionSlots(max: number): SubscriptionSlots {
  const held = new Map<string, number>();
  return {
    take(key) {
      if (!max) return true;
      const n = held.get(key) ?? 0;
      if (n >= max) return false;
      held.set(key, n + 1);
      return true;
    },
    give(key) {
      if (!max) return;
      const n = (held.get(key) ?? 0) - 1;
      if (n > 0) held.set(key, n);
      else held.delete(key);
    },
    refusal: () =>
      gatewayError(
        "RATE_LIMITED",
        `this token already holds ${max} live subscriptions on this gateway (HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN); end one first`,
        { maxSubscriptions: max },
      ),
  };
}

/**
 * The same limits as the websocket's, for subscriptions yoga serves itself (Server-Sent Events;
 * websocket subscriptions take the fan-out path, which websocket.ts limits): each new one counts
 * against HOOKGATE_RATE_LIMIT_CONNECTIONS before its stream is opened, and holds one of its
 * token's slots from the moment its stream exists until it ends, however it ends (the client
 * goes away, the server ends it, an error).
 */
export function sseSubscriptionLimits(slots: SubscriptionSlots): Plugin<GatewayContext> {
  return {
    async onSubscribe({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue;
      if ((ctx as { websocket?: unknown }).websocket) return undefined;
      const key = contextRateLimitKey(ctx);
      if (getOperationAST(args.document, args.operationName)?.operation !== "subscription") return undefined;
      try {
        await ctx.rateLimits.consume(key, "connection");
      } catch (error) {
        if (!(error instanceof Error) || !("extensions" in error)) throw error;
        setResultAndStopExecution({ errors: [error as GraphQLError] });
        return undefined;
      }
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return undefined; // refused before it started: nothing held
          if (!slots.take(key)) {
            void (result as AsyncIterableIterator<unknown>).return?.();
            setResult({ errors: [slots.refusal()] });
            return undefined;
          }
          return { onEnd: () => slots.give(key) };
        },
      };
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
