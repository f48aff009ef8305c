import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createService } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { baseOf } from "../support/rest.js";

// A browser app on another origin calls the REST routes as it calls /graphql: the preflight is
// answered without credentials, and the answers carry the origin they may be read from.

const ORIGIN = "https://app.example";
let t: TestGateway;
let base: string;
beforeAll(async () => {
  t = await startTestGateway();
  base = baseOf(t.gateway.url!);
});
afterAll(async () => t?.close());

const preflight = (path: string, method: string) =>
  request(`${base}${path}`, {
    method: "OPTIONS",
    headers: { origin: ORIGIN, "access-control-request-method": method, "access-control-request-headers": "authorization, content-type" },
  });

describe("REST routes from another origin", () => {
  it("answers a preflight with the path's methods and the asked headers, as /graphql answers its own", async () => {
    const rest = await preflight("/v1/webhooks", "POST");
    expect(rest.statusCode).toBe(204);
    await rest.body.dump();
    expect(rest.headers["access-control-allow-origin"]).toBe(ORIGIN);
    expect(String(rest.headers["access-control-allow-methods"]).split(", ").sort()).toEqual(["GET", "POST"]);
    expect(String(rest.headers["access-control-allow-headers"]).toLowerCase()).toContain("authorization");

    const graphql = await preflight("/graphql", "POST");
    await graphql.body.dump();
    expect(graphql.statusCode).toBeLessThan(300);
    expect(graphql.headers["access-control-allow-origin"]).toBe(ORIGIN);

    // A path with a token in it (Green API) too, and nothing is run or logged as a call.
    const green = await preflight("/waInstance1/getSettings/some-token", "GET");
    await green.body.dump();
    expect(green.statusCode).toBe(204);
  });

  it("lets the calling origin read answers, refusals included", async () => {
    const s = await createService(t);
    const ok = await request(`${base}/v1/webhooks`, { headers: { origin: ORIGIN, authorization: `Bearer ${s.token}` } });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    expect(ok.headers["access-control-allow-origin"]).toBe(ORIGIN);
    const refused = await request(`${base}/v1/webhooks`, { headers: { origin: ORIGIN } });
    expect(refused.statusCode).toBe(401);
    await refused.body.dump();
    expect(refused.headers["access-control-allow-origin"]).toBe(ORIGIN);
    // Without an Origin (a server-side client), nothing is added.
    const plain = await request(`${base}/v1/webhooks`, { headers: { authorization: `Bearer ${s.token}` } });
    await plain.body.dump();
    expect(plain.headers["access-control-allow-origin"]).toBeUndefined();
  });
});
