// What a new user or a standard client trips on first (issue 13): an admin's createWebhook
// without serviceId, validation errors over the websocket, and /metrics under promtool's rules.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventType, createService } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/receiver.js";
import { collect, wsClient } from "../support/live.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t?.close();
});

describe("createWebhook by an admin", () => {
  it("without serviceId says that an admin must give serviceId, and creates nothing", async () => {
    const type = await createEventType(t);
    const result = await t.admin.raw(`mutation { createWebhook(input: { eventIds: ["${type.id}"], url: "https://a.example/hook" }) { webhook { id } } }`);
    const error = (result as { errors?: { message: string; extensions?: Record<string, unknown> }[] }).errors?.[0];
    expect(error?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(error?.extensions?.field).toBe("input.serviceId");
    expect(error?.message).toMatch(/admin token must give serviceId/);
    const listed = await t.admin.raw(`{ webhookEvents(perPage: 1) { totalCount } }`);
    expect(listed).not.toHaveProperty("errors");
  });

  it("with serviceId creates it, and a service token still may omit it", async () => {
    const type = await createEventType(t);
    const service = await createService(t);
    const byAdmin = await t.admin.raw(`mutation { createWebhook(input: { serviceId: "${service.id}", eventIds: ["${type.id}"], url: "https://a.example/hook" }) { webhook { id } } }`);
    expect(byAdmin).not.toHaveProperty("errors");
    const byService = await service.client.raw(`mutation { createWebhook(input: { eventIds: ["${type.id}"], url: "https://b.example/hook" }) { webhook { id } } }`);
    expect(byService).not.toHaveProperty("errors");
  });
});

describe("validation errors over the websocket", () => {
  it("carry no extensions.http, as over HTTP", async () => {
    const client = wsClient(t.gateway.url!, t.admin.token);
    try {
      const received = collect(client, "subscription { eventPublished { noSuchField } }");
      const errors = await eventually(() => received.error as unknown as { message: string; extensions?: Record<string, unknown> }[] | undefined);
      expect(errors[0]?.message).toMatch(/noSuchField/);
      expect(errors[0]?.extensions ?? {}).not.toHaveProperty("http");
      const overHttp = await t.admin.raw("subscription { eventPublished { noSuchField } }");
      const httpError = overHttp.errors?.[0];
      expect(httpError?.extensions ?? {}).not.toHaveProperty("http");
    } finally {
      await client.dispose();
    }
  });
});

describe("GET /metrics under promtool's naming rules", () => {
  it("has no gauge or histogram ending in _total, and every counter ends in it", async () => {
    const text = await (await fetch(new URL("/metrics", t.gateway.url!))).text();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name: name!, type: type! }));
    expect(types.length).toBeGreaterThan(10);
    const wrong = types.filter(({ name, type }) => (type === "counter") !== name.endsWith("_total"));
    expect(wrong).toEqual([]);
    // The per-type gauges prom-client sums into the dropped ones are still there.
    expect(types.map((m) => m.name)).toContain("hookgate_nodejs_active_handles");
  });
});
