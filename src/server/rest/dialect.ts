import { z } from "zod";
import type { ErrorDialect } from "./route.js";

// Hookgate's own error body for REST routes whose original API documents none (Thulium's, the
// OpenAPI document): the GraphQL error's code and message, and for bad input each problem's
// location in the request.

const Issue = z.object({
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  type: z.string(),
});

const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe("The stable error code: BAD_USER_INPUT, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, RATE_LIMITED, …"),
      message: z.string(),
      issues: z.array(Issue).optional().describe("For bad input: what is wrong, and where (FastAPI's loc convention)"),
    }),
  })
  .meta({ id: "HookgateError" });

export const plainErrors: ErrorDialect = {
  badInputStatus: 400,
  body: (p) => ({ error: { code: p.code, message: p.message, ...(p.issues.length ? { issues: p.issues } : {}) } }),
  responses: { default: { description: "A refusal, with its stable code", schema: ErrorBody } },
};
