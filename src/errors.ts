import { GraphQLError } from "graphql";

// The API's error shapes (GraphQL errors with a stable extensions.code). Below every layer that
// refuses something a client asked for: the schema, the live feed and the rate limits all answer
// with them, and none of those should import another for it.

/** The stable codes every rejection carries in extensions.code. */
export type ErrorCode =
  | "BAD_USER_INPUT"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  /** A per-token limit is spent (HTTP 429, with extensions.retryAfterSeconds and Retry-After). */
  | "RATE_LIMITED"
  /** The request body is over HOOKGATE_MAX_BODY_BYTES (HTTP 413). */
  | "PAYLOAD_TOO_LARGE"
  /** HOOKGATE_INTROSPECTION=false. */
  | "INTROSPECTION_DISABLED"
  /** A live subscription fell further behind than HOOKGATE_LIVE_BUFFER; resume with after. */
  | "SLOW_CONSUMER"
  /** The database cannot be reached right now; nothing was written; retry later (HTTP 503). */
  | "SERVICE_UNAVAILABLE"
  /** A query's result passed HOOKGATE_MAX_GRAPHQL_RESPONSE_BYTES while it was being resolved. */
  | "RESPONSE_TOO_LARGE"
  /** A stored secret does not open with this process's HOOKGATE_ENCRYPTION_KEY (extensions.field names it). */
  | "SECRET_UNREADABLE";

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401, SERVICE_UNAVAILABLE: 503 };

export function gatewayError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  const status = HTTP_STATUS[code];
  return new GraphQLError(message, { extensions: { code, ...extra, ...(status ? { http: { status } } : {}) } });
}

/** A bad value in one input field; `field` is the path a client can point at, e.g. "input.url". */
export function badInput(field: string, message: string): GraphQLError {
  return gatewayError("BAD_USER_INPUT", `${field}: ${message}`, { field });
}

export function notFound(what: string): GraphQLError {
  return gatewayError("NOT_FOUND", `${what} does not exist`);
}

/**
 * A webhook that does not exist, or that the caller may not know of (a closed one, another
 * service's): one answer for all, so ids cannot be probed. Here, below every layer, because the
 * GraphQL fields, the webhook rules and the pull queue all give it. With `field`, the argument
 * that named it.
 */
export function webhookNotFound(webhookId: number, field?: string): GraphQLError {
  return gatewayError("NOT_FOUND", `webhook ${webhookId} does not exist`, field ? { field } : {});
}

/** A value that clashes with a stored one; with `field`, named the way badInput names it. */
export function conflict(message: string, field?: string): GraphQLError {
  return field ? gatewayError("CONFLICT", `${field}: ${message}`, { field }) : gatewayError("CONFLICT", message);
}

/** Prisma's "unique constraint failed" error, for turning races into CONFLICT. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2002";
}
