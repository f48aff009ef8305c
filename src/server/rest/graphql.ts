import type { IncomingMessage } from "node:http";
import type { GraphQLFormattedError } from "graphql";
import type { GatewayYoga } from "../yoga.js";
import type { GraphQLRunner } from "./route.js";

/** The GraphQL errors an operation a REST handler ran answered with. */
export class RestGraphQLError extends Error {
  override name = "RestGraphQLError";
  constructor(readonly errors: readonly GraphQLFormattedError[]) {
    super(errors.map((e) => e.message).join("; "));
  }
}

/**
 * Runs operations through the gateway's own yoga instance, as the request's caller: the same
 * schema, scopes, checks, query limits, per-token rate limits, response-size bound and error
 * masking as a client's POST to /graphql. The caller is the one the route authenticated
 * (rememberAuthenticated), which yoga's context reads from the request.
 */
export function graphqlRunner(yoga: GatewayYoga, req: IncomingMessage): GraphQLRunner {
  return async <T>(document: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const response = await yoga.fetch(
      "http://hookgate.internal/graphql",
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
        body: JSON.stringify({ query: document, variables }),
      },
      { req },
    );
    const result = (await response.json()) as { data?: T | null; errors?: GraphQLFormattedError[] };
    // A field that failed on its own (SECRET_UNREADABLE: null, the rest intact) is answered with
    // the rest, as GraphQL answers it; any other error is the route's refusal.
    const fatal = result.errors?.filter((e) => e.extensions?.code !== "SECRET_UNREADABLE") ?? [];
    if (fatal.length || !result.data) throw new RestGraphQLError(result.errors ?? []);
    return result.data;
  };
}
