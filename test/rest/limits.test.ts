import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createService } from "../support/fixtures.js";
import { baseOf, rest } from "../support/rest.js";

// The REST routes live under GraphQL's limits: the same per-token allowances (a REST call is
// counted as the GraphQL operation it runs), the same body-size bound and unauthenticated limit.

let t: TestGateway;
let base: string;
beforeAll(async () => {
  t = await startTestGateway({
    HOOKGATE_ROLE: "api",
    HOOKGATE_RATE_LIMIT_QUERIES: "3",
    HOOKGATE_RATE_LIMIT_UNAUTHENTICATED: "2",
    HOOKGATE_MAX_BODY_BYTES: "300000",
  });
  base = baseOf(t.gateway.url!);
});
afterAll(async () => t?.close());

describe("REST routes and the gateway's limits", () => {
  it("counts a token's REST and GraphQL queries against one allowance, answering 429 with Retry-After", async () => {
    const s = await createService(t);
    expect((await rest(base, "GET", "/v1/webhooks", { token: s.token })).status).toBe(200);
    expect((await s.client.raw("{ webhooks { totalCount } }")).status).toBe(200);
    expect((await rest(base, "GET", "/api/webhooks", { basic: { user: "x", password: s.token } })).status).toBe(200);
    const limited = await rest(base, "GET", "/v1/webhooks", { token: s.token });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.json).toMatchObject({ code: "RATE_LIMITED" });
  });

  it("refuses a body over HOOKGATE_MAX_BODY_BYTES with 413 before running anything", async () => {
    const s = await createService(t);
    const big = await rest(base, "POST", "/v1/webhooks", { token: s.token, body: { url: "https://a.example/", request_method: "POST", event_ids: [1], pad: "x".repeat(400_000) } });
    expect(big.status).toBe(413);
    expect(big.json).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });

  it("counts requests without a valid token per address, as on /graphql", async () => {
    // The earlier tests spent none of it; two more are allowed, then 429.
    expect((await rest(base, "GET", "/v1/webhooks")).status).toBe(401);
    expect((await rest(base, "GET", "/api/webhooks", { basic: { user: "x", password: "wrong" } })).status).toBe(401);
    const limited = await rest(base, "GET", "/v1/webhooks");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).not.toBeNull();
  });
});
