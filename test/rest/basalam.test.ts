import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventDocument } from "../generated/graphql.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createCustomer, createEventType, createService, createWebhook } from "../support/fixtures.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { baseOf, openApiSchemas, rest, type RestAnswer } from "../support/rest.js";

// Basalam's webhook API over real HTTP, with the request shapes of Basalam's SDKs, every answer
// checked against the schemas of Basalam's own OpenAPI document (a copy beside this file).

const basalam = openApiSchemas(fileURLToPath(new URL("./basalam-webhook-openapi.json", import.meta.url)));

/** The answer's status, and its body valid against Basalam's schema of that name. */
function expectBasalam(answer: RestAnswer, status: number, schema: string): Record<string, unknown> {
  expect({ status: answer.status, body: answer.json }).toMatchObject({ status });
  expect(basalam(schema, answer.json)).toEqual([]);
  return answer.json as Record<string, unknown>;
}

let t: TestGateway;
let base: string;
let receiver: Receiver;
beforeAll(async () => {
  t = await startTestGateway();
  base = baseOf(t.gateway.url!);
  receiver = await startReceiver();
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

const adminToken = () => t.admin.token!;

describe("Basalam's webhook API", () => {
  it("checks against a validator that refuses what Basalam's schemas refuse", () => {
    expect(basalam("WebhookResource", { id: "1", service_id: 1 })).not.toEqual([]);
    expect(basalam("HTTPValidationError", { detail: [{ loc: ["body"], msg: "x" }] })).not.toEqual([]);
  });

  it("runs the SDK's whole flow, each answer valid against Basalam's schemas and visible through GraphQL", async () => {
    // createWebhookService (admin): the service's token comes with the answer, once.
    const created = expectBasalam(
      await rest(base, "POST", "/v1/webhooks/services", { token: adminToken(), body: { title: "My Webhook Service", description: "Service for handling order notifications" } }),
      200,
      "ServiceResource",
    );
    expect(created).toMatchObject({ title: "My Webhook Service", is_active: true, is_verified: true });
    const serviceToken = created.token as string;
    expect(serviceToken).toMatch(/^hg_svc_/);
    const serviceId = created.id as number;
    const service = t.as(serviceToken);
    const seen = (await service.raw(`{ me { service { id title } } }`)) as { data: { me: { service: { id: string; title: string } } } };
    expect(seen.data.me.service).toEqual({ id: String(serviceId), title: "My Webhook Service" });

    const chat = await createEventType(t, `CHAT_RECEIVED_MESSAGE_${serviceId}`, { id: 0, chat_id: 0, message: { text: "string" } });
    const order = await createEventType(t, `ORDER_CREATED_${serviceId}`);

    // getWebhookEvents
    const events = expectBasalam(await rest(base, "GET", "/v1/webhooks/events?per_page=100", { token: serviceToken }), 200, "EventListResource");
    const chatResource = (events.data as { id: number }[]).find((e) => e.id === Number(chat.id));
    expect(chatResource).toEqual({
      id: Number(chat.id),
      name: chat.name,
      description: "",
      sample_data: { id: 0, chat_id: 0, message: { text: "string" } },
      scopes: "customer.chat.read",
    });

    // createWebhook, as the PHP SDK's example sends it (Content-Type: application/json is what Hookgate sends anyway).
    const webhook = expectBasalam(
      await rest(base, "POST", "/v1/webhooks", {
        token: serviceToken,
        body: {
          service_id: serviceId,
          event_ids: [Number(chat.id), Number(order.id)],
          request_headers: "Content-Type: application/json\nX-Shop: 42",
          request_method: "POST",
          url: receiver.url("/basalam"),
          is_active: true,
          // What integrations send on their first registration; the webhook is the calling service's anyway.
          register_me: true,
        },
      }),
      200,
      "WebhookResource",
    );
    expect(webhook).toMatchObject({ service_id: serviceId, request_headers: { "X-Shop": "42" }, request_method: "POST", url: receiver.url("/basalam"), is_active: true });
    expect((webhook.events as { name: string }[]).map((e) => e.name)).toEqual([chat.name, order.name]);
    expect(webhook.signing_secret).toMatch(/^whsec_/);
    const webhookId = webhook.id as number;
    const viaGraphql = (await service.raw(`{ webhooks { data { id url openToCustomers requestHeaders { name value } eventTypes { id } } } }`)) as {
      data: { webhooks: { data: unknown[] } };
    };
    expect(viaGraphql.data.webhooks.data).toEqual([
      { id: String(webhookId), url: receiver.url("/basalam"), openToCustomers: true, requestHeaders: [{ name: "X-Shop", value: "42" }], eventTypes: [{ id: chat.id }, { id: order.id }] },
    ]);

    // getWebhooks(serviceId, "1,2,3")
    const listed = expectBasalam(
      await rest(base, "GET", `/v1/webhooks?service_id=${serviceId}&event_ids=${order.id},999999`, { token: serviceToken }),
      200,
      "WebhookListResource",
    );
    expect(listed).toMatchObject({ result_count: 1, total_count: 1, total_page: 1, page: 1, per_page: 10 });
    expect((listed.data as { id: number }[]).map((w) => w.id)).toEqual([webhookId]);

    // updateWebhook
    const updated = expectBasalam(
      await rest(base, "PATCH", `/v1/webhooks/${webhookId}`, {
        token: serviceToken,
        body: { event_ids: [Number(chat.id)], request_headers: "X-Shop: 43", request_method: "PUT", url: null, is_active: null },
      }),
      200,
      "WebhookResource",
    );
    expect(updated).toMatchObject({ id: webhookId, request_headers: { "X-Shop": "43" }, request_method: "PUT", url: receiver.url("/basalam"), is_active: true });
    expect((updated.events as { id: number }[]).map((e) => e.id)).toEqual([Number(chat.id)]);

    // A customer registers itself (registerWebhook), is listed (getWebhookCustomers), lists its webhooks (getRegisteredWebhooks).
    const customer = await createCustomer(t);
    const client = expectBasalam(await rest(base, "POST", "/v1/customers/webhooks", { token: customer.token, body: { webhook_id: webhookId } }), 200, "ClientResource");
    expect(client).toMatchObject({ id: Number(customer.id), customer_id: Number(customer.id), webhook_id: webhookId });
    const customers = expectBasalam(
      await rest(base, "GET", `/v1/webhooks/customers?page=1&per_page=10&webhook_id=${webhookId}`, { token: serviceToken }),
      200,
      "ClientListResource",
    );
    expect(customers).toMatchObject({ result_count: 1, total_count: 1, data: [{ customer_id: Number(customer.id), webhook_id: webhookId }] });
    const mine = expectBasalam(
      await rest(base, "GET", `/v1/customers/webhooks?page=1&per_page=10&service_id=${serviceId}`, { token: customer.token }),
      200,
      "WebhookRegisteredOnListResource",
    );
    expect(mine).toMatchObject({ total_count: 1, data: [{ id: webhookId, service_id: serviceId, customer_id: Number(customer.id), is_active: true }] });
    // A customer reads webhooks without what only their service may see.
    const asCustomer = expectBasalam(await rest(base, "GET", "/v1/webhooks", { token: customer.token }), 200, "WebhookListResource");
    expect(asCustomer.data).toMatchObject([{ id: webhookId, url: null, request_headers: null, request_method: null }]);

    // An event about the customer is delivered (with the PUT and header the REST update asked for) and logged.
    await t.admin.ok(PublishEventDocument, { input: { eventName: chat.name, customerId: customer.id, payload: { chat_id: 7 } } });
    const call = await eventually(() => receiver.requests.find((r) => r.path === "/basalam"));
    expect(call.method).toBe("PUT");
    expect(call.headers["x-shop"]).toBe("43");
    expect(JSON.parse(call.body)).toMatchObject({ type: chat.name, data: { chat_id: 7 } });
    const logs = await eventually(async () => {
      const answer = await rest(base, "GET", `/v1/webhooks/${webhookId}/logs`, { token: serviceToken });
      const body = answer.json as { data: { status: string }[] };
      return body.data[0]?.status === "SUCCEEDED" ? answer : undefined;
    });
    const log = expectBasalam(logs, 200, "WebhookLogListResource");
    expect(log.data).toMatchObject([{ user_id: Number(customer.id), status_code: 200, attempt_count: 1, request: { method: "PUT", url: receiver.url("/basalam") } }]);

    // unregisterWebhook by the customer (customer_id left out: its own), then the webhook is deleted.
    const gone = expectBasalam(
      await rest(base, "DELETE", "/v1/customers/webhooks", { token: customer.token, body: { webhook_id: webhookId } }),
      200,
      "UnRegisterClientResponse",
    );
    expect(gone).toMatchObject({ webhook_id: webhookId, customer_id: Number(customer.id) });
    const deleted = expectBasalam(await rest(base, "DELETE", `/v1/webhooks/${webhookId}`, { token: serviceToken }), 200, "DeleteWebhookResponse");
    expect(deleted.id).toBe(webhookId);
    const after = (await service.raw(`{ webhooks { totalCount } }`)) as { data: { webhooks: { totalCount: number } } };
    expect(after.data.webhooks.totalCount).toBe(0);
  });

  it("shows objects made through GraphQL, and a service token sees and changes only its own", async () => {
    const a = await createService(t);
    const b = await createService(t);
    const type = await createEventType(t);
    const hookA = await createWebhook(a.client, { eventIds: [type.id] });
    const hookB = await createWebhook(b.client, { eventIds: [type.id] });

    const servicesA = expectBasalam(await rest(base, "GET", "/v1/webhooks/services", { token: a.token }), 200, "ServiceListResource");
    expect((servicesA.data as { id: number }[]).map((s) => s.id)).toEqual([Number(a.id)]);
    // Basalam's Python SDK calls the same at /v1/services.
    const viaPython = expectBasalam(await rest(base, "GET", "/v1/services", { token: a.token }), 200, "ServiceListResource");
    expect(viaPython).toEqual(servicesA);
    const pythonCreated = expectBasalam(
      await rest(base, "POST", "/v1/services", { token: adminToken(), body: { title: "From the Python SDK", description: "request.dict()" } }),
      200,
      "ServiceResource",
    );
    expect(pythonCreated.token).toMatch(/^hg_svc_/);
    const webhooksA = expectBasalam(await rest(base, "GET", "/v1/webhooks", { token: a.token }), 200, "WebhookListResource");
    expect((webhooksA.data as { id: number }[]).map((w) => w.id)).toEqual([Number(hookA.webhook.id)]);
    expect(webhooksA.data).toMatchObject([{ url: "https://receiver.example/hook", request_headers: {} }]);

    // Another service's webhook: refused, and nothing changes.
    const patch = await rest(base, "PATCH", `/v1/webhooks/${hookB.webhook.id}`, { token: a.token, body: { is_active: false } });
    expect(patch.status).toBe(403);
    expect(patch.json).toMatchObject({ detail: expect.any(String), code: "FORBIDDEN" });
    expect((await rest(base, "DELETE", `/v1/webhooks/${hookB.webhook.id}`, { token: a.token })).status).toBe(403);
    expect((await rest(base, "GET", `/v1/webhooks/${hookB.webhook.id}/logs`, { token: a.token })).status).toBe(403);
    expect((await rest(base, "GET", `/v1/webhooks/customers?webhook_id=${hookB.webhook.id}`, { token: a.token })).status).toBe(403);
    const b2 = (await b.client.raw(`{ webhooks { data { id isActive } } }`)) as { data: { webhooks: { data: unknown[] } } };
    expect(b2.data.webhooks.data).toEqual([{ id: hookB.webhook.id, isActive: true }]);
    // Only the admin creates services.
    const denied = await rest(base, "POST", "/v1/webhooks/services", { token: a.token, body: { title: "Not mine", description: "" } });
    expect(denied.status).toBe(403);
  });

  it("answers bad input with 422 and every problem's loc, in Basalam's HTTPValidationError shape, writing nothing", async () => {
    const s = await createService(t);
    const type = await createEventType(t);
    const before = (await s.client.raw(`{ webhooks { totalCount } }`)) as { data: { webhooks: { totalCount: number } } };

    const missing = expectBasalam(
      await rest(base, "POST", "/v1/webhooks", { token: s.token, body: { event_ids: [], request_method: "GET" } }),
      422,
      "HTTPValidationError",
    );
    const locs = (missing.detail as { loc: unknown[]; type: string }[]).map((d) => d.loc.join("."));
    expect(locs.sort()).toEqual(["body.event_ids", "body.request_method", "body.url"]);
    expect((missing.detail as { loc: unknown[]; type: string }[]).find((d) => d.loc[1] === "url")?.type).toBe("missing");

    // Hookgate's own rules, answered by the GraphQL operation, located in Basalam's terms.
    const badUrl = expectBasalam(
      await rest(base, "POST", "/v1/webhooks", { token: s.token, body: { event_ids: [Number(type.id)], request_method: "POST", url: "ftp://files.example/in" } }),
      422,
      "HTTPValidationError",
    );
    expect(badUrl.detail).toEqual([{ loc: ["body", "url"], msg: expect.stringContaining("ftp"), type: "value_error" }]);
    const badHeader = expectBasalam(
      await rest(base, "POST", "/v1/webhooks", { token: s.token, body: { event_ids: [Number(type.id)], request_method: "POST", url: "https://ok.example/", request_headers: "Host: evil" } }),
      422,
      "HTTPValidationError",
    );
    expect(badHeader.detail).toMatchObject([{ loc: ["body", "request_headers"] }]);
    const badId = expectBasalam(await rest(base, "PATCH", "/v1/webhooks/abc", { token: s.token, body: {} }), 422, "HTTPValidationError");
    expect(badId.detail).toMatchObject([{ loc: ["path", "webhook_id"] }]);
    const badJson = expectBasalam(await rest(base, "POST", "/v1/webhooks", { token: s.token, rawBody: "{not json" }), 422, "HTTPValidationError");
    expect(badJson.detail).toMatchObject([{ loc: ["body"], type: "json_invalid" }]);
    const badPage = expectBasalam(await rest(base, "GET", "/v1/webhooks/events?per_page=100000", { token: s.token }), 422, "HTTPValidationError");
    expect(badPage.detail).toMatchObject([{ loc: ["query", "per_page"] }]);
    const noWebhook = expectBasalam(await rest(base, "GET", "/v1/webhooks/customers?page=1&per_page=10", { token: s.token }), 422, "HTTPValidationError");
    expect(noWebhook.detail).toMatchObject([{ loc: ["query", "webhook_id"] }]);
    const noCustomer = expectBasalam(await rest(base, "DELETE", "/v1/customers/webhooks", { token: s.token, body: { webhook_id: 1 } }), 422, "HTTPValidationError");
    expect(noCustomer.detail).toMatchObject([{ loc: ["body", "customer_id"], type: "missing" }]);

    // Numbers past what ids and pages can be: refused as input, never a 500 (as the admin, whom no
    // scope stops first: for a service, another service's webhook id, even an impossible one, is
    // GraphQL's FORBIDDEN).
    const huge = 2 ** 31;
    expect((await rest(base, "PATCH", `/v1/webhooks/${huge}`, { token: s.token, body: { is_active: true } })).status).toBe(403);
    for (const [method, path, body] of [
      ["PATCH", `/v1/webhooks/${huge}`, { is_active: true }],
      ["GET", `/v1/webhooks?service_id=${huge}`, undefined],
      ["GET", `/v1/webhooks/events?page=${huge}`, undefined],
      ["GET", `/v1/webhooks/${huge}/logs?page=3`, undefined],
      ["POST", "/v1/webhooks", { service_id: Number(s.id), event_ids: [huge], request_method: "POST", url: "https://ok.example/" }],
      ["POST", "/v1/customers/webhooks", { webhook_id: 1e300 }],
    ] as const) {
      const answer = await rest(base, method, path, { token: adminToken(), ...(body ? { body } : {}) });
      expect({ path, status: answer.status }).toEqual({ path, status: 422 });
      expect(basalam("HTTPValidationError", answer.json)).toEqual([]);
    }
    const after = (await s.client.raw(`{ webhooks { totalCount } }`)) as { data: { webhooks: { totalCount: number } } };
    expect(after.data.webhooks.totalCount).toBe(before.data.webhooks.totalCount);
    // A webhook that does not exist.
    const missingHook = await rest(base, "DELETE", "/v1/webhooks/987654", { token: adminToken() });
    expect(missingHook.status).toBe(404);
    expect(missingHook.json).toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses a request without a valid token with 401, as GraphQL does", async () => {
    const none = await rest(base, "GET", "/v1/webhooks");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
    expect(none.json).toMatchObject({ code: "UNAUTHENTICATED" });
    const wrong = await rest(base, "GET", "/v1/webhooks", { token: "hg_svc_not-a-token" });
    expect(wrong.status).toBe(401);
  });
});
