import { getOperationAST, Kind, type DefinitionNode, type FragmentDefinitionNode, type SelectionSetNode } from "graphql";
import type { Plugin } from "graphql-yoga";
import { contextRateLimitKey } from "../auth/rate-limits.js";
import type { GatewayContext } from "../schema/context.js";

/**
 * Counts every root field of a mutation against HOOKGATE_RATE_LIMIT_MUTATIONS, and of a query
 * against HOOKGATE_RATE_LIMIT_QUERIES, before anything runs (an aliased batch of 30 counts 30).
 * A spent allowance answers RATE_LIMITED and runs none of them. Works on every transport that
 * executes through yoga's envelop (subscriptions are counted as connections, not here).
 */
export function operationRateLimit(): Plugin<GatewayContext> {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== "mutation" && operation?.operation !== "query") return;
      const ctx = args.contextValue;
      const fields = rootFieldCount(operation.selectionSet, args.document.definitions);
      try {
        await ctx.rateLimits.consume(contextRateLimitKey(ctx), operation.operation, fields);
      } catch (error) {
        if (!(error instanceof Error) || !("extensions" in error)) throw error;
        setResultAndStopExecution({ errors: [error as never] });
      }
    },
  };
}

function rootFieldCount(set: SelectionSetNode, definitions: readonly DefinitionNode[], depth = 0): number {
  if (depth > 10) return 0;
  let count = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (!selection.name.value.startsWith("__")) count++;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      count += rootFieldCount(selection.selectionSet, definitions, depth + 1);
    } else {
      const fragment = definitions.find(
        (d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
      );
      if (fragment) count += rootFieldCount(fragment.selectionSet, definitions, depth + 1);
    }
  }
  return count;
}
