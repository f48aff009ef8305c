import { GraphQLError, type ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";

/**
 * HOOKGATE_INTROSPECTION=false: a document asking for __schema or __type is refused in validation with INTROSPECTION_DISABLED, on every transport
 * that validates through yoga's envelop. __typename stays: clients need it.
 */
export function disableIntrospection(): Plugin {
  return {
    onValidate: ({ addValidationRule }) => addValidationRule(noIntrospection),
  };
}

const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === "__schema" || node.name.value === "__type") {
      context.reportError(
        new GraphQLError(`introspection is disabled on this gateway (HOOKGATE_INTROSPECTION=false): "${node.name.value}" cannot be queried`, {
          nodes: node,
          extensions: { code: "INTROSPECTION_DISABLED" },
        }),
      );
      return false; // one error for the whole introspection selection
    }
    return undefined;
  },
});
