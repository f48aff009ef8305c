import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventDocument } from "../generated/graphql.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { baseOf, openApiSchemas, rest } from "../support/rest.js";

// Thulium's POST/GET /api/webhooks and DELETE /api/webhooks/{id}, called as Thulium's docs show
// (curl -u api_user:api_pass, JSON), the password being a Hookgate service token.

let t: TestGateway;
let base: string;
let receiver: Receiver;
let schemas: (name: string, value: unknown) => string[];
beforeAll(async () => {
  t = await startTestGateway();
  base = baseOf(t.gateway.url!);
  receiver = await startReceiver();
  schemas = openApiSchemas((await rest(base, "GET", "/openapi.json")).json as object);
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

describe("Thulium's webhook API", () => {
  it("creates a webhook whose deliveries carry the Basic auth it asked for, stored sealed and never answered back", async () => {
    const service = await createService(t);
    const action = await createEventType(t, `CHAT_CONVERSATION_CREATED_${service.id}`, { conversation_id: 1 });
    const created = await rest(base, "POST", "/api/webhooks", {
      basic: { user: "api_user", password: service.token },
      body: { actions: [action.name], subscription_url: receiver.url("/thulium"), http_auth_user: "thulium", http_auth_password: "s3cret" },
    });
    expect(created.status).toBe(200);
    expect(schemas("ThuliumWebhook", created.json)).toEqual([]);
    expect(created.json).toMatchObject({ actions: [action.name], subscription_url: receiver.url("/thulium"), http_auth_user: "thulium", http_auth_password: "" });
    const id = (created.json as { id: number }).id;

    // The same webhook through GraphQL, and the password sealed in the store.
    const viaGraphql = (await service.client.raw(`{ webhooks { data { id url auth { type username } eventTypes { name } } } }`)) as { data: { webhooks: { data: unknown[] } } };
    expect(viaGraphql.data.webhooks.data).toEqual([{ id: String(id), url: receiver.url("/thulium"), auth: { type: "BASIC", username: "thulium" }, eventTypes: [{ name: action.name }] }]);
    const row = await t.gateway.database.prisma.webhook.findUniqueOrThrow({ where: { id }, select: { authSecretSealed: true } });
    expect(row.authSecretSealed).toMatch(/^v1\./);
    expect(row.authSecretSealed).not.toContain("s3cret");

    await t.admin.ok(PublishEventDocument, { input: { eventName: action.name, payload: { conversation_id: 5 } } });
    const call = await eventually(() => receiver.requests.find((r) => r.path === "/thulium"));
    expect(call.headers.authorization).toBe(`Basic ${Buffer.from("thulium:s3cret").toString("base64")}`);
    expect(JSON.parse(call.body)).toMatchObject({ type: action.name, data: { conversation_id: 5 } });
  });

  it("takes the right password only, and lists and deletes only the caller's webhooks", async () => {
    const a = await createService(t);
    const b = await createService(t);
    const type = await createEventType(t);
    const hookB = await createWebhook(b.client, { eventIds: [type.id] });

    const body = { actions: [type.name], subscription_url: "https://crm.example/thulium" };
    const wrong = await rest(base, "POST", "/api/webhooks", { basic: { user: "api_user", password: "hg_svc_wrong" }, body });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect(wrong.json).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
    expect((await rest(base, "POST", "/api/webhooks", { body })).status).toBe(401);

    const made = await rest(base, "POST", "/api/webhooks", { basic: { user: "api_user", password: a.token }, body });
    expect(made.status).toBe(200);
    const listed = await rest(base, "GET", "/api/webhooks", { basic: { user: "anyone", password: a.token } });
    expect(listed.status).toBe(200);
    expect(schemas("ThuliumWebhook", (listed.json as unknown[])[0])).toEqual([]);
    expect(listed.json).toEqual([{ id: (made.json as { id: number }).id, actions: [type.name], subscription_url: "https://crm.example/thulium", http_auth_user: "", http_auth_password: "" }]);

    // B's webhook: refused to A, kept.
    const denied = await rest(base, "DELETE", `/api/webhooks/${hookB.webhook.id}`, { basic: { user: "api_user", password: a.token } });
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ error: { code: "FORBIDDEN" } });
    const deleted = await rest(base, "DELETE", `/api/webhooks/${(made.json as { id: number }).id}`, { basic: { user: "api_user", password: a.token } });
    expect(deleted.status).toBe(200);
    expect((await rest(base, "GET", "/api/webhooks", { basic: { user: "api_user", password: a.token } })).json).toEqual([]);
    const stillB = (await b.client.raw(`{ webhooks { totalCount } }`)) as { data: { webhooks: { totalCount: number } } };
    expect(stillB.data.webhooks.totalCount).toBe(1);
    // B's webhook, made in GraphQL, in Thulium's shape (a trailing slash is the same path).
    const listedB = await rest(base, "GET", "/api/webhooks/", { basic: { user: "api_user", password: b.token } });
    expect(listedB.json).toEqual([{ id: Number(hookB.webhook.id), actions: [type.name], subscription_url: "https://receiver.example/hook", http_auth_user: "", http_auth_password: "" }]);
  });

  it("answers bad input with 400, naming Thulium's fields, and creates nothing", async () => {
    const s = await createService(t);
    const basic = { user: "api_user", password: s.token };
    const missing = await rest(base, "POST", "/api/webhooks", { basic, body: { actions: [] } });
    expect(missing.status).toBe(400);
    expect((missing.json as { error: { issues: { loc: string[] }[] } }).error.issues.map((i) => i.loc.join(".")).sort()).toEqual(["body.actions", "body.subscription_url"]);
    // An action that is no event type: createWebhook's NOT_FOUND, as in GraphQL.
    const unknown = await rest(base, "POST", "/api/webhooks", { basic, body: { actions: ["NO_SUCH_ACTION"], subscription_url: "https://crm.example/" } });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: { code: "NOT_FOUND", message: expect.stringContaining("NO_SUCH_ACTION") } });
    const action = (await createEventType(t)).name;
    const badUrl = await rest(base, "POST", "/api/webhooks", { basic, body: { actions: [action], subscription_url: "not a url" } });
    expect(badUrl.status).toBe(400);
    expect(badUrl.json).toMatchObject({ error: { code: "BAD_USER_INPUT", issues: [{ loc: ["body", "subscription_url"] }] } });
    const noUser = await rest(base, "POST", "/api/webhooks", { basic, body: { actions: [action], subscription_url: "https://crm.example/", http_auth_password: "only-a-password" } });
    expect(noUser.status).toBe(400);
    expect(noUser.json).toMatchObject({ error: { code: "BAD_USER_INPUT", issues: [{ loc: ["body", "http_auth_user"] }] } });
    expect((await rest(base, "GET", "/api/webhooks", { basic })).json).toEqual([]);
  });
});
