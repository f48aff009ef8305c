import { lexicographicSortSchema, type GraphQLSchema } from "graphql";
import { builder } from "./builder.js";
// Each domain module adds its types and fields to the builder when imported.
import "./services.js";
import "./event-types.js";
import "./webhooks.js";
import "./customers.js";
import "./registrations.js";
import "./events.js";
import "./deliveries.js";
import "./me.js";
import "./subscriptions.js";
import "./stats.js";
import "./api-tokens.js";
import "./portal-sessions.js";
import "./pull.js";

let schema: GraphQLSchema | undefined;

/** The whole API, built once per process. */
export function buildSchema(): GraphQLSchema {
  schema ??= builder.toSchema();
  return schema;
}

/** The schema as committed in schema.graphql: sorted, so the file diffs cleanly. */
export function sortedSchema(): GraphQLSchema {
  return lexicographicSortSchema(buildSchema());
}
