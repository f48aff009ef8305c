import { z } from "zod";
import { publicRoute } from "./auth.js";
import { plainErrors } from "./dialect.js";
import { defineRoute, type RestRoute } from "./route.js";

// The OpenAPI 3.1 document, generated from the route declarations (never written by hand): paths,
// parameters, request bodies, responses and security schemes come from each route's zod schemas
// and auth. A schema given an id with `.meta({ id })` becomes components.schemas[id] and is
// referenced, so Basalam's resource names (WebhookResource, …) appear as Basalam's document has them.

type JsonObject = Record<string, unknown>;

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of a zod schema; named parts go to `components`. */
function toSchema(schema: z.ZodType, io: "input" | "output", components: JsonObject): JsonObject {
  const generated = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
  }) as JsonObject;
  const text = JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/');
  const { $schema: _, $defs, ...rest } = JSON.parse(text) as JsonObject & { $defs?: JsonObject };
  for (const [id, definition] of Object.entries($defs ?? {})) components[id] ??= definition;
  return rest;
}

/** Path or query parameters from a z.object's shape. */
function parameters(schema: z.ZodType | undefined, where: "path" | "query", components: JsonObject): JsonObject[] {
  if (!schema) return [];
  const object = toSchema(schema, "input", components) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property as { description?: string };
    return {
      name,
      in: where,
      required: where === "path" || (object.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

export function openApiDocument(routes: readonly RestRoute[], info: OpenApiInfo): JsonObject {
  const schemas: JsonObject = {};
  const securitySchemes: JsonObject = {};
  const paths: Record<string, JsonObject> = {};
  for (const route of routes) {
    const responses: JsonObject = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: { "application/json": { schema: toSchema(response.schema, "output", schemas) } } } : {}),
      };
    }
    for (const [status, response] of Object.entries(route.errors.responses)) {
      responses[status] ??= { description: response.description, content: { "application/json": { schema: toSchema(response.schema, "output", schemas) } } };
    }
    const scheme = route.auth.scheme;
    if (scheme) securitySchemes[scheme.name] = scheme.definition;
    const operation: JsonObject = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [...route.tags],
      parameters: [...parameters(route.params, "path", schemas), ...parameters(route.query, "query", schemas)],
      ...(route.body ? { requestBody: { required: true, content: { "application/json": { schema: toSchema(route.body, "input", schemas) } } } } : {}),
      responses,
      security: scheme ? [{ [scheme.name]: [] }] : [],
    };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info,
    paths,
    components: { schemas, securitySchemes },
  };
}

/** GET /openapi.json: the document of every route given (itself included), without auth. */
export function openApiRoute(routes: () => readonly RestRoute[], info: OpenApiInfo): RestRoute {
  let document: JsonObject | undefined;
  return defineRoute({
    method: "GET",
    path: "/openapi.json",
    operationId: "openapi",
    summary: "This OpenAPI 3.1 document: every REST route of the gateway",
    tags: ["meta"],
    auth: publicRoute,
    responses: { 200: { description: "The OpenAPI document", schema: z.record(z.string(), z.unknown()) } },
    errors: plainErrors,
    handler: async () => ({ status: 200, body: (document ??= openApiDocument(routes(), info)) }),
  });
}
