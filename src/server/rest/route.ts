import type { IncomingMessage } from "node:http";
import type { z } from "zod";
import type { Authenticated } from "../authenticate.js";
import type { PrincipalResolver } from "../../auth/principal.js";
import type { Config } from "../../config.js";

// A REST route is declared once, as data (this file's RestRoute): the router (router.ts) matches
// and validates requests with its zod schemas, and the OpenAPI document (openapi.ts) is generated
// from the same declarations. A handler runs the gateway's own GraphQL operations (graphql.ts),
// so REST has no rule of its own: the schema's checks, scopes and rate limits decide.

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Where in a request a problem is: ["body", "url"], ["query", "page"], ["path", "webhook_id"]. */
export type Location = readonly (string | number)[];

/** One thing wrong with a request (FastAPI's ValidationError shape, which Basalam answers with). */
export interface RestIssue {
  readonly loc: Location;
  readonly msg: string;
  /** A stable name of the kind of problem: "missing", "int_parsing", "BAD_USER_INPUT", … */
  readonly type: string;
}

/** A refusal, before a route family's ErrorDialect writes it. */
export interface RestProblem {
  readonly status: number;
  /** The API's stable error code (src/errors.ts), or METHOD_NOT_ALLOWED / INTERNAL_SERVER_ERROR. */
  readonly code: string;
  readonly message: string;
  /** What was wrong with the input; empty for other refusals. */
  readonly issues: readonly RestIssue[];
  readonly headers?: Readonly<Record<string, string>>;
}

/** How a family of routes (Basalam's, Thulium's, …) writes its refusals, and documents them. */
export interface ErrorDialect {
  /** The status of a request whose input is wrong (Basalam, FastAPI: 422). */
  readonly badInputStatus: number;
  body(problem: RestProblem): unknown;
  /** Error responses for the OpenAPI document, by status ("422", "default"). */
  readonly responses: Readonly<Record<string, { readonly description: string; readonly schema: z.ZodType }>>;
}

/** The caller a route's authentication found: what a GraphQL request over HTTP would carry. */
export type RestCaller = Authenticated;

/**
 * How a route's caller proves who it is. Pluggable per route: a bearer token (auth.ts's
 * bearerAuth, as GraphQL), HTTP Basic (Thulium), a token in the path (Green API), or none.
 */
export interface RestAuth {
  /** Whether the route needs a caller (false: public, e.g. the OpenAPI document). */
  readonly required: boolean;
  /**
   * The OpenAPI security scheme (components.securitySchemes[name]); none for a public route, or
   * for a token in the path (OpenAPI has no scheme for that: the parameter documents it).
   */
  readonly scheme?: { readonly name: string; readonly definition: Readonly<Record<string, unknown>> };
  /** WWW-Authenticate of a 401 answer. */
  readonly challenge?: string;
  /** Path parameters that carry a secret: replaced by *** wherever the request's path is logged. */
  readonly secretParams?: readonly string[];
  /**
   * The caller, or undefined when the request carries no credentials. Throws
   * InvalidTokenError (src/auth/principal.ts) for credentials that are not valid.
   */
  authenticate(req: IncomingMessage, params: Readonly<Record<string, string>>, principals: PrincipalResolver): Promise<RestCaller | undefined>;
}

/** Runs one GraphQL operation as the request's caller; throws RestGraphQLError on errors. */
export type GraphQLRunner = <T = Record<string, unknown>>(document: string, variables?: Record<string, unknown>) => Promise<T>;

export interface RestRequest<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** undefined only on a public route (auth.required false). */
  readonly caller: RestCaller | undefined;
  readonly graphql: GraphQLRunner;
  readonly req: IncomingMessage;
  /** The gateway's settings (page sizes, timeouts); the rules themselves stay in GraphQL. */
  readonly config: Config;
}

export interface RestResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

type Schema = z.ZodType;

/** A route as its module declares it (schemas typed, so the handler's input is too). */
export interface RouteSpec<P extends Schema, Q extends Schema, B extends Schema> {
  readonly method: HttpMethod;
  /** An OpenAPI path template: /v1/webhooks/{webhook_id}. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly auth: RestAuth;
  /** A z.object of the path template's parameters (strings on the wire: coerce). */
  readonly params?: P;
  /** A z.object of the query parameters (strings on the wire: coerce). */
  readonly query?: Q;
  /** The JSON body. */
  readonly body?: B;
  /** Success responses by status: what the handler answers. */
  readonly responses: Readonly<Record<number, { readonly description: string; readonly schema?: Schema }>>;
  readonly errors: ErrorDialect;
  /**
   * Where a GraphQL error's extensions.field (e.g. "input.eventIds") points in this route's
   * request; the default snake-cases it under the path, query or body (router.ts).
   */
  readonly fieldLocation?: (field: string) => Location | undefined;
  handler(request: RestRequest<z.output<P>, z.output<Q>, z.output<B>>): Promise<RestResponse>;
}

/** A route with its types erased, as the router and the OpenAPI generator hold it. */
export type RestRoute = RouteSpec<Schema, Schema, Schema>;

/** Declares a route; only for the handler's types (the value is returned as it is). */
export function defineRoute<P extends Schema = z.ZodUndefined, Q extends Schema = z.ZodUndefined, B extends Schema = z.ZodUndefined>(
  spec: RouteSpec<P, Q, B>,
): RestRoute {
  return spec as unknown as RestRoute;
}
