import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidTokenError, type Principal, type PrincipalResolver } from "../auth/principal.js";
import type { GatewayServices } from "../schema/context.js";
import type { ClientAddress } from "./client-address.js";
import { rateLimitKey } from "../auth/rate-limits.js";

/** Who an HTTP request to /graphql is, found before its body is read or its document parsed. */
export interface Authenticated {
  readonly principal: Principal;
  /** The key the per-token limits count it under (a hash of its token). */
  readonly rateLimitKey: string;
}

const authenticated = new WeakMap<IncomingMessage, Authenticated>();

/** What authenticateRequest found for this request (yoga's context reads it). */
export function authenticatedAs(req: unknown): Authenticated | undefined {
  return authenticated.get(req as IncomingMessage);
}

/**
 * Records who a request is when another transport authenticated it (the REST routes: a bearer
 * token, HTTP Basic, a token in the path), so the GraphQL operations it runs see that caller.
 */
export function rememberAuthenticated(req: IncomingMessage, who: Authenticated): void {
  authenticated.set(req, who);
}

/**
 * Counts a request without a valid token against its client address's
 * HOOKGATE_RATE_LIMIT_UNAUTHENTICATED; when that is spent, says so and how long to wait.
 */
export async function countUnauthenticated(
  req: IncomingMessage,
  deps: { services: GatewayServices; clientAddress: ClientAddress },
): Promise<{ readonly message: string; readonly retryAfterSeconds: number } | undefined> {
  try {
    await deps.services.rateLimits.consume(`ip:${deps.clientAddress(req)}`, "unauthenticated");
    return undefined;
  } catch (error) {
    const ext = (error as { extensions?: { retryAfterSeconds?: number } }).extensions;
    if (ext?.retryAfterSeconds === undefined) throw error;
    return { message: (error as Error).message, retryAfterSeconds: ext.retryAfterSeconds };
  }
}

/**
 * Every GraphQL request over HTTP needs a valid token, and it is checked first: a document is
 * only read, parsed and validated for a known principal, so a stream of unique, expensive
 * documents without a token costs a hash and (for a token of a known shape) one indexed lookup
 * each. A request without a valid token gets 401 with `WWW-Authenticate: Bearer` and a
 * GraphQL-shaped UNAUTHENTICATED error, and counts against its client address's
 * HOOKGATE_RATE_LIMIT_UNAUTHENTICATED (past it: 429). Anonymous clients may load the GraphiQL page
 * (GET with Accept: text/html) and send CORS preflights; nothing else, introspection included.
 *
 * Returns true when the request may go on to yoga; otherwise the answer has been sent.
 */
export async function authenticateRequest(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { services: GatewayServices; principals: PrincipalResolver; clientAddress: ClientAddress },
): Promise<boolean> {
  const authorization = req.headers.authorization;
  let reason = "this request needs Authorization: Bearer <token> (an admin, service or customer token)";
  let invalid = false;
  try {
    const principal = await deps.principals.resolve(authorization);
    if (principal) {
      authenticated.set(req, { principal, rateLimitKey: rateLimitKey(authorization, undefined) });
      return true;
    }
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error;
    reason = error.message;
    invalid = true;
  }
  const { config } = deps.services;
  const graphiqlPage = config.HOOKGATE_GRAPHIQL && req.method === "GET" && !!req.headers.accept?.includes("text/html");
  const preflight = req.method === "OPTIONS";
  const limited = await countUnauthenticated(req, deps);
  if (limited) {
    const { message, retryAfterSeconds } = limited;
    refuse(req, res, 429, { "retry-after": String(retryAfterSeconds) }, message, { code: "RATE_LIMITED", retryAfterSeconds });
    return false;
  }
  if (graphiqlPage || preflight) return true;
  // RFC 6750: a bad token says invalid_token; a missing one gets the bare challenge.
  const challenge = invalid ? `Bearer error="invalid_token"` : "Bearer";
  refuse(req, res, 401, { "www-authenticate": challenge }, reason, { code: "UNAUTHENTICATED" });
  return false;
}

/** Answers without reading the document; what is left of the body is drained, not parsed. */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  message: string,
  extensions: Record<string, unknown>,
): void {
  req.resume();
  const json = req.headers.accept?.includes("application/graphql-response+json")
    ? "application/graphql-response+json; charset=utf-8"
    : "application/json; charset=utf-8";
  res.writeHead(status, { "content-type": json, ...headers }).end(JSON.stringify({ errors: [{ message, extensions }] }));
}
