import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { restRoutes } from "../../src/server/rest/index.js";

let t: TestGateway;
let base: string;
beforeAll(async () => {
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
  base = t.gateway.url!.replace(/\/graphql$/, "");
});
afterAll(async () => t?.close());

describe("GET /openapi.json", () => {
  it("is served without a token and is a valid OpenAPI 3.1 document", async () => {
    const response = await fetch(`${base}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, { operationId: string }>> };
    expect(document.openapi).toBe("3.1.0");
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("describes every declared route, under its path and method, with its operationId", async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId: string }>> };
    const described = Object.entries(document.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`));
    const declared = restRoutes().map((r) => `${r.method} ${r.path} ${r.operationId}`);
    expect(described.sort()).toEqual(declared.sort());
    const operationIds = restRoutes().map((r) => r.operationId);
    expect(new Set(operationIds).size).toBe(operationIds.length);
    expect(declared).toContain("GET /openapi.json openapi");
  });

  it("answers another method on a route's path with 405 and Allow", async () => {
    const response = await fetch(`${base}/openapi.json`, { method: "DELETE" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET");
  });
});
