import {
  defaultFieldResolver,
  getNamedType,
  isLeafType,
  isObjectType,
  type GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import type { GatewayContext } from "../schema/context.js";
import { gatewayError } from "../errors.js";

/** What one query has produced so far; keyed by its context (one per operation on every transport). */
interface Budget {
  bytes: number;
  exceeded?: GraphQLError;
}

/**
 * HOOKGATE_MAX_GRAPHQL_RESPONSE_BYTES: a query's result is counted while it is resolved, not
 * after it is built. Every leaf value (strings by their UTF-8 length, JSON values by their JSON
 * text, which is what the response will hold) adds to its operation's count; once past the
 * bound, every field still to be resolved fails at once, before its resolver runs (so the
 * other aliases' database reads never happen), and the result is replaced by one
 * RESPONSE_TOO_LARGE error. The most a query builds is the bound plus one value.
 *
 * Queries only: a mutation has already changed things when its result is built, and its result
 * is bounded by its input (HOOKGATE_MAX_BODY_BYTES); a subscription's results are one event each.
 *
 * The schema is built once per process and shared by every gateway in it (tests run several), so
 * its resolvers are wrapped once, and each operation's bound is read from its context's config.
 * Returns the plugin that turns a stopped query into the error.
 */
export function boundResponseSize(schema: GraphQLSchema): Plugin {
  if (!wrapped.has(schema)) {
    wrapped.add(schema);
    wrapResolvers(schema);
  }
  return {
    onExecute: ({ args }) => ({
      onExecuteDone: ({ result, setResult }) => {
        const exceeded = budgets.get(args.contextValue as object)?.exceeded;
        // One clear error instead of a tree of nulls, each with the same message.
        if (exceeded && !isAsyncIterable(result)) setResult({ data: null, errors: [exceeded] });
      },
    }),
  };
}

const wrapped = new WeakSet<GraphQLSchema>();
const budgets = new WeakMap<object, Budget>();

function tooLarge(maxBytes: number): GraphQLError {
  return gatewayError(
    "RESPONSE_TOO_LARGE",
    `this query's result passed ${maxBytes} bytes while it was being resolved (HOOKGATE_MAX_GRAPHQL_RESPONSE_BYTES); ask for fewer fields, fewer aliases or smaller pages`,
    { maxBytes },
  );
}

function wrapResolvers(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      const leaf = isLeafType(getNamedType(field.type));
      field.resolve = (source, args, context, info) => {
        const maxBytes = (context as Partial<GatewayContext> | null)?.config?.HOOKGATE_MAX_GRAPHQL_RESPONSE_BYTES;
        if (info.operation.operation !== "query" || !maxBytes) return resolve(source, args, context, info);
        let budget = budgets.get(context as object);
        if (!budget) budgets.set(context as object, (budget = { bytes: 0 }));
        if (budget.exceeded) throw budget.exceeded;
        const value = resolve(source, args, context, info);
        if (!leaf) return value;
        const count = (v: unknown) => {
          budget.bytes += sizeOf(v);
          if (budget.bytes > maxBytes) throw (budget.exceeded = tooLarge(maxBytes));
          return v;
        };
        return isPromise(value) ? value.then(count) : count(value);
      };
    }
  }
}

/** About the bytes a value takes in the JSON response. */
function sizeOf(value: unknown): number {
  switch (typeof value) {
    case "string":
      return Buffer.byteLength(value) + 2;
    case "number":
    case "bigint":
    case "boolean":
      return 8;
    case "object":
      if (value === null) return 4;
      if (value instanceof Date) return 26;
      if (Array.isArray(value)) return value.reduce((n: number, v) => n + sizeOf(v) + 1, 2);
      try {
        return JSON.stringify(value)?.length ?? 0;
      } catch {
        return 0; // not JSON (the scalar's serialize will say so)
      }
    default:
      return 0;
  }
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
