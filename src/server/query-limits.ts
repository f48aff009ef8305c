import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { GraphQLError, type ValidationContext } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Config } from "../config.js";

/**
 * Bounds every document before it runs, on every transport yoga serves: depth, estimated cost,
 * aliases, directives and tokens (graphql-armor). A document over a limit is refused in
 * parsing or validation, before any resolver or database work.
 */
export function queryLimits(config: Config): Plugin[] {
  // Reported as validation errors (not thrown), so they are returned like any other, with a code.
  const report = { propagateOnRejection: false, onReject: [(ctx: ValidationContext | null, error: GraphQLError) => ctx?.reportError(error)] };
  return [
    EnvelopArmorPlugin({
      maxDepth: { n: config.HOOKGATE_MAX_QUERY_DEPTH, ...report },
      costLimit: { maxCost: config.HOOKGATE_MAX_QUERY_COST, ...report },
      maxAliases: { n: config.HOOKGATE_MAX_QUERY_ALIASES, ...report },
      maxTokens: { n: config.HOOKGATE_MAX_QUERY_TOKENS },
      maxDirectives: { n: 50, ...report },
      // Suggestions ("Did you mean …?") stay: the API is documented and GraphiQL shows it anyway.
      blockFieldSuggestion: { enabled: false },
    }) as Plugin,
    validationErrorCode,
  ];
}

/** Gives validation errors that carry no code (graphql-armor's among them) the standard one. */
const validationErrorCode: Plugin = {
  onValidate: () => ({ valid, result, setResult }) => {
    if (valid) return;
    setResult(
      result.map((error) =>
        error.extensions.code
          ? error
          : new GraphQLError(error.message, {
              nodes: error.nodes,
              source: error.source,
              positions: error.positions,
              path: error.path,
              originalError: error.originalError,
              extensions: { ...error.extensions, code: "GRAPHQL_VALIDATION_FAILED" },
            }),
      ),
    );
  },
};
