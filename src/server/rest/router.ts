import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidTokenError, type PrincipalResolver } from "../../auth/principal.js";
import type { GatewayServices } from "../../schema/context.js";
import { countUnauthenticated, rememberAuthenticated } from "../authenticate.js";
import { answerTooLarge, readBody, TOO_LARGE } from "../body.js";
import type { ClientAddress } from "../client-address.js";
import { requestLogger } from "../request-log.js";
import type { GatewayYoga } from "../yoga.js";
import { graphqlRunner, RestGraphQLError } from "./graphql.js";
import { badRequest, graphqlProblem, problem, zodIssues } from "./problems.js";
import type { RestCaller, RestIssue, RestProblem, RestRoute } from "./route.js";

export interface RestDeps {
  readonly yoga: GatewayYoga;
  readonly services: GatewayServices;
  readonly principals: PrincipalResolver;
  readonly clientAddress: ClientAddress;
}

export interface RestRouter {
  /**
   * Answers the request when its path is a REST route's (false: not ours, let GraphQL have it).
   * Runs inside http.ts's request id and logging.
   */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** The path as it may be logged: secret path parameters (tokens) replaced by ***. */
  redact(path: string): string;
}

interface Compiled {
  readonly route: RestRoute;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

/** /v1/webhooks/ is /v1/webhooks (FastAPI would redirect; clients built on it may add the slash). */
function normalize(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

/** /v1/webhooks/{webhook_id} → ^/v1/webhooks/([^/]+)$ with names ["webhook_id"]. */
function compile(route: RestRoute): Compiled {
  const names: string[] = [];
  const source = route.path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const name = /^\{([^}]+)\}$/.exec(part)?.[1];
      if (name) {
        names.push(name);
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return { route, pattern: new RegExp(`^${source}$`), names };
}

/**
 * The REST routes' HTTP side: matches a request to its route (405 with Allow for a known path and
 * another method), authenticates it the route's way, reads the body under HOOKGATE_MAX_BODY_BYTES,
 * validates path, query and body with the route's zod schemas (every problem is listed, in the
 * route's error dialect), then runs the handler. Refusals the handler's GraphQL operations give
 * (BAD_USER_INPUT, NOT_FOUND, RATE_LIMITED, …) map to statuses in problems.ts.
 */
export function createRestRouter(routes: readonly RestRoute[], deps: RestDeps): RestRouter {
  // Literal paths before templated ones: /v1/webhooks/events is not webhook "events".
  const compiled = routes.map(compile).sort((a, b) => a.names.length - b.names.length);
  const matching = (path: string) =>
    compiled.flatMap((c) => {
      const m = c.pattern.exec(path);
      if (!m) return [];
      let params: Record<string, string>;
      try {
        params = Object.fromEntries(c.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
      } catch {
        return []; // a malformed %-escape: not a route's path
      }
      return [{ ...c, params }];
    });

  return {
    redact(rawPath) {
      const path = normalize(rawPath);
      for (const c of compiled) {
        const secret = c.route.auth.secretParams;
        if (!secret?.length) continue;
        const m = c.pattern.exec(path);
        if (!m) continue;
        let i = 0;
        return c.route.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
          const value = m[++i]!;
          return secret.includes(name) ? "***" : value;
        });
      }
      return rawPath;
    },

    async handle(req, res, rawPath) {
      const path = normalize(rawPath);
      const candidates = matching(path);
      if (!candidates.length) return false;
      const allowed = [...new Set(candidates.filter((c) => c.route.path === candidates[0]!.route.path).map((c) => c.route.method))];
      if (req.method === "OPTIONS") {
        preflight(req, res, allowed);
        return true;
      }
      allowOrigin(req, res);
      const hit = candidates.find((c) => c.route.method === req.method);
      if (!hit) {
        const route = candidates[0]!.route;
        const allow = allowed.join(", ");
        send(res, route, problem(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed here; use ${allow}`, { headers: { allow } }));
        req.resume();
        return true;
      }
      await serve(hit.route, hit.params, req, res, deps);
      return true;
    },
  };
}

// Cross-origin callers (a browser app on another origin), as GraphQL answers them (yoga's CORS):
// any origin may call, since every route authenticates with a header, never a cookie. A preflight
// needs no credentials and says which methods the path takes.
function preflight(req: IncomingMessage, res: ServerResponse, methods: readonly string[]): void {
  req.resume();
  const requested = req.headers["access-control-request-headers"];
  res
    .writeHead(204, {
      "access-control-allow-origin": req.headers.origin ?? "*",
      "access-control-allow-methods": methods.join(", "),
      "access-control-allow-headers": typeof requested === "string" && requested ? requested : "authorization, content-type",
      "access-control-max-age": "600",
      vary: "Origin, Access-Control-Request-Headers",
      allow: methods.join(", "),
    })
    .end();
}

/** On every answer to a cross-origin request: the caller's origin may read it. */
function allowOrigin(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  if (!origin) return;
  res.setHeader("access-control-allow-origin", origin);
  res.setHeader("vary", "Origin");
}

async function serve(route: RestRoute, rawParams: Record<string, string>, req: IncomingMessage, res: ServerResponse, deps: RestDeps): Promise<void> {
  let caller: RestCaller | undefined;
  if (route.auth.required) {
    let reason = "this request needs credentials";
    try {
      caller = await route.auth.authenticate(req, rawParams, deps.principals);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      reason = error.message;
    }
    if (!caller) {
      req.resume();
      const limited = await countUnauthenticated(req, deps);
      if (limited) {
        return send(res, route, problem(429, "RATE_LIMITED", limited.message, { headers: { "retry-after": String(limited.retryAfterSeconds) } }));
      }
      const challenge = route.auth.challenge ? { "www-authenticate": route.auth.challenge } : undefined;
      return send(res, route, problem(401, "UNAUTHENTICATED", reason, challenge ? { headers: challenge } : {}));
    }
    rememberAuthenticated(req, caller);
  }

  let json: unknown;
  const issues: RestIssue[] = [];
  if (route.body) {
    const limit = deps.services.config.HOOKGATE_MAX_BODY_BYTES;
    const raw = await readBody(req, limit);
    if (raw === TOO_LARGE) {
      const tooLarge = problem(413, "PAYLOAD_TOO_LARGE", `the request body is larger than ${limit} bytes (HOOKGATE_MAX_BODY_BYTES)`);
      return answerTooLarge(req, res, "application/json; charset=utf-8", JSON.stringify(route.errors.body(tooLarge)));
    }
    if (raw.length) {
      try {
        json = JSON.parse(raw.toString("utf8"));
      } catch (error) {
        issues.push({ loc: ["body"], msg: `the body is not JSON: ${(error as Error).message}`, type: "json_invalid" });
      }
    }
  } else {
    req.resume();
  }
  const url = new URL(req.url ?? "/", "http://hookgate.internal");
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] ??= value;
  const params = parse(route.params, rawParams, "path", issues);
  const queryValue = parse(route.query, query, "query", issues);
  const body = route.body && !issues.some((i) => i.type === "json_invalid") ? parse(route.body, json, "body", issues) : undefined;
  if (issues.length) return send(res, route, badRequest(route, issues));

  try {
    const answer = await route.handler({ params, query: queryValue, body, caller, graphql: graphqlRunner(deps.yoga, req), req, config: deps.services.config, clock: deps.services.clock });
    res.writeHead(answer.status, { "content-type": "application/json; charset=utf-8", ...answer.headers }).end(JSON.stringify(answer.body));
  } catch (error) {
    if (!(error instanceof RestGraphQLError)) throw error;
    const answer = graphqlProblem(route, error.errors);
    // A document the route sends that GraphQL refuses, or a masked resolver error: ours to fix.
    if (answer.status >= 500 && answer.code !== "SERVICE_UNAVAILABLE") {
      requestLogger(deps.services.logger).error({ operationId: route.operationId, errors: error.errors }, "REST route's GraphQL operation failed");
    }
    send(res, route, answer);
  }
}

function parse(schema: RestRoute["params"], value: unknown, where: "path" | "query" | "body", issues: RestIssue[]): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  issues.push(...zodIssues(where, result.error));
  return undefined;
}

function send(res: ServerResponse, route: RestRoute, p: RestProblem): void {
  res.writeHead(p.status, { "content-type": "application/json; charset=utf-8", ...p.headers }).end(JSON.stringify(route.errors.body(p)));
}
