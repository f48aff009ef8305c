import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from "@pothos/plugin-scope-auth";
import { GraphQLError, Kind, type ValueNode } from "graphql";
import type PrismaTypes from "../store/generated/pothos-types.js";
import { getDatamodel } from "../store/generated/pothos-types.js";
import type { GatewayContext } from "./context.js";
import { gatewayError } from "../errors.js";
import { checkJson, inputChecksPlugin, MAX_JSON_DEPTH } from "./input-checks.js";
import { ownsApiToken, ownsDelivery, ownsService, ownsWebhook } from "./ownership.js";

/**
 * Scopes are the whole authorization model: every field states who may use it.
 * Parameterised scopes take a GraphQL ID (a string) and check ownership in the store.
 */
export interface AuthScopes {
  authenticated: boolean;
  admin: boolean;
  service: boolean;
  customer: boolean;
  /** The caller is the service that owns this service id. */
  ownsService: string | number;
  /** The caller is the service that owns this webhook id. */
  ownsWebhook: string | number;
  /** The caller is this customer id. */
  isCustomer: string | number;
  /** The caller is the service that owns the webhook of this delivery id. */
  ownsDelivery: string | number;
  /** The caller is the service or customer this API token id belongs to. */
  ownsApiToken: string | number;
}

export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  PrismaTypes: PrismaTypes;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: Date | string };
  };
}>({
  // Input checks run inside scope-auth (plugins listed first wrap outermost).
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, inputChecksPlugin],
  defaultFieldNullability: false,
  prisma: { client: (ctx) => ctx.prisma, dmmf: getDatamodel(), exposeDescriptions: false },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    pageInfoTypeOptions: { description: "Where a page of a cursor-paginated list lies in the whole list." },
    hasNextPageFieldOptions: { description: "True when more items follow the last one of this page." },
    hasPreviousPageFieldOptions: { description: "True when items come before the first one of this page." },
    startCursorFieldOptions: { description: "The cursor of the first item of this page; null when the page is empty." },
    endCursorFieldOptions: { description: "The cursor of the last item of this page; null when the page is empty." },
    cursorFieldOptions: { description: "An opaque position: pass it as after or before to page from this item." },
    nodeFieldOptions: { description: "The item." },
    edgesFieldOptions: { description: "The items of this page, each with its cursor." },
    pageInfoFieldOptions: { description: "Cursors and flags for fetching the neighbouring pages." },
    firstArgOptions: { description: "How many items to return from the start of the range, 0 to HOOKGATE_MAX_PAGE_SIZE (default 20; 0 gives an empty page with its pageInfo). Not together with last." },
    lastArgOptions: { description: "How many items to return from the end of the range, 0 to HOOKGATE_MAX_PAGE_SIZE. Not together with first." },
    afterArgOptions: { description: "Only items after this cursor (an endCursor from an earlier page). With before: the items between the two." },
    beforeArgOptions: { description: "Only items before this cursor (a startCursor from an earlier page). With after: the items between the two." },
    defaultConnectionTypeOptions: { description: "A page of a cursor-paginated list, newest first." },
    defaultEdgeTypeOptions: { description: "One item of a cursor-paginated list with its cursor." },
  },
  scopeAuth: {
    // Subscriptions are authorized once, when they start, not again for every event they yield.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => {
      const p = ctx.principal;
      return {
        authenticated: p !== undefined,
        admin: p?.kind === "admin",
        service: p?.kind === "service",
        customer: p?.kind === "customer",
        ownsService: (id) => p !== undefined && ownsService(p, id),
        ownsWebhook: (id) => p?.kind === "service" && ownsWebhook(ctx.prisma, p.serviceId, id),
        isCustomer: (id) => p?.kind === "customer" && String(p.customerId) === String(id),
        ownsDelivery: (id) => p?.kind === "service" && ownsDelivery(ctx.prisma, p.serviceId, id),
        ownsApiToken: (id) => p !== undefined && p.kind !== "admin" && ownsApiToken(ctx.prisma, p, id),
      };
    },
    unauthorizedError: (_parent, ctx, info, result) => {
      if (!ctx.principal) {
        return gatewayError("UNAUTHENTICATED", "this operation needs Authorization: Bearer <token>");
      }
      return gatewayError(
        "FORBIDDEN",
        `${info.parentType.name}.${info.fieldName} is not allowed for this ${ctx.principal.kind} token: it needs ${describe(result.failure)}`,
      );
    },
  },
});

/** Turns a scope failure into words a person can act on. */
function describe(failure: AuthFailure): string {
  switch (failure.kind) {
    case AuthScopeFailureType.AuthScope:
      return describeScope(failure.scope, failure.parameter);
    case AuthScopeFailureType.AnyAuthScopes:
      return failure.failures.map(describe).join(" or ");
    case AuthScopeFailureType.AllAuthScopes:
      return failure.failures.map(describe).join(" and ");
    default:
      return "a different token";
  }
}

function describeScope(scope: string, parameter: unknown): string {
  switch (scope) {
    case "admin":
      return "an admin token";
    case "service":
      return "a service token";
    case "customer":
      return "a customer token";
    case "authenticated":
      return "a token";
    case "ownsService":
      return `the token of service ${String(parameter)}`;
    case "ownsWebhook":
      return `the token of the service that owns webhook ${String(parameter)}`;
    case "isCustomer":
      return `the token of customer ${String(parameter)}`;
    case "ownsDelivery":
      return `the token of the service that owns the webhook of delivery ${String(parameter)}`;
    case "ownsApiToken":
      return `a token of the service or customer that API token ${String(parameter)} belongs to`;
    default:
      return scope;
  }
}

builder.queryType({ description: "Reads. Every field needs a bearer token; each says which." });
builder.mutationType({ description: "Changes. Every field needs a bearer token; each says which. A rejected change writes nothing." });

builder.scalarType("JSON", {
  description: `Any JSON value, nested at most ${MAX_JSON_DEPTH} levels, without NUL characters, lone UTF-16 surrogates or "__proto__" keys.`,
  serialize: (value) => value,
  // Variables are checked with their argument's path by the input checks (input-checks.ts).
  parseValue: (value) => value,
  // In the document itself a bad literal fails validation, as every bad literal does.
  parseLiteral: (ast) => {
    const value = literalToJson(ast);
    try {
      checkJson("literal", value);
    } catch (error) {
      throw new GraphQLError((error as Error).message.replace(/^literal: /, ""));
    }
    return value;
  },
});

builder.scalarType("DateTime", {
  description: "An instant, as an ISO 8601 string in UTC, in the years 1 to 9999.",
  serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
  parseValue: (value) => {
    const date = typeof value === "string" ? new Date(value) : new Date(NaN);
    if (Number.isNaN(date.getTime())) throw new GraphQLError("DateTime must be an ISO 8601 string");
    return date;
  },
});

function literalToJson(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalToJson);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value)]));
    default:
      throw new GraphQLError("JSON literals cannot contain variables");
  }
}
