import type { GraphQLFormattedError } from "graphql";
import type { z } from "zod";
import type { Location, RestIssue, RestProblem, RestRoute } from "./route.js";

// How refusals become HTTP: the API's stable error codes (src/errors.ts) to statuses, zod's
// issues and GraphQL's `extensions.field` to locations in the request. One table for every route.

const STATUS: Readonly<Record<string, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  // A list too large to answer: the client asks for a smaller page.
  RESPONSE_TOO_LARGE: 400,
};

export function problem(status: number, code: string, message: string, extra: Partial<RestProblem> = {}): RestProblem {
  return { status, code, message, issues: [], ...extra };
}

/** A request whose input is wrong: the route's bad-input status, every issue listed. */
export function badRequest(route: RestRoute, issues: readonly RestIssue[]): RestProblem {
  return problem(route.errors.badInputStatus, "BAD_USER_INPUT", issues.map((i) => `${i.loc.join(".")}: ${i.msg}`).join("; "), { issues });
}

/** zod's issues, located under "path", "query" or "body" (FastAPI's loc convention). */
export function zodIssues(where: "path" | "query" | "body", error: z.ZodError): RestIssue[] {
  return error.issues.map((issue) => ({
    loc: [where, ...issue.path.map((p) => (typeof p === "number" ? p : String(p)))],
    msg: issue.message,
    type: issueType(issue),
  }));
}

function issueType(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type") {
    if ((issue as { input?: unknown }).input === undefined) return "missing";
    return `${issue.expected}_type`;
  }
  if (issue.code === "too_small" || issue.code === "too_big") return `${issue.origin}_${issue.code}`;
  return issue.code;
}

/** The first GraphQL error, as the refusal it stands for. */
export function graphqlProblem(route: RestRoute, errors: readonly GraphQLFormattedError[]): RestProblem {
  const first = errors[0];
  const code = String(first?.extensions?.code ?? "INTERNAL_SERVER_ERROR");
  const message = first?.message ?? "the operation failed";
  if (code === "BAD_USER_INPUT") {
    return badRequest(
      route,
      errors.map((e) => {
        const field = typeof e.extensions?.field === "string" ? e.extensions.field : undefined;
        const loc = field ? (route.fieldLocation?.(field) ?? defaultLocation(route, field)) : ["body"];
        // The message names the field already ("input.url: …"); the location says it the route's way.
        return { loc, msg: field && e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message, type: "value_error" };
      }),
    );
  }
  const retryAfter = first?.extensions?.retryAfterSeconds;
  const headers = typeof retryAfter === "number" ? { "retry-after": String(retryAfter) } : undefined;
  return problem(STATUS[code] ?? 500, STATUS[code] ? code : "INTERNAL_SERVER_ERROR", STATUS[code] ? message : "Unexpected error.", headers ? { headers } : {});
}

/**
 * "input.eventIds[2]" → ["body", "event_ids", 2]; an argument that is a path or query
 * parameter of the route ("webhookId") → ["path", "webhook_id"].
 */
export function defaultLocation(route: RestRoute, field: string): Location {
  const parts = field
    .replace(/^input\./, "")
    .split(/\.|\[(\d+)\]/)
    .filter((p) => p !== undefined && p !== "")
    .map((p) => (/^\d+$/.test(p) ? Number(p) : snakeCase(p)));
  const head = String(parts[0] ?? "");
  if (keysOf(route.params).includes(head)) return ["path", ...parts];
  if (keysOf(route.query).includes(head)) return ["query", ...parts];
  return ["body", ...parts];
}

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function keysOf(schema: z.ZodType | undefined): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}
