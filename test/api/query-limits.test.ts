import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

// Documents over a limit are refused before anything runs: no data, a validation error, and
// the gateway keeps answering. Limits are set low here so small documents can cross them.
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({
    HOOKGATE_ROLE: "api",
    HOOKGATE_MAX_QUERY_DEPTH: "4",
    HOOKGATE_MAX_QUERY_ALIASES: "3",
    HOOKGATE_MAX_QUERY_TOKENS: "120",
    HOOKGATE_MAX_QUERY_COST: "60",
  });
});
afterAll(async () => t?.close());

type Result = { status: number; data?: unknown; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] };

function refused(result: Result, pattern: RegExp, code = "GRAPHQL_VALIDATION_FAILED") {
  expect(result.data ?? null).toBeNull();
  expect(result.errors?.length).toBeGreaterThan(0);
  expect(result.errors!.map((e) => e.message).join("\n")).toMatch(pattern);
  expect(result.errors!.map((e) => e.extensions?.code)).toEqual(result.errors!.map(() => code));
}

describe("query limits (graphql-armor) on HTTP", () => {
  it("accepts an ordinary query under every limit", async () => {
    const result = await t.admin.raw("{ me { kind } webhookEvents { totalCount data { id name } } }");
    expect(result.errors).toBeUndefined();
  });

  it("refuses a document deeper than HOOKGATE_MAX_QUERY_DEPTH", async () => {
    const deep = "{ events { edges { node { customer { id } } } } }";
    refused(await t.admin.raw(deep), /depth/i);
  });

  it("refuses more aliases than HOOKGATE_MAX_QUERY_ALIASES", async () => {
    const aliases = Array.from({ length: 5 }, (_, i) => `a${i}: me { kind }`).join(" ");
    refused(await t.admin.raw(`{ ${aliases} }`), /aliases/i);
  });

  it("refuses a document with more tokens than HOOKGATE_MAX_QUERY_TOKENS", async () => {
    // Fragment definitions cost nothing to run but are still tokens to parse.
    const fragments = Array.from({ length: 20 }, (_, i) => `fragment f${i} on Me { kind }`).join(" ");
    refused(await t.admin.raw(`{ me { kind } } ${fragments}`), /token/i, "GRAPHQL_PARSE_FAILED");
  });

  it("refuses a document whose estimated cost is over HOOKGATE_MAX_QUERY_COST", async () => {
    const wide = "webhooks { data { id url isActive eventTypes { id name } service { id title } } }";
    refused(await t.admin.raw(`{ w0: ${wide} w1: ${wide} w2: ${wide} }`), /cost/i);
  });

  it("still answers after refusing", async () => {
    const result = await t.admin.raw("{ me { kind } }");
    expect(result.data).toEqual({ me: { kind: "ADMIN" } });
  });
});
